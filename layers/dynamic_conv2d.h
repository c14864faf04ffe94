// Dynamic convolution (DY-Conv, Chen et al. 2020; docs/PADNET.md §2) and its PAD form (§1): K kernels
// mixed per sample by an attention branch, y_b = conv(x_b, Theta(x_b)).
#pragma once
#include <array>
#include <string_view>
#include <utility>

#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/pad_layer.h"

namespace cherry {

// How the per-sample kernels are executed; all give the same numbers (tested), speed differs.
enum class DynamicConvImpl {
  grouped,  // one conv with groups = B*g over a [1, B*C, H, W] view (the reference trick), via mixed_conv2d
  kmix,     // the K (+1 static) convs as one conv, outputs mixed with pi (conv is linear in W); groups == 1
};
// train_resnet's --dyconv-impl names (read by apps/common/choices.h).
constexpr std::array<std::pair<DynamicConvImpl, std::string_view>, 2> names_of(DynamicConvImpl) {
  return {{{DynamicConvImpl::grouped, "grouped"}, {DynamicConvImpl::kmix, "kmix"}}};
}

struct DynamicConvOptions {
  int64_t kernels = 4;         // K
  PadOptions pad;              // dynamic (DY-Conv) or pad, scale factors on/off
  int64_t attn_reduction = 4;  // C_h = max(1, C_in / r); the PAD-Net code uses 16
  double temperature = 30.0;   // initial softmax temperature (the trainer anneals it)
  DynamicConvImpl impl = DynamicConvImpl::grouped;
};

// y_b = conv(x_b, W_b) for every sample as one conv with groups = B*g over a [1, B*C, H, W] view;
// w holds the B per-sample kernels, [B, N]. Shared by DynamicConv2d and its deployed form.
Tensor per_sample_conv2d(const Tensor& x, const Tensor& w, const Conv2dOptions& conv);
// The per-sample bias pi @ bias:(B, O), mixed in f32 (no autocast) and returned in dtype out.
Tensor mixed_bias(const Tensor& pi, const Tensor& bias, DType out);

// pi = softmax((W_a2 relu(W_a1 avgpool(x)) + b_a2) / tau): [B, C_in, H, W] -> [B, K].
class KernelAttention : public Module {
 public:
  KernelAttention(int64_t in_channels, int64_t kernels, int64_t reduction);
  Tensor forward(const Tensor& x, const Tensor& temperature);
  std::string type_name() const override { return "KernelAttention"; }
  std::shared_ptr<Linear> fc1, fc2;
};

class DynamicConv2d : public PadLayer {
 public:
  DynamicConv2d(const Conv2dOptions& conv, const DynamicConvOptions& o);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DynamicConv2d"; }
  std::string extra_repr() const override;

  const Conv2dOptions& conv_options() const { return conv_; }
  void set_temperature(double tau);
  double temperature_value() const;
  void set_impl(DynamicConvImpl impl);
  // The kernel attention of the last forward pass ([B, K], detached), for auditing.
  const Tensor& last_attention() const { return last_attention_; }

  std::shared_ptr<KernelAttention> attention;
  Tensor bias;         // [K, C_out], mixed like the kernels (never masked); undefined without bias
  Tensor temperature;  // 0-dim buffer: the tau in use, saved with checkpoints

 private:
  std::pair<Tensor, Tensor> factors_and_mix(const Tensor& pi) const;
  Tensor forward_grouped(const Tensor& x, const Tensor& pi);
  Tensor forward_kmix(const Tensor& x, const Tensor& pi);

  Conv2dOptions conv_;
  DynamicConvImpl impl_;
  Tensor last_attention_;
};

}  // namespace cherry
