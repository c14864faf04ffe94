// AdamW (decoupled weight decay) with torch.optim.AdamW's exact semantics, amsgrad off:
// p *= 1 - lr*wd; m = lerp(m, g, 1-beta1); v = beta2*v + (1-beta2)*g*g;
// p -= lr/(1-beta1^t) * m / (sqrt(v)/sqrt(1-beta2^t) + eps), t = this parameter's update count.
// State per parameter: "optim.<name>.exp_avg", "optim.<name>.exp_avg_sq". Runs on the
// parameter's device (the backend's adamw_step).
#pragma once
#include "optim/optimizer.h"

namespace cherry {

struct AdamWOptions {
  double lr = 1e-3;
  double beta1 = 0.9, beta2 = 0.999;
  double eps = 1e-8;
};

class AdamW final : public Optimizer {
 public:
  AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options);
  // One group with the given weight decay (torch's default is 0.01).
  AdamW(const NamedParams& params, const AdamWOptions& options, double weight_decay = 0.01);

  const AdamWOptions& options() const { return options_; }

 protected:
  void update(Slot& slot, const Tensor& grad, double lr) override;

 private:
  AdamWOptions options_;
};

}  // namespace cherry
