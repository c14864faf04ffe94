// Linear: y = x W^T + b with W:(out, in), PyTorch's layout and default initialisation.
#pragma once
#include "layers/module.h"

namespace cherry {

class Linear : public Layer {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Linear"; }
  std::string extra_repr() const override;
  Tensor weight, bias;  // bias undefined when disabled

 private:
  int64_t in_, out_;
};

}  // namespace cherry
