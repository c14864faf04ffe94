// AdamW update, run by the parameter's backend (backends/*: adamw_step), one fused pass per
// parameter. Step-dependent scalars are computed here in double, then rounded to the parameter's
// dtype by the kernel, and each element follows the order of PyTorch's single-tensor path (lerp,
// mul+addcmul, sqrt/div+eps, addcdiv), so float32 results equal torch's bit for bit.
#include "optim/adamw.h"

#include <cmath>

#include "backends/backend.h"

namespace cherry {

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Optimizer("AdamW", std::move(groups), options.lr, {"exp_avg", "exp_avg_sq"}), options_(options) {
  CHERRY_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "AdamW", "beta1 must be in [0, 1), got ", options.beta1);
  CHERRY_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "AdamW", "beta2 must be in [0, 1), got ", options.beta2);
  CHERRY_CHECK(options.eps >= 0.0, "AdamW", "eps must be >= 0, got ", options.eps);
}

AdamW::AdamW(const NamedParams& params, const AdamWOptions& options, double weight_decay)
    : AdamW(std::vector<ParamGroup>{ParamGroup{params, weight_decay}}, options) {}

void AdamW::update(Slot& s, const Tensor& grad, double lr) {
  const auto& o = options_;
  const double t = double(s.step);
  const AdamWStep k{1.0 - lr * s.weight_decay, 1.0 - o.beta1, o.beta2, 1.0 - o.beta2, std::sqrt(1.0 - std::pow(o.beta2, t)),
                    lr / (1.0 - std::pow(o.beta1, t)), o.eps};
  backend_for(s.param.device().type).adamw_step(s.param.arg(), grad.arg(), s.buffers[0].arg(), s.buffers[1].arg(), k);
}

}  // namespace cherry
