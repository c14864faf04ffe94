// Synthetic data for throughput runs and tests: a fixed random image and label per index (the same
// in every epoch, on every machine), drawn from a generator seeded by (seed, index) alone. Values are
// uniform with zero mean and unit variance, like normalised pixels. Not a stand-in for accuracy work.
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"

namespace cherry {

struct SyntheticOptions {
  int64_t size = 50000;
  Shape shape{3, 32, 32};  // (C, H, W)
  int64_t num_classes = 10;
  uint64_t seed = 0;
};

class SyntheticDataset : public Dataset {
 public:
  explicit SyntheticDataset(const SyntheticOptions& options = {});

  int64_t size() const override { return options_.size; }
  Shape sample_shape() const override { return options_.shape; }
  const std::vector<std::string>& class_names() const override { return class_names_; }
  std::string name() const override { return "synthetic"; }
  // `rng` is ignored: the sample depends on the index only.
  int64_t get(int64_t index, Generator& rng, float* out_chw) const override;

 private:
  SyntheticOptions options_;
  std::vector<std::string> class_names_;
};

}  // namespace cherry
