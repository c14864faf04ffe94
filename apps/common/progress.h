// The training progress line: a live, rewritten line on a terminal, plain lines when piped.
// Throughput excludes the first `warmup` steps (allocator and oneDNN caches warming up).
#pragma once
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>

namespace cherry {

struct StepStats {
  int64_t step, total_steps, epoch, epochs;
  double loss, loss_avg, lr, grad_norm, step_ms, samples_per_s, eta_s;
};

class Progress {
 public:
  Progress(int64_t total_steps, int64_t warmup_steps = 5);
  // Call after each step; returns the stats of that step.
  StepStats step(int64_t step, int64_t epoch, int64_t epochs, double loss, double lr, double grad_norm, int64_t samples);
  void print(const StepStats& s, const char* unit);  // "img/s" or "seq/s"
  void line(const std::string& text);  // a permanent line (clears a live one first)
  bool tty() const { return tty_; }
  // The mean loss's running sum and count (saved in checkpoints, restored on resume).
  std::pair<double, int64_t> loss_state() const { return {loss_sum_, loss_n_}; }
  void restore_loss_state(double sum, int64_t n) { loss_sum_ = sum, loss_n_ = n; }

 private:
  using Clock = std::chrono::steady_clock;
  int64_t total_, warmup_, counted_steps_ = 0, counted_samples_ = 0, loss_n_ = 0;
  double counted_s_ = 0, loss_sum_ = 0;
  Clock::time_point last_;
  bool tty_, live_ = false;
};

std::string format_duration(double seconds);  // 1h02m, 3m05s, 12s

}  // namespace cherry
