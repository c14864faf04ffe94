// Conv2d: NCHW input, OIHW weight (PyTorch layouts), stride/padding/dilation/groups, optional bias.
#pragma once
#include "backends/backend.h"
#include "layers/module.h"

namespace cherry {

struct Conv2dOptions {
  int64_t in_channels = 0, out_channels = 0, kernel_size = 3, stride = 1, padding = 0, dilation = 1, groups = 1;
  bool bias = true;
  Conv2dParams params() const;
  std::string str() const;
  Shape weight_shape() const { return {out_channels, in_channels / groups, kernel_size, kernel_size}; }
};

class Conv2d : public Layer {
 public:
  explicit Conv2d(const Conv2dOptions& o);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Conv2d"; }
  std::string extra_repr() const override { return options_.str(); }
  const Conv2dOptions& options() const { return options_; }
  Tensor weight, bias;

 private:
  Conv2dOptions options_;
};

}  // namespace cherry
