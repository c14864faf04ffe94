// The options both apps share with the same meaning (run directory, resume, init-from, eval-only,
// seed, threads, device, precision, epochs and step caps, batch size, learning rate, weight decay, clipping,
// data subsets, logging and checkpoint cadence) and their config.json keys. Each app's options
// derive from RunFlags with the app's defaults. add_run_flags registers the flags whose help reads
// the same in both apps; each app registers the others itself (--data, --lr, --weight-decay, --seed,
// --eval-only, --synthetic, --max-*-samples), because their help says what that app does with them.
#pragma once
#include <CLI/CLI.hpp>
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/dtype.h"

namespace cherry {

// --device names (read by apps/common/choices.h).
constexpr std::array<std::pair<DeviceType, std::string_view>, 2> names_of(DeviceType) {
  return {{{DeviceType::cpu, "cpu"}, {DeviceType::cuda, "cuda"}}};
}

// --precision: fp32, or bf16 mixed precision (autograd/autocast.h).
enum class Precision { fp32, bf16 };
constexpr std::array<std::pair<Precision, std::string_view>, 2> names_of(Precision) {
  return {{{Precision::fp32, "fp32"}, {Precision::bf16, "bf16"}}};
}
constexpr DType compute_dtype(Precision p) { return p == Precision::bf16 ? DType::bf16 : DType::f32; }

struct RunFlags {
  std::string data{};  // dataset folder ("" = the app's default location)
  int64_t epochs = 1;
  int64_t batch_size = 32;
  double lr = 0.1;
  double weight_decay = 0.0;
  double grad_clip = 0.0;  // 0 = off
  std::string run_dir{};   // "" = runs/<app>-<timestamp>
  bool overwrite = false;
  std::string resume{};     // "", "auto" or a checkpoint path
  std::string init_from{};  // weights only
  bool eval_only = false;
  uint64_t seed = 0;
  int threads = 0;  // 0 = OpenMP default
  DeviceType device = DeviceType::cpu;
  Precision precision = Precision::fp32;
  int64_t max_steps = 0;          // 0 = no cap (the LR schedule still spans all epochs)
  int64_t max_train_samples = 0;  // 0 = all
  int64_t max_eval_samples = 0;   // 0 = all
  bool overfit_batch = false;
  bool synthetic = false;
  int64_t log_every = 50;
  int64_t save_every = 0;  // steps; 0 = at epoch ends only
  int keep_last = 3;
  std::vector<std::string> allow_changed{};  // config keys --resume may change (not a config.json key)
  bool no_memory_check = false;              // skip the step-memory check before training (not a config.json key)

  nlohmann::json to_json() const;  // their config.json keys (--overwrite was never one)
};

// "--lr: must be a finite number in (0, 10], got nan": every numeric flag has a finite range, stated
// when refused (CLI11's own checks pass NaN, print the whole double range, or let -1 wrap to 2^64-1).
// open_low excludes lo itself ("positive"). Integer flags reject fractions by their own conversion.
CLI::Validator in_range(double lo, double hi, bool open_low = false);
// Threads beyond the machine's hardware threads only slow a run down (measured: 999 threads, 160x slower).
int max_threads();
// False (with the reason on stderr) for shared flags that contradict each other.
bool run_flags_consistent(const RunFlags& f);

// --epochs, --batch-size, --grad-clip, --run-dir, --overwrite, --resume, --init-from, --threads,
// --device, --precision, --max-steps, --overfit-batch, --log-every, --save-every, --keep-last; `app_name` names
// the default run directory in the help.
void add_run_flags(CLI::App& app, RunFlags& f, const std::string& app_name);

}  // namespace cherry
