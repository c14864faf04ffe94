#include "layers/basic.h"

#include "autograd/ops.h"

namespace cherry {

namespace {
Pool2dParams pool_params(int64_t k, int64_t s, int64_t p, bool include_pad) {
  Pool2dParams q;
  q.kernel[0] = q.kernel[1] = k;
  q.stride[0] = q.stride[1] = s;
  q.padding[0] = q.padding[1] = p;
  q.count_include_pad = include_pad;
  return q;
}
std::string pool_str(const Pool2dParams& p) { return cat("kernel_size=", p.kernel[0], ", stride=", p.stride[0], ", padding=", p.padding[0]); }
}  // namespace

Tensor ReLU::forward(const Tensor& x) { return relu(x); }
Tensor GELU::forward(const Tensor& x) { return gelu(x); }

MaxPool2d::MaxPool2d(int64_t k, int64_t s, int64_t p) : p_(pool_params(k, s, p, true)) {}
Tensor MaxPool2d::forward(const Tensor& x) { return max_pool2d(x, p_); }
std::string MaxPool2d::extra_repr() const { return pool_str(p_); }

AvgPool2d::AvgPool2d(int64_t k, int64_t s, int64_t p, bool include_pad) : p_(pool_params(k, s, p, include_pad)) {}
Tensor AvgPool2d::forward(const Tensor& x) { return avg_pool2d(x, p_); }
std::string AvgPool2d::extra_repr() const { return pool_str(p_); }

Tensor AdaptiveAvgPool2d::forward(const Tensor& x) { return adaptive_avg_pool2d(x, h_, w_); }

Dropout::Dropout(double p) : p_(p) { CHERRY_CHECK(p >= 0 && p < 1, "Dropout", "p must be in [0, 1), got ", p); }
Tensor Dropout::forward(const Tensor& x) { return dropout(x, p_, training()); }

}  // namespace cherry
