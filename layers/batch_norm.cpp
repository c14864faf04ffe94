#include "layers/batch_norm.h"

#include "autograd/ops.h"

namespace cherry {

BatchNorm2d::BatchNorm2d(int64_t c, double eps, double momentum, bool affine) : c_(c), eps_(eps), momentum_(momentum) {
  CHERRY_CHECK(c > 0, "BatchNorm2d", "num_features must be positive, got ", c);
  if (affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  running_mean = register_buffer("running_mean", zeros({c}));
  running_var = register_buffer("running_var", ones({c}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  CHERRY_CHECK(x.dim() >= 2 && x.size(1) == c_, "BatchNorm2d", "expected (N, ", c_, ", ...) input, got ", x.describe());
  if (training()) {
    NoGradGuard ng;
    num_batches_tracked.add_(ones({}, DType::i64, num_batches_tracked.device()));
  }
  return batch_norm(x, weight, bias, running_mean, running_var, training(), momentum_, eps_);
}

std::string BatchNorm2d::extra_repr() const { return cat(c_, ", eps=", eps_, ", momentum=", momentum_, ", affine=", weight.defined()); }

}  // namespace cherry
