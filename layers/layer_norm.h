// LayerNorm over the last dimension, PyTorch's module: weight (ones) and bias (zeros) of size
// `dim` unless elementwise_affine is off; eps as given (BERT checkpoints use 1e-12).
#pragma once
#include "layers/module.h"

namespace cherry {

class LayerNorm : public Layer {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5, bool elementwise_affine = true);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "LayerNorm"; }
  std::string extra_repr() const override;
  Tensor weight, bias;  // undefined without elementwise_affine

 private:
  int64_t dim_;
  double eps_;
};

}  // namespace cherry
