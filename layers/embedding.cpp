#include "layers/embedding.h"

#include "autograd/ops.h"
#include "core/rng.h"

namespace cherry {

Embedding::Embedding(int64_t num_embeddings, int64_t embedding_dim, std::optional<int64_t> padding_idx, double init_std)
    : v_(num_embeddings), d_(embedding_dim), padding_idx_(padding_idx) {
  CHERRY_CHECK(v_ > 0 && d_ > 0, "Embedding", "sizes must be positive, got ", v_, " x ", d_);
  CHERRY_CHECK(!padding_idx || (*padding_idx >= 0 && *padding_idx < v_), "Embedding", "padding_idx ", padding_idx.value_or(0),
               " out of range for ", v_, " embeddings");
  CHERRY_CHECK(init_std > 0, "Embedding", "init_std must be positive, got ", init_std);
  Tensor w = normal({v_, d_}, 0.0, init_std);
  if (padding_idx_) w.select(0, *padding_idx_).zero_();
  weight = register_parameter("weight", w);
}

Tensor Embedding::forward(const Tensor& indices) {
  CHERRY_CHECK(indices.dtype() == DType::i64, "Embedding", "indices must be i64, got ", indices.describe());
  Tensor out = embedding(weight, indices);
  if (!padding_idx_ || !out.requires_grad()) return out;
  // Same values, but the padding positions take the detached copy, so their gradient is dropped
  // before it reaches the table (PyTorch's padding_idx) without a dedicated backward op.
  Tensor is_pad = eq(indices, scalar_tensor(double(*padding_idx_), DType::i64, indices.device())).unsqueeze(-1);
  return where(is_pad, out.detach(), out);
}

std::string Embedding::extra_repr() const { return cat(v_, ", ", d_, padding_idx_ ? cat(", padding_idx=", *padding_idx_) : std::string()); }

}  // namespace cherry
