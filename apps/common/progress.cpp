#include "apps/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>

namespace cherry {

Progress::Progress(int64_t total_steps, int64_t warmup_steps)
    : total_(total_steps), warmup_(warmup_steps), last_(Clock::now()), tty_(::isatty(STDOUT_FILENO)) {}

StepStats Progress::step(int64_t step, int64_t epoch, int64_t epochs, double loss, double lr, double grad_norm, int64_t samples) {
  const auto now = Clock::now();
  const double dt = std::chrono::duration<double>(now - last_).count();
  last_ = now;
  if (step > warmup_) counted_s_ += dt, counted_samples_ += samples, counted_steps_++;
  if (std::isfinite(loss)) loss_sum_ += loss, loss_n_++;
  const double sps = counted_s_ > 0 ? double(counted_samples_) / counted_s_ : 0;
  const double per_step = counted_steps_ ? counted_s_ / double(counted_steps_) : dt;
  return {step, total_, epoch, epochs, loss, loss_n_ ? loss_sum_ / double(loss_n_) : loss, lr, grad_norm, dt * 1e3, sps,
          per_step * double(std::max<int64_t>(total_ - step, 0))};
}

void Progress::print(const StepStats& s, const char* unit) {
  char buf[320];
  std::snprintf(buf, sizeof buf, "epoch %lld/%lld  step %lld/%lld  loss %.4f (avg %.4f)  lr %.3g  grad %.3g  %.0f ms/step  %.1f %s  ETA %s",
                static_cast<long long>(s.epoch + 1), static_cast<long long>(s.epochs), static_cast<long long>(s.step),
                static_cast<long long>(s.total_steps), s.loss, s.loss_avg, s.lr, s.grad_norm, s.step_ms, s.samples_per_s, unit,
                format_duration(s.eta_s).c_str());
  if (tty_) {
    std::printf("\r\033[K%s", buf);
    live_ = true;
  } else {
    std::printf("%s\n", buf);
  }
  std::fflush(stdout);
}

void Progress::line(const std::string& text) {
  if (live_) std::printf("\r\033[K");
  live_ = false;
  std::printf("%s\n", text.c_str());
  std::fflush(stdout);
}

std::string format_duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const long long t = static_cast<long long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%lldh%02lldm", t / 3600, (t % 3600) / 60);
  else if (t >= 60) std::snprintf(buf, sizeof buf, "%lldm%02llds", t / 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%llds", t);
  return buf;
}

}  // namespace cherry
