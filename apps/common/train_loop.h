// The training loop every app shares (train_resnet, finetune_bert): run directory, resume from the
// newest intact checkpoint (model, optimizer, step, data position, RNG) so a resumed run equals the
// uninterrupted one, --init-from, --eval-only, the step (forward by the task, then backward, clip,
// update), non-finite detection with a crash checkpoint, progress and metrics.jsonl, and at each
// epoch end: evaluation, summary.csv, eval_results.json, checkpoints (last, best, last k).
// What differs between apps (data, model, loss, metrics) is the TrainTask.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "apps/common/run_dir.h"
#include "apps/common/run_flags.h"
#include "layers/module.h"
#include "optim/lr_schedule.h"
#include "optim/optimizer.h"

namespace cherry {

struct Evaluation {
  double loss = 0;
  std::vector<std::pair<std::string, double>> metrics;  // in the order they are written
  std::string primary;                                  // the metric "best" is judged by
  int64_t samples = 0;
  double value(const std::string& key) const;
  double primary_value() const { return value(primary); }
};

struct TrainBatch {
  Tensor loss;           // scalar, with its graph
  int64_t samples = 0;
  int64_t correct = -1;  // -1: no training accuracy for this task
};

struct DataPosition {
  int64_t epoch = 0, batch = 0;  // batches of `epoch` already consumed
};

class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual Module& model() = 0;
  virtual int64_t steps_per_epoch() const = 0;
  virtual DataPosition data_position() const = 0;
  virtual void set_data_position(const DataPosition& p) = 0;
  // Forward pass and loss of the next training batch; nullopt once the epoch is exhausted (the
  // position then moves to the next epoch). With --overfit-batch, the same batch every time.
  virtual std::optional<TrainBatch> forward_next(int64_t step) = 0;
  virtual Evaluation evaluate() = 0;
  // Forward and loss of `samples` copies of the training data's most memory-hungry sample (the
  // longest sequence, any image), for the memory check before step 1 (memory_check.h); it must not
  // move the data position. nullopt: the task has no probe and the check is skipped.
  virtual std::optional<TrainBatch> forward_probe(int64_t /*samples*/) { return std::nullopt; }

  // Hooks. on_start runs once the run directory exists and any checkpoint is loaded (banner, IMP);
  // before_step sets per-step state (temperature); on_log appends per-step records.
  virtual void on_start(RunDir& run, bool from_checkpoint) {}
  virtual void before_step(int64_t step) {}
  virtual void on_log(RunDir& run, int64_t step, int64_t epoch) {}
  virtual void on_eval(RunDir& run, const Evaluation& e) {}  // e.g. prediction files
  virtual void on_finish(RunDir& run) {}
};

struct LoopOptions {
  std::string app;                // names the default run directory and error messages
  std::string run_dir, resume, init_from;
  bool overwrite = false, eval_only = false, overfit_batch = false, memory_check = true;
  int64_t batch_size = 1;         // what the memory check estimates a step at
  int64_t epochs = 1, max_steps = 0, log_every = 50, save_every = 0;
  int keep_last = 3;
  double grad_clip = 0;
  std::string unit = "img/s";
  std::string metric_prefix;      // "eval_" writes eval_results.json with Hugging Face's key names
  DType compute = DType::f32;     // bf16: forward and evaluation under autocast (--precision bf16)
  std::vector<std::string> allow_changed;  // config keys a resume may change (--allow-changed)
};

// The loop settings of the flags every app shares (run dir, resume, steps, logging, clipping).
LoopOptions loop_options(const RunFlags& f, std::string app);

struct TrainResult {
  std::string run_dir;
  int64_t steps = 0;
  double final_metric = 0, best_metric = 0, final_loss = 0;
};

TrainResult run_train_loop(TrainTask& task, Optimizer& optim, const LrSchedule& schedule, const LoopOptions& o,
                           const nlohmann::json& config);

// Model weights of a checkpoint or state-dict file, without the optimizer's "optim." tensors.
std::map<std::string, Tensor> weights_from(const std::string& path);
// Refuses weights with a NaN or inf entry, naming the file, the tensor and the count (what
// --init-from and --eval-only load: a crashed run's weights would evaluate to a plausible loss).
void check_finite_weights(const std::map<std::string, Tensor>& weights, const std::string& path);

}  // namespace cherry
