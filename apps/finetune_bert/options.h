// finetune_bert's configuration: every flag, its default, and the JSON written to config.json.
// The run-directory, resume, eval-only, seed and error conventions are train_resnet's; the flags
// shared with it are apps/common/run_flags.h's.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "apps/common/imp_flags.h"
#include "apps/common/run_flags.h"
#include "datasets/glue.h"

namespace cherry {

enum class FfnKind { dense, moe, pad };
// --ffn names, and --task names: Hugging Face's task_name, as glue_task_info has them (read by
// apps/common/choices.h).
constexpr std::array<std::pair<FfnKind, std::string_view>, 3> names_of(FfnKind) {
  return {{{FfnKind::dense, "dense"}, {FfnKind::moe, "moe"}, {FfnKind::pad, "pad"}}};
}
std::array<std::pair<GlueTask, std::string_view>, 5> names_of(GlueTask);

struct FinetuneOptions : RunFlags {
  FinetuneOptions()
      : RunFlags{.epochs = 3, .batch_size = 32, .lr = 2e-5, .weight_decay = 0.0, .grad_clip = 1.0, .seed = 42, .log_every = 20, .keep_last = 2} {}

  std::string model;  // Hugging Face BERT folder ("" = the fetched all-MiniLM-L6-v2)
  GlueTask task = GlueTask::rte;
  double warmup_ratio = 0.1;
  int64_t max_seq_length = 128;
  bool no_dropout = false;   // dropout off everywhere (the loss-matching check against PyTorch)
  bool predict = true;       // predict_results_<task>.txt for the test split at the end
  bool log_batches = false;  // batch_indices.jsonl: the dataset rows of every step (for reference runs)
  // A user's files in place of the GLUE folder's splits (datasets/text_files.h): TSV, CSV or JSON lines.
  std::string train_file, validation_file, test_file;
  std::vector<std::string> text_columns;  // "" = the task's (sentence / sentence1,sentence2)
  std::string label_column;               // "" = label

  // Mixture of experts (docs/PADNET.md §3-§4).
  FfnKind ffn = FfnKind::dense;
  int64_t experts = 8, top_k = 2;
  // docs/PADNET.md §7: PAD-MoE at kappa 0.5. IMP runs after warm-up, when the experts have moved
  // from the dense FFN: entries turning static take their experts' mean (issue 21's fair switch).
  ImpFlags imp{.kappa = 0.5, .static_init = StaticInit::factors};
  int64_t imp_after = -1;      // steps of fully dynamic fine-tuning before IMP (-1: 10% of the run)
  double balance_coef = 0.01;
  double router_init_std = 0, upcycle_reinit = 0;  // upcycling remedies (layers/moe_linear.h)
  std::string export_deploy;  // after training, write the folded PAD-MoE model (safetensors) here

  nlohmann::json to_json() const;
};

// Parses argv: the options, or an exit code (--help/--version: 0; bad flags: 2, message printed).
std::variant<FinetuneOptions, int> parse_finetune_options(int argc, char** argv);

// ~/.cache/cherry/models/all-MiniLM-L6-v2 ($CHERRY_MODEL_CACHE overrides the cache folder), as
// scripts/fetch_bert.py lays it out.
std::string default_bert_dir();

}  // namespace cherry
