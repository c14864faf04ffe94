#include "apps/common/run_flags.h"

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

CLI::Validator number_check(bool allow_zero) {
  return CLI::Validator(
      [allow_zero](std::string& s) -> std::string {
        try {
          const double v = std::stod(s);
          return v > 0 || (allow_zero && v == 0) ? "" : cat("must be ", allow_zero ? "non-negative" : "positive", ", got ", s);
        } catch (const std::exception&) {
          return "not a number: " + s;
        }
      },
      allow_zero ? "NONNEGATIVE" : "POSITIVE");
}

void add_run_flags(CLI::App& app, RunFlags& f, const std::string& app_name) {
  const CLI::Validator pos = number_check(false), nonneg = number_check(true);
  app.add_option("--epochs", f.epochs, "training epochs")->check(pos)->capture_default_str();
  app.add_option("--batch-size", f.batch_size, "batch size")->check(pos)->capture_default_str();
  app.add_option("--grad-clip", f.grad_clip, "clip the global gradient norm (0: off)")->check(nonneg)->capture_default_str();
  app.add_option("--run-dir", f.run_dir, "run directory (default: runs/" + app_name + "-<timestamp>)");
  app.add_flag("--overwrite", f.overwrite, "replace an existing run directory");
  app.add_option("--resume", f.resume, "continue a run: 'auto' (the run directory's newest checkpoint) or a checkpoint path");
  app.add_option("--init-from", f.init_from, "load model weights (not optimizer state) from a checkpoint or state dict");
  app.add_option("--threads", f.threads, "compute threads (0: OpenMP default)")->check(nonneg)->capture_default_str();
  add_choice(app, "--device", f.device, "cpu or cuda");
  add_choice(app, "--precision", f.precision,
             "fp32, or bf16 mixed precision: convolutions and matmuls in bf16 with f32 accumulation, activations stored bf16, "
             "weights, optimizer state, normalisation statistics, softmax and losses f32; checkpoints stay f32 (CPU only)");
  app.add_option("--max-steps", f.max_steps, "stop after this many optimizer steps (0: no cap)")->check(nonneg)->capture_default_str();
  app.add_flag("--overfit-batch", f.overfit_batch, "train on one fixed batch (a debugging aid: loss should go to ~0)");
  app.add_option("--log-every", f.log_every, "steps between progress lines")->check(pos)->capture_default_str();
  app.add_option("--save-every", f.save_every, "steps between checkpoints (0: epoch ends only)")->check(nonneg)->capture_default_str();
  app.add_option("--keep-last", f.keep_last, "step checkpoints to keep")->check(pos)->capture_default_str();
}

}  // namespace cherry
