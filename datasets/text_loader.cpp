#include "datasets/text_loader.h"

#include <algorithm>
#include <numeric>

#include "core/rng.h"

namespace cherry {

TextLoader::TextLoader(const std::vector<Encoding>& encodings, int64_t pad_id, const TextLoaderOptions& o)
    : encodings_(encodings), pad_id_(pad_id), o_(o) {
  CHERRY_CHECK(o.batch_size > 0, "TextLoader", "batch size must be positive, got ", o.batch_size);
}

int64_t TextLoader::batches_per_epoch() const {
  return (int64_t(encodings_.size()) + o_.batch_size - 1) / o_.batch_size;
}

std::vector<int64_t> TextLoader::epoch_order(int64_t epoch) const {
  std::vector<int64_t> order(encodings_.size());
  std::iota(order.begin(), order.end(), 0);
  if (o_.shuffle) {  // Fisher-Yates with a generator of this epoch's own
    Generator g(o_.seed * 0x9E3779B97F4A7C15ull + uint64_t(epoch) + 1);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[size_t(g.below(i))]);
  }
  return order;
}

void TextLoader::set_position(int64_t epoch, int64_t batch) {
  CHERRY_CHECK(epoch >= 0 && batch >= 0 && batch <= batches_per_epoch(), "TextLoader", "position (epoch ", epoch, ", batch ", batch,
               ") outside the ", batches_per_epoch(), " batches of an epoch");
  epoch_ = epoch, batch_ = batch;
}

std::optional<TextLoaderBatch> TextLoader::next() {
  if (batch_ >= batches_per_epoch()) {
    epoch_++, batch_ = 0;
    return std::nullopt;
  }
  if (order_epoch_ != epoch_) order_ = epoch_order(epoch_), order_epoch_ = epoch_;
  const int64_t begin = batch_ * o_.batch_size, end = std::min<int64_t>(begin + o_.batch_size, int64_t(order_.size()));
  TextLoaderBatch b;
  b.indices.assign(order_.begin() + begin, order_.begin() + end);
  b.text = collate_text(encodings_, b.indices, pad_id_);
  batch_++;
  return b;
}

}  // namespace cherry
