// Training checkpoints in safetensors: the model's state dict under its own names (so the file
// loads into PyTorch as a plain state dict), the optimizer state under "optim.", and the trainer
// state (step, epoch, data position, RNG, best metric) plus the run config as JSON metadata.
// Writes are atomic; loading verifies and falls back to the newest checkpoint that is intact.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "layers/module.h"
#include "optim/optimizer.h"

namespace cherry {

struct TrainerState {
  int64_t step = 0;            // optimizer steps taken
  int64_t epoch = 0;           // current epoch (0-based)
  int64_t batch_in_epoch = 0;  // batches of `epoch` already consumed
  double best_metric = -1.0;
  int64_t best_step = -1;
  Generator::State rng{};  // the default generator after `step`
  // The logs' running statistics, so a resumed run's logs equal the uninterrupted run's: the
  // progress line's mean loss since step 1, and the current epoch's sums for summary.csv.
  double loss_sum = 0, epoch_loss = 0;
  int64_t loss_count = 0, epoch_correct = 0, epoch_samples = 0;
  bool epoch_has_correct = false;  // the task counts correct predictions (summary.csv's train_accuracy)
  nlohmann::json to_json() const;
  static TrainerState from_json(const nlohmann::json& j, const std::string& path);
};

struct Checkpoint {
  std::string path;
  std::map<std::string, Tensor> model, optim;  // optim keys keep their "optim." prefix
  TrainerState state;
  nlohmann::json config;
};

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optim, const TrainerState& state,
                     const nlohmann::json& config);
Checkpoint load_checkpoint(const std::string& path);  // throws Error naming the file on any problem

// checkpoints/step-00001234.safetensors, plus last.safetensors and best.safetensors (copies),
// keeping the newest `keep_last` step files.
class CheckpointManager {
 public:
  CheckpointManager(std::string dir, int keep_last) : dir_(std::move(dir)), keep_last_(keep_last) {}
  std::string save(const Module& model, const Optimizer* optim, const TrainerState& state, const nlohmann::json& config, bool is_best);
  // The newest loadable checkpoint: last.safetensors, else step files newest first. Files that
  // fail to load are reported in `skipped` ("path: reason").
  std::optional<Checkpoint> load_latest(std::vector<std::string>* skipped = nullptr) const;
  std::string last() const { return dir_ + "/last.safetensors"; }
  std::string best() const { return dir_ + "/best.safetensors"; }
  const std::string& dir() const { return dir_; }

 private:
  std::vector<std::string> step_files() const;  // sorted oldest first
  std::string dir_;
  int keep_last_;
};

}  // namespace cherry
