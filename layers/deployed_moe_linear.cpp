#include "layers/deployed_moe_linear.h"

#include "autograd/ops.h"

namespace cherry {

DeployedMoeLinear::DeployedMoeLinear(const MoeLinear& t)
    : in_(t.weight_shape()[1]), out_(t.weight_shape()[0]), top_k_(t.top_k()), folded_(t.fold()) {
  NoGradGuard ng;
  register_buffer("static_dense", folded_.static_dense);
  register_buffer("index", folded_.index);
  register_buffer("values", folded_.values);
  w_gate_ = register_buffer("w_gate", t.w_gate.detach().clone());
  bias_ = register_buffer("bias", t.bias.detach().clone());
}

int64_t DeployedMoeLinear::stored_values() const { return folded_.stored_values() + w_gate_.numel() + bias_.numel(); }

Tensor DeployedMoeLinear::forward(const Tensor& x_in) {
  CHERRY_CHECK(x_in.dim() >= 1 && x_in.size(-1) == in_, "DeployedMoeLinear", "expected input [..., ", in_, "], got ", shape_str(x_in.shape()));
  Shape out_shape = x_in.shape();
  out_shape.back() = out_;
  Tensor x = x_in.reshape({-1, in_});
  const int64_t E = folded_.values.size(0), N = folded_.static_dense.numel();
  MoeRoute r = noisy_top_k(x, w_gate_, Tensor(), top_k_, /*noisy=*/false, 0.0);  // no noise: w_noise is not kept
  Tensor experts = index_add(zeros({E, N}, x.dtype(), x.device()), 1, folded_.index, folded_.values).view({E, out_, in_});
  Tensor y = mix_experts(x, r, experts, bias_) + matmul(x, folded_.static_dense.transpose(0, 1));
  return y.reshape(out_shape);
}

std::string DeployedMoeLinear::extra_repr() const {
  return cat("in_features=", in_, ", out_features=", out_, ", experts=", folded_.values.size(0), ", top_k=", top_k_,
             ", dynamic entries=", folded_.index.numel(), "/", folded_.static_dense.numel());
}

}  // namespace cherry
