// Learning-rate schedules as pure functions of the optimizer step (iteration), so resuming needs no
// scheduler state: the app calls opt.set_lr(schedule.lr_at(opt.step_count())) before each step.
// Formulas are PyTorch's closed forms (StepLR, MultiStepLR, CosineAnnealingLR, LinearLR) and
// Hugging Face's linear decay; milestones and lengths are in steps (the app converts epochs).
// Not here: schedules that depend on metrics (ReduceLROnPlateau), which would need state.
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

namespace cherry {

struct LrSchedule {
  virtual ~LrSchedule() = default;
  virtual double lr_at(int64_t step) const = 0;  // step >= 0
};

struct ConstantLr final : LrSchedule {
  explicit ConstantLr(double base_lr);
  double lr_at(int64_t step) const override;
  double base_lr;
};

// base * gamma^(step / step_size)  (torch StepLR)
struct StepLr final : LrSchedule {
  StepLr(double base_lr, int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t step) const override;
  double base_lr;
  int64_t step_size;
  double gamma;
};

// base * gamma^(number of milestones <= step)  (torch MultiStepLR)
struct MultiStepLr final : LrSchedule {
  MultiStepLr(double base_lr, std::vector<int64_t> milestones, double gamma = 0.1);
  double lr_at(int64_t step) const override;
  double base_lr;
  std::vector<int64_t> milestones;  // sorted on construction
  double gamma;
};

// eta_min + (base - eta_min) * (1 + cos(pi * step / t_max)) / 2  (torch CosineAnnealingLR's closed
// form; past t_max it rises again, as torch's does).
struct CosineLr final : LrSchedule {
  CosineLr(double base_lr, int64_t t_max, double eta_min = 0.0);
  double lr_at(int64_t step) const override;
  double base_lr;
  int64_t t_max;
  double eta_min;
};

// base * max(0, (total - step) / total): linear decay to 0 at total_steps. Wrapped in a sequential
// warm-up of W steps with inner total T - W and start factor 0, it is Hugging Face's
// get_linear_schedule_with_warmup(W, T).
struct LinearDecayLr final : LrSchedule {
  LinearDecayLr(double base_lr, int64_t total_steps);
  double lr_at(int64_t step) const override;
  double base_lr;
  int64_t total_steps;
};

// Linear warm-up over the first warmup_steps, factor start_factor -> 1 (torch LinearLR), around any
// schedule. sequential (torch SequentialLR): warm-up scales inner(0), then the inner schedule runs
// from its own step 0, so its milestones count from the end of warm-up. chained (torch
// ChainedScheduler): the factor multiplies inner(step) and inner counts from step 0.
enum class WarmupMode { sequential, chained };
struct WarmupLr final : LrSchedule {
  WarmupLr(std::shared_ptr<const LrSchedule> inner, int64_t warmup_steps, double start_factor = 0.0,
           WarmupMode mode = WarmupMode::sequential);
  double lr_at(int64_t step) const override;
  std::shared_ptr<const LrSchedule> inner;
  int64_t warmup_steps;
  double start_factor;
  WarmupMode mode;
};

}  // namespace cherry
