// SyntheticDataset: two 32-bit uniforms per 64-bit draw keep it cheap enough that a throughput run
// measures the model, not the data.
#include "datasets/synthetic.h"

namespace cherry {

SyntheticDataset::SyntheticDataset(const SyntheticOptions& options) : options_(options) {
  CHERRY_CHECK(options_.size >= 0 && options_.num_classes > 0 && options_.shape.size() == 3, "SyntheticDataset",
               "need size >= 0, num_classes > 0 and a (C, H, W) shape; got size ", options_.size, ", classes ",
               options_.num_classes, ", shape ", shape_str(options_.shape));
  for (auto d : options_.shape) CHERRY_CHECK(d > 0, "SyntheticDataset", "shape ", shape_str(options_.shape), " has a zero or negative size");
  for (int64_t c = 0; c < options_.num_classes; ++c) class_names_.push_back(cat("class_", c));
}

int64_t SyntheticDataset::get(int64_t index, Generator& /*rng*/, float* out_chw) const {
  CHERRY_CHECK(index >= 0 && index < options_.size, "SyntheticDataset", "index ", index, " out of range (size ", options_.size, ")");
  // Golden-ratio stride keeps (seed, index) pairs apart before splitmix scrambles them.
  Generator g(options_.seed * 0x9e3779b97f4a7c15ULL + uint64_t(index));
  const int64_t label = int64_t(g.below(uint64_t(options_.num_classes)));
  const int64_t n = numel_of(options_.shape);
  constexpr float kScale = 3.4641016f / 4294967296.0f;  // uniform on [-sqrt(3), sqrt(3)): unit variance
  for (int64_t i = 0; i < n; i += 2) {
    const uint64_t r = g.next_u64();
    out_chw[i] = float(uint32_t(r)) * kScale - 1.7320508f;
    if (i + 1 < n) out_chw[i + 1] = float(uint32_t(r >> 32)) * kScale - 1.7320508f;
  }
  return label;
}

}  // namespace cherry
