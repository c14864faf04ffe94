// Dataset: the one interface every image source implements (Fashion-MNIST, image folders, synthetic).
// get() writes one sample, already augmented and normalised, as float CHW into caller memory; all
// randomness comes from the Generator it is handed, so a sample is a pure function of (index, rng
// seed) and DataLoader can fill batches from any thread in any order. Not here: batching, shuffling,
// threads (datasets/loader.h), decoding (jpeg.h, idx.h) or the pixel transforms (transforms.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.h"

namespace cherry {

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Shape sample_shape() const = 0;  // (C, H, W) of what get() writes
  virtual int64_t num_classes() const { return int64_t(class_names().size()); }
  virtual const std::vector<std::string>& class_names() const = 0;
  virtual std::string name() const = 0;  // for banners and error messages: "fashion-mnist/train"
  // Writes sample `index` into out_chw (numel(sample_shape()) floats) and returns its label. Must be
  // thread-safe (const, no shared mutable state) and draw random numbers only from `rng`.
  virtual int64_t get(int64_t index, Generator& rng, float* out_chw) const = 0;
};

// Default data locations, overridable from the environment so apps and tests agree:
// $CHERRY_DATA_DIR, else the `../shared/data` folder beside the source tree.
std::string default_data_dir();
// $CHERRY_CACHE, else $XDG_CACHE_HOME/cherry, else ~/.cache/cherry; created if missing.
std::string default_cache_dir();

// The whole file, with an error naming it (and `op`) if it is missing or unreadable.
std::vector<uint8_t> read_file_bytes(const std::string& path, const char* op);

}  // namespace cherry
