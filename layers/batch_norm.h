// BatchNorm2d (also accepts (N,C) input): batch statistics in training, running statistics in
// eval; running stats use PyTorch's momentum update with the unbiased variance.
#pragma once
#include "layers/module.h"

namespace cherry {

class BatchNorm2d : public Layer {
 public:
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BatchNorm2d"; }
  std::string extra_repr() const override;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  int64_t c_;
  double eps_, momentum_;
};

}  // namespace cherry
