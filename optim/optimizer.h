// Optimizer: the shared machinery of SGD and AdamW. It holds named parameters in groups (each group
// with its own weight decay and lr multiplier), a global lr the app sets from an LrSchedule before
// every step, and per-parameter state that round-trips through a safetensors checkpoint under
// "optim.<param name>.<buffer>" keys, so a resumed run equals the uninterrupted one bitwise.
// Not here: the update rules (sgd.h, adamw.h), schedules (lr_schedule.h), clipping (clip_grad.h).
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace cherry {

using NamedParams = std::vector<std::pair<std::string, Tensor>>;

struct ParamGroup {
  NamedParams params;
  double weight_decay = 0.0;
  double lr_scale = 1.0;  // this group's lr = optimizer lr * lr_scale
};

// Splits parameters into a decayed group and a no-decay group. With no_decay_bias_norm, tensors of
// rank <= 1 (biases, BatchNorm/LayerNorm affine weights) go to the no-decay group: the usual
// `--no-decay-bn-bias` rule, which needs no knowledge of module types. Empty groups are dropped.
std::vector<ParamGroup> decay_groups(const NamedParams& params, double weight_decay, bool no_decay_bias_norm);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Updates, in place and without recording autograd, every parameter that has a grad; parameters
  // without one are skipped with their state untouched (as in PyTorch). Then step_count() += 1.
  virtual void step();
  void zero_grad();  // drops every grad (PyTorch's set_to_none=True)

  double lr() const { return lr_; }
  void set_lr(double lr);
  int64_t step_count() const { return step_count_; }
  const std::vector<ParamGroup>& groups() const { return groups_; }
  std::vector<Tensor> parameters() const;  // every parameter, in group order (for clip_grad_norm)

  // The state to checkpoint: "optim.step" (i64 scalar: step() calls) and, per parameter,
  // "optim.<name>.step" (i64: updates applied to it; differs when it lacked a grad) and one entry
  // per buffer_names() item. Buffers are the live tensors, not copies: save before the next step.
  virtual NamedParams state_tensors() const;
  // Restores the state written by state_tensors(). `state` may hold other keys (model weights);
  // keys under "optim." must match exactly. Every missing, unexpected, mis-shaped or mis-typed
  // key is listed in one cherry::Error, and nothing is changed unless all of them check out.
  virtual void load_state_tensors(const std::map<std::string, Tensor>& state);

 protected:
  // One parameter with everything its update needs.
  struct Slot {
    std::string name;
    Tensor param;
    double weight_decay = 0.0, lr_scale = 1.0;
    int64_t step = 0;             // updates applied to this parameter
    std::vector<Tensor> buffers;  // same shape/dtype/device as param, one per buffer_names()
  };

  Optimizer(std::string kind, std::vector<ParamGroup> groups, double lr, std::vector<std::string> buffer_names);
  // Applies one update to slot.param. grad is contiguous, same shape/dtype/device as the parameter
  // and its state buffers; slot.step has already been incremented; lr includes the group's lr_scale.
  virtual void update(Slot& slot, const Tensor& grad, double lr) = 0;

  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;  // "SGD", "AdamW": used in error messages
  std::vector<ParamGroup> groups_;
  std::vector<Slot> slots_;
  std::vector<std::string> buffer_names_;
  double lr_;
  int64_t step_count_ = 0;
};

}  // namespace cherry
