// finetune_bert's configuration: every flag, its default, and the JSON written to config.json.
// The run-directory, resume, eval-only, seed and error conventions are train_resnet's.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <variant>

#include "apps/common/imp_flags.h"

namespace cherry {

struct FinetuneOptions {
  std::string model;  // Hugging Face BERT folder ("" = the fetched all-MiniLM-L6-v2)
  std::string task = "rte";
  std::string data;   // GLUE folder ("" = ../shared/data/glue)
  int64_t epochs = 3;
  int64_t batch_size = 32;
  double lr = 2e-5;
  double weight_decay = 0.0;
  double warmup_ratio = 0.1;
  double grad_clip = 1.0;
  int64_t max_seq_length = 128;
  bool no_dropout = false;  // dropout off everywhere (the loss-matching check against PyTorch)
  std::string run_dir;
  bool overwrite = false;
  std::string resume, init_from;
  bool eval_only = false;
  uint64_t seed = 42;
  int threads = 0;
  std::string device = "cpu";
  int64_t max_steps = 0;
  int64_t max_train_samples = 0, max_eval_samples = 0;
  bool overfit_batch = false;
  bool synthetic = false;
  int64_t log_every = 20;
  int64_t save_every = 0;
  int keep_last = 2;
  bool predict = true;       // predict_results_<task>.txt for the test split at the end
  bool log_batches = false;  // batch_indices.jsonl: the dataset rows of every step (for reference runs)

  // Mixture of experts (docs/PADNET.md §3-§4).
  std::string ffn = "dense";  // dense|moe|pad
  int64_t experts = 8, top_k = 2;
  ImpFlags imp{.kappa = 0.5};  // docs/PADNET.md §7: PAD-MoE at kappa 0.5
  int64_t imp_after = -1;     // steps of fully dynamic fine-tuning before IMP (-1: 10% of the run)
  double balance_coef = 0.01;
  std::string export_deploy;  // after training, write the folded PAD-MoE model (safetensors) here

  nlohmann::json to_json() const;
};

// Parses argv: the options, or an exit code (--help/--version: 0; bad flags: 2, message printed).
std::variant<FinetuneOptions, int> parse_finetune_options(int argc, char** argv);

// ~/.cache/cherry/models/all-MiniLM-L6-v2 ($CHERRY_MODEL_CACHE overrides the cache folder), as
// scripts/fetch_bert.py lays it out.
std::string default_bert_dir();

}  // namespace cherry
