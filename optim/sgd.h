// SGD with momentum, Nesterov and L2 weight decay, with torch.optim.SGD's exact semantics (dampening
// 0): g = grad + wd*p; buf = g on a parameter's first update, else buf = momentum*buf + g;
// g = nesterov ? g + momentum*buf : buf; p -= lr*g. Weight decay comes from each ParamGroup.
// State per parameter (momentum > 0 only): "optim.<name>.momentum_buffer". Runs on the
// parameter's device (the backend's sgd_step).
#pragma once
#include "optim/optimizer.h"

namespace cherry {

struct SgdOptions {
  double lr = 0.1;
  double momentum = 0.0;
  bool nesterov = false;  // needs momentum > 0
};

class SGD final : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, const SgdOptions& options);
  // One group with the given weight decay.
  SGD(const NamedParams& params, const SgdOptions& options, double weight_decay = 0.0);

  const SgdOptions& options() const { return options_; }

 protected:
  void update(Slot& slot, const Tensor& grad, double lr) override;

 private:
  SgdOptions options_;
};

}  // namespace cherry
