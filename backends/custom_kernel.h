// The extension point for model-specific fused kernels (candle's CustomOp): an op in autograd/ asks
// its tensor's backend for a kernel by name (Backend::custom_kernel); a backend without one returns
// nullptr and the op runs its default, composed of the op table's kernels. So a fused kernel for
// one model never widens the core Backend interface.
#pragma once
#include <string_view>

#include "backends/backend.h"

namespace cherry {

struct CustomKernel {
  virtual ~CustomKernel() = default;
};

// The backend's kernel K (a CustomKernel subtype naming itself K::kName) for dtype, or nullptr.
template <class K> K* find_custom_kernel(Backend& backend, DType dtype) {
  return dynamic_cast<K*>(backend.custom_kernel(K::kName, dtype));
}

// DY-Conv's per-sample convolution, fused: y[b] = conv(x[b], W_b) with W_b = sum_f mix[b, f] *
// factors[f]; x:(B,C,H,W), mix:(B,F), factors:(F,O,C/g,kh,kw), y:(B,O,OH,OW), all contiguous (x, y
// and their gradients also in channel blocks where the backend has them); p.groups = g applies
// within each sample. gx, gmix, gfactors may be null. The composed default: autograd/ops_nn.cpp.
struct MixedConv2dKernel : CustomKernel {
  static constexpr std::string_view kName = "mixed_conv2d";
  virtual void forward(const Arg& x, const Arg& mix, const Arg& factors, const Arg& y, const Conv2dParams& p) = 0;
  virtual void backward(const Arg& gy, const Arg& x, const Arg& mix, const Arg& factors, const Arg& gx, const Arg& gmix,
                        const Arg& gfactors, const Conv2dParams& p) = 0;
};

}  // namespace cherry
