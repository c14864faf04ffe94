// LR schedule formulas. Written in the same operation order as torch's closed forms (Python
// doubles), so values agree to the last bit; torch's own schedulers update recursively and drift
// from these by ~1e-16 relative.
#include "optim/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "core/error.h"

namespace cherry {

namespace {

void check_step(int64_t step, const char* op) { CHERRY_CHECK(step >= 0, op, "step must be >= 0, got ", step); }
void check_base(double lr, const char* op) { CHERRY_CHECK(lr >= 0.0, op, "base lr must be >= 0, got ", lr); }

}  // namespace

ConstantLr::ConstantLr(double base_lr) : base_lr(base_lr) { check_base(base_lr, "ConstantLr"); }
double ConstantLr::lr_at(int64_t step) const {
  check_step(step, "ConstantLr");
  return base_lr;
}

StepLr::StepLr(double base_lr, int64_t step_size, double gamma) : base_lr(base_lr), step_size(step_size), gamma(gamma) {
  check_base(base_lr, "StepLr");
  CHERRY_CHECK(step_size > 0, "StepLr", "step_size must be > 0, got ", step_size);
}
double StepLr::lr_at(int64_t step) const {
  check_step(step, "StepLr");
  return base_lr * std::pow(gamma, double(step / step_size));
}

MultiStepLr::MultiStepLr(double base_lr, std::vector<int64_t> ms, double gamma)
    : base_lr(base_lr), milestones(std::move(ms)), gamma(gamma) {
  check_base(base_lr, "MultiStepLr");
  std::sort(milestones.begin(), milestones.end());
}
double MultiStepLr::lr_at(int64_t step) const {
  check_step(step, "MultiStepLr");
  // bisect_right: a milestone m applies from step m on. Repeated milestones apply gamma repeatedly,
  // as torch's Counter-based MultiStepLR does.
  const auto passed = std::upper_bound(milestones.begin(), milestones.end(), step) - milestones.begin();
  return base_lr * std::pow(gamma, double(passed));
}

CosineLr::CosineLr(double base_lr, int64_t t_max, double eta_min) : base_lr(base_lr), t_max(t_max), eta_min(eta_min) {
  check_base(base_lr, "CosineLr");
  CHERRY_CHECK(t_max > 0, "CosineLr", "t_max must be > 0, got ", t_max);
}
double CosineLr::lr_at(int64_t step) const {
  check_step(step, "CosineLr");
  return eta_min + (base_lr - eta_min) * (1.0 + std::cos(std::numbers::pi * double(step) / double(t_max))) / 2.0;
}

LinearDecayLr::LinearDecayLr(double base_lr, int64_t total_steps) : base_lr(base_lr), total_steps(total_steps) {
  check_base(base_lr, "LinearDecayLr");
  CHERRY_CHECK(total_steps > 0, "LinearDecayLr", "total_steps must be > 0, got ", total_steps);
}
double LinearDecayLr::lr_at(int64_t step) const {
  check_step(step, "LinearDecayLr");
  return base_lr * std::max(0.0, double(total_steps - step) / double(total_steps));
}

WarmupLr::WarmupLr(std::shared_ptr<const LrSchedule> inner, int64_t warmup_steps, double start_factor, WarmupMode mode)
    : inner(std::move(inner)), warmup_steps(warmup_steps), start_factor(start_factor), mode(mode) {
  CHERRY_CHECK(this->inner != nullptr, "WarmupLr", "inner schedule is null");
  CHERRY_CHECK(warmup_steps >= 0, "WarmupLr", "warmup_steps must be >= 0, got ", warmup_steps);
  CHERRY_CHECK(start_factor >= 0.0 && start_factor <= 1.0, "WarmupLr", "start_factor must be in [0, 1], got ", start_factor);
}
double WarmupLr::lr_at(int64_t step) const {
  check_step(step, "WarmupLr");
  if (step >= warmup_steps) return mode == WarmupMode::sequential ? inner->lr_at(step - warmup_steps) : inner->lr_at(step);
  const double factor = start_factor + (1.0 - start_factor) * double(step) / double(warmup_steps);
  return (mode == WarmupMode::sequential ? inner->lr_at(0) : inner->lr_at(step)) * factor;
}

}  // namespace cherry
