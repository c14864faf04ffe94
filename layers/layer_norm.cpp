#include "layers/layer_norm.h"

#include "autograd/ops.h"

namespace cherry {

LayerNorm::LayerNorm(int64_t dim, double eps, bool elementwise_affine) : dim_(dim), eps_(eps) {
  CHERRY_CHECK(dim > 0 && eps > 0, "LayerNorm", "dim and eps must be positive, got ", dim, ", ", eps);
  if (elementwise_affine) {
    weight = register_parameter("weight", ones({dim}));
    bias = register_parameter("bias", zeros({dim}));
  }
}

Tensor LayerNorm::forward(const Tensor& x) {
  CHERRY_CHECK(x.dim() >= 1 && x.size(-1) == dim_, "LayerNorm", "expected last dim ", dim_, ", got ", x.describe());
  return layer_norm(x, weight, bias, eps_);
}

std::string LayerNorm::extra_repr() const { return cat("(", dim_, "), eps=", eps_, ", elementwise_affine=", weight.defined()); }

}  // namespace cherry
