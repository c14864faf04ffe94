#include "layers/linear.h"

#include "autograd/ops.h"
#include "layers/init.h"

namespace cherry {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias) : in_(in_features), out_(out_features) {
  CHERRY_CHECK(in_features > 0 && out_features > 0, "Linear", "sizes must be positive, got ", in_features, " -> ", out_features);
  weight = register_parameter("weight", init::default_weight({out_features, in_features}));
  if (has_bias) bias = register_parameter("bias", init::default_bias(out_features, in_features));
}

Tensor Linear::forward(const Tensor& x) { return linear(x, weight, bias); }

std::string Linear::extra_repr() const { return cat("in_features=", in_, ", out_features=", out_, ", bias=", bias.defined()); }

}  // namespace cherry
