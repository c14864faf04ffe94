// Embedding: a lookup table weight:(V, D); (...) i64 indices -> (..., D). padding_idx follows
// PyTorch: that row starts at zero and never receives a gradient (its value is still returned).
#pragma once
#include <optional>

#include "layers/module.h"

namespace cherry {

class Embedding : public Layer {
 public:
  // init_std 1.0 is PyTorch's N(0, 1); BERT draws N(0, initializer_range = 0.02).
  Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx = std::nullopt, double init_std = 1.0);
  Tensor forward(const Tensor& indices) override;
  std::string type_name() const override { return "Embedding"; }
  std::string extra_repr() const override;
  int64_t num_embeddings() const { return v_; }
  int64_t embedding_dim() const { return d_; }
  Tensor weight;

 private:
  int64_t v_, d_;
  std::optional<int64_t> padding_idx_;
};

}  // namespace cherry
