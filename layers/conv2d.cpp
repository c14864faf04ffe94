#include "layers/conv2d.h"

#include "autograd/ops.h"
#include "layers/init.h"

namespace cherry {

Conv2dParams Conv2dOptions::params() const {
  Conv2dParams p;
  p.stride[0] = p.stride[1] = stride;
  p.padding[0] = p.padding[1] = padding;
  p.dilation[0] = p.dilation[1] = dilation;
  p.groups = groups;
  return p;
}

std::string Conv2dOptions::str() const {
  std::string s = cat(in_channels, ", ", out_channels, ", kernel_size=", kernel_size, ", stride=", stride);
  if (padding) s += cat(", padding=", padding);
  if (dilation != 1) s += cat(", dilation=", dilation);
  if (groups != 1) s += cat(", groups=", groups);
  return s + cat(", bias=", bias);
}

Conv2d::Conv2d(const Conv2dOptions& o) : options_(o) {
  CHERRY_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_size > 0 && o.groups > 0 && o.in_channels % o.groups == 0 &&
                   o.out_channels % o.groups == 0,
               "Conv2d", "invalid options: ", o.str());
  weight = register_parameter("weight", init::default_weight(o.weight_shape()));
  if (o.bias) bias = register_parameter("bias", init::default_bias(o.out_channels, init::fan_in(o.weight_shape())));
}

Tensor Conv2d::forward(const Tensor& x) { return conv2d(x, weight, bias, options_.params()); }

}  // namespace cherry
