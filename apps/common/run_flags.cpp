#include "apps/common/run_flags.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "apps/common/choices.h"
#include "core/error.h"

namespace cherry {

nlohmann::json RunFlags::to_json() const {
  return {{"data", data},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"lr", lr},
          {"weight_decay", weight_decay},
          {"grad_clip", grad_clip},
          {"run_dir", run_dir},
          {"resume", resume},
          {"init_from", init_from},
          {"eval_only", eval_only},
          {"seed", seed},
          {"threads", threads},
          {"device", to_string(device)},
          {"precision", to_string(precision)},
          {"max_steps", max_steps},
          {"max_train_samples", max_train_samples},
          {"max_eval_samples", max_eval_samples},
          {"overfit_batch", overfit_batch},
          {"synthetic", synthetic},
          {"log_every", log_every},
          {"save_every", save_every},
          {"keep_last", keep_last}};
}

CLI::Validator in_range(double lo, double hi, bool open_low) {
  const std::string range = cat(open_low ? "(" : "[", lo, ", ", hi, "]");
  return CLI::Validator(
      [=](std::string& s) -> std::string {
        double v = 0;
        size_t used = 0;
        try {
          v = std::stod(s, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != s.size()) return cat("not a number: '", s, "' (expected a number in ", range, ")");
        const bool ok = std::isfinite(v) && (open_low ? v > lo : v >= lo) && v <= hi;
        return ok ? "" : cat("must be a finite number in ", range, ", got ", s);
      },
      range);
}

int max_threads() { return int(std::max(1u, std::thread::hardware_concurrency())); }

bool run_flags_consistent(const RunFlags& f) {
  if (!f.init_from.empty() && !f.resume.empty()) {
    std::fprintf(stderr,
                 "--init-from and --resume both load weights: --resume continues a run (weights, optimizer, step), "
                 "--init-from starts a new one from weights; pass one\n");
    return false;
  }
  return true;
}

void add_run_flags(CLI::App& app, RunFlags& f, const std::string& app_name) {
  app.add_option("--epochs", f.epochs, "training epochs")->check(in_range(1, 100000))->capture_default_str();
  app.add_option("--batch-size", f.batch_size, "batch size")->check(in_range(1, 65536))->capture_default_str();
  app.add_option("--grad-clip", f.grad_clip, "clip the global gradient norm (0: off)")->check(in_range(0, 1e6))->capture_default_str();
  app.add_option("--run-dir", f.run_dir, "run directory (default: runs/" + app_name + "-<timestamp>)");
  app.add_flag("--overwrite", f.overwrite, "replace an existing run directory");
  app.add_option("--resume", f.resume, "continue a run: 'auto' (the run directory's newest checkpoint) or a checkpoint path");
  app.add_option("--allow-changed", f.allow_changed,
                 "with --resume: settings (config.json keys, e.g. epochs,lr) that may differ from the checkpoint's; others are refused")
      ->delimiter(',');
  app.add_option("--init-from", f.init_from, "load model weights (not optimizer state) from a checkpoint or state dict");
  app.add_option("--threads", f.threads, "compute threads (0: OpenMP default; at most the hardware threads)")
      ->check(in_range(0, max_threads()))
      ->capture_default_str();
  add_choice(app, "--device", f.device, "cpu or cuda");
  add_choice(app, "--precision", f.precision,
             "fp32, or bf16 mixed precision: convolutions and matmuls in bf16 with f32 accumulation, activations stored bf16, "
             "weights, optimizer state, normalisation statistics, softmax and losses f32; checkpoints stay f32 (CPU only)");
  app.add_option("--max-steps", f.max_steps, "stop after this many optimizer steps (0: no cap)")
      ->check(in_range(0, 1e12))
      ->capture_default_str();
  app.add_flag("--overfit-batch", f.overfit_batch, "train on one fixed batch (a debugging aid: loss should go to ~0)");
  app.add_option("--log-every", f.log_every, "steps between progress lines")->check(in_range(1, 1e12))->capture_default_str();
  app.add_option("--save-every", f.save_every, "steps between checkpoints (0: epoch ends only)")
      ->check(in_range(0, 1e12))
      ->capture_default_str();
  app.add_flag("--no-memory-check", f.no_memory_check,
               "skip the check before training that a step's measured memory (at --batch-size) fits in the free memory");
  app.add_option("--keep-last", f.keep_last, "step checkpoints to keep")->check(in_range(1, 1000))->capture_default_str();
}

}  // namespace cherry
