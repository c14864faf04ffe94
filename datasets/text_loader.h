// Batches of encoded sentences for fine-tuning: a seeded permutation per epoch (so a resumed run
// sees the same order), dynamic padding per batch, the last partial batch kept. The same
// epoch/batch position contract as the image DataLoader; text batches are cheap to build, so no
// worker threads.
#pragma once
#include <optional>
#include <vector>

#include "datasets/text_batch.h"

namespace cherry {

struct TextLoaderOptions {
  int64_t batch_size = 32;
  bool shuffle = true;
  uint64_t seed = 0;
};

struct TextLoaderBatch {
  TextBatch text;
  std::vector<int64_t> indices;  // rows of the dataset, in batch order
};

class TextLoader {
 public:
  TextLoader(const std::vector<Encoding>& encodings, int64_t pad_id, const TextLoaderOptions& o);
  std::optional<TextLoaderBatch> next();  // nullopt once at each epoch end, then the next epoch
  int64_t batches_per_epoch() const;
  int64_t epoch() const { return epoch_; }
  int64_t batch() const { return batch_; }
  void set_position(int64_t epoch, int64_t batch);
  std::vector<int64_t> epoch_order(int64_t epoch) const;

 private:
  const std::vector<Encoding>& encodings_;
  int64_t pad_id_;
  TextLoaderOptions o_;
  int64_t epoch_ = 0, batch_ = 0;
  std::vector<int64_t> order_;
  int64_t order_epoch_ = -1;
};

}  // namespace cherry
