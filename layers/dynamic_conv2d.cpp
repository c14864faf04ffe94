#include "layers/dynamic_conv2d.h"

#include "autograd/ops.h"
#include "layers/init.h"

namespace cherry {

KernelAttention::KernelAttention(int64_t in_channels, int64_t kernels, int64_t reduction) {
  CHERRY_CHECK(reduction >= 1, "KernelAttention", "the reduction ratio must be >= 1, got ", reduction);
  const int64_t hidden = std::max<int64_t>(1, in_channels / reduction);
  fc1 = register_module("fc1", std::make_shared<Linear>(in_channels, hidden, false));
  fc2 = register_module("fc2", std::make_shared<Linear>(hidden, kernels, true));
  // As the DY-Conv reference code: He-normal (fan_out) weights, zero bias.
  fc1->weight.set_data(init::kaiming_normal(fc1->weight.shape(), true));
  fc2->weight.set_data(init::kaiming_normal(fc2->weight.shape(), true));
  fc2->bias.set_data(zeros(fc2->bias.shape()));
}

// In f32 with bf16 activations (channel_means returns f32 means): the attention is routing.
Tensor KernelAttention::forward(const Tensor& x, const Tensor& temperature) {
  AutocastGuard routing(DType::f32);
  Tensor s = channel_means(x);  // global average pool: [B, C_in]
  Tensor z = fc2->forward(relu(fc1->forward(s)));
  return softmax(z / temperature, 1);
}

DynamicConv2d::DynamicConv2d(const Conv2dOptions& conv, const DynamicConvOptions& o)
    : PadLayer(conv.weight_shape(), o.kernels, o.pad, [](const Shape& s) { return init::kaiming_normal(s, true); }),
      conv_(conv),
      impl_(o.impl) {
  CHERRY_CHECK(conv.in_channels > 0 && conv.out_channels > 0 && conv.groups > 0 && conv.in_channels % conv.groups == 0 &&
                   conv.out_channels % conv.groups == 0,
               "DynamicConv2d", "invalid options: ", conv.str());
  attention = register_module("attention", std::make_shared<KernelAttention>(conv.in_channels, o.kernels, o.attn_reduction));
  if (conv.bias) {
    const int64_t fan_in = init::fan_in(conv.weight_shape());
    std::vector<Tensor> bs;
    for (int64_t k = 0; k < o.kernels; ++k) bs.push_back(init::default_bias(conv.out_channels, fan_in));
    bias = register_parameter("bias", stack(bs, 0));
  }
  temperature = register_buffer("temperature", scalar_tensor(o.temperature));
  set_impl(o.impl);
}

void DynamicConv2d::set_temperature(double tau) {
  CHERRY_CHECK(tau > 0, "DynamicConv2d", "the attention temperature must be positive, got ", tau);
  temperature.fill_(tau);
}

double DynamicConv2d::temperature_value() const { return temperature.to(DType::f64).item<double>(); }

void DynamicConv2d::set_impl(DynamicConvImpl impl) {
  CHERRY_CHECK(impl != DynamicConvImpl::kmix || conv_.groups == 1, "DynamicConv2d",
               "the kmix execution needs groups == 1 (got groups=", conv_.groups, "); use grouped");
  impl_ = impl;
}

Tensor DynamicConv2d::forward(const Tensor& x) {
  CHERRY_CHECK(x.dim() == 4 && x.size(1) == conv_.in_channels, "DynamicConv2d",
               "expected input [B, ", conv_.in_channels, ", H, W], got ", shape_str(x.shape()));
  Tensor pi = attention->forward(x, temperature.to(master_dtype(x.dtype())));
  last_attention_ = pi.detach();
  Tensor y = impl_ == DynamicConvImpl::kmix ? forward_kmix(x, pi) : forward_grouped(x, pi);
  if (bias.defined()) y = y + per_channel(mixed_bias(pi, bias, y.dtype()), y);
  return y;
}

Tensor mixed_bias(const Tensor& pi, const Tensor& bias, DType out) {
  AutocastGuard mixing(DType::f32);
  return matmul(pi, bias).to(out);
}

// In channel blocks too the samples' channels are consecutive blocks: x is one (1, B*C, H, W) image.
Tensor per_sample_conv2d(const Tensor& x, const Tensor& w, const Conv2dOptions& conv) {
  const int64_t B = x.size(0);
  Shape ws = conv.weight_shape();
  ws[0] *= B;
  Conv2dParams p = conv.params();
  p.groups = conv.groups * B;
  Shape one = x.shape();
  one[0] = 1, one[1] *= B;
  Tensor y = conv2d(x.reshape(one), w.view(ws), {}, p);
  Shape out = y.shape();
  out[0] = B, out[1] /= B;
  return y.view(out);
}

// Theta = sum_k pi_k F_k (+ S) as one mix: F rows [K(+1), N] and coefficients [B, K(+1)]. PAD's
// static part is a (K+1)-th factor with coefficient 1, so it rides in the same product (no [B, N]
// broadcast add, and its gradient, the sum over samples, comes out of the product's backward).
std::pair<Tensor, Tensor> DynamicConv2d::factors_and_mix(const Tensor& pi) const {
  const int64_t K = num_factors(), N = weight_numel();
  Tensor factors = dynamic_factors().view({K, N});
  if (!is_pad()) return {factors, pi};
  return {cat({factors, static_part().view({1, N})}, 0), cat({pi, ones({pi.size(0), 1}, pi.dtype(), pi.device())}, 1)};
}

// Theta(x_b) for every sample, then one grouped conv (mixed_conv2d fuses the two on the CPU).
Tensor DynamicConv2d::forward_grouped(const Tensor& x, const Tensor& pi) {
  auto [factors, mix] = factors_and_mix(pi);
  Shape fs = weight_shape();
  fs.insert(fs.begin(), factors.size(0));
  return mixed_conv2d(x, mix, factors.view(fs), conv_.params());
}

// conv(x, sum_f mix_f F_f) = sum_f mix_f conv(x, F_f): one conv with K(+1) x C_out outputs, then a
// batched [1, K(+1)] x [K(+1), C_out*H*W] product per sample.
Tensor DynamicConv2d::forward_kmix(const Tensor& x, const Tensor& pi) {
  auto [factors, mix] = factors_and_mix(pi);
  const int64_t B = x.size(0), F = mix.size(1), O = conv_.out_channels;
  Shape ws = weight_shape();
  ws[0] *= F;
  Tensor y = conv2d(x, factors.view(ws), {}, conv_.params());  // [B, F*O, H', W'] (or in channel blocks)
  const int64_t H = y.size(2), W = y.size(3);
  Tensor out = matmul(mix.view({B, 1, F}), y.view({B, F, O * H * W}));  // in channel blocks too (O % 16 == 0)
  Shape os = y.shape();
  os[1] /= F;
  return out.view(os);
}

std::string DynamicConv2d::extra_repr() const {
  return cat(conv_.str(), ", ", pad_repr(), ", tau=", temperature_value(), impl_ == DynamicConvImpl::kmix ? ", kmix" : "");
}

}  // namespace cherry
