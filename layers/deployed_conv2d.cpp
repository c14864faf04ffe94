#include "layers/deployed_conv2d.h"

#include "autograd/ops.h"

namespace cherry {

DeployedConv2d::DeployedConv2d(const DynamicConv2d& t)
    : conv_(t.conv_options()), folded_(t.fold()), attention_(t.attention) {
  NoGradGuard ng;
  register_buffer("static_dense", folded_.static_dense);
  register_buffer("index", folded_.index);
  register_buffer("values", folded_.values);
  if (t.bias.defined()) bias_ = register_buffer("bias", t.bias.detach().clone());
  temperature_ = register_buffer("temperature", t.temperature.clone());
  register_module("attention", attention_);
}

Tensor DeployedConv2d::forward(const Tensor& x) {
  const int64_t B = x.size(0), N = folded_.static_dense.numel();
  Tensor pi = attention_->forward(x, temperature_.to(master_dtype(x.dtype())));
  Tensor w;
  {
    AutocastGuard mixing(DType::f32);  // the kernels are mixed in f32; conv2d casts them once
    w = index_add(folded_.static_dense.reshape({1, N}).expand({B, N}).contiguous(), 1, folded_.index, matmul(pi, folded_.values));
  }
  Tensor y = per_sample_conv2d(x, w, conv_);
  if (bias_.defined()) y = y + per_channel(mixed_bias(pi, bias_, y.dtype()), y);
  return y;
}

std::string DeployedConv2d::extra_repr() const {
  return cat(conv_.str(), ", dynamic entries=", folded_.index.numel(), "/", folded_.static_dense.numel(), ", stored=", stored_values());
}

}  // namespace cherry
