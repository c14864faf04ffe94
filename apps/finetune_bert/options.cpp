#include "apps/finetune_bert/options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "apps/common/build_info.h"
#include "apps/common/choices.h"
#include "core/error.h"

namespace cherry {

std::array<std::pair<GlueTask, std::string_view>, 5> names_of(GlueTask) {
  std::array<std::pair<GlueTask, std::string_view>, 5> names;
  const GlueTask tasks[] = {GlueTask::cola, GlueTask::sst2, GlueTask::mrpc, GlueTask::stsb, GlueTask::rte};
  for (size_t i = 0; i < names.size(); ++i) names[i] = {tasks[i], glue_task_info(tasks[i]).name};
  return names;
}

std::string default_bert_dir() {
  if (const char* c = std::getenv("CHERRY_MODEL_CACHE"); c && *c) return std::string(c) + "/all-MiniLM-L6-v2";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/cherry/models/all-MiniLM-L6-v2";
}

nlohmann::json FinetuneOptions::to_json() const {
  nlohmann::json j = {{"model", model},
                      {"task", to_string(task)},
                      {"warmup_ratio", warmup_ratio},
                      {"max_seq_length", max_seq_length},
                      {"no_dropout", no_dropout},
                      {"predict", predict},
                      {"ffn", to_string(ffn)},
                      {"experts", experts},
                      {"top_k", top_k},
                      {"imp_after", imp_after},
                      {"balance_coef", balance_coef},
                      {"router_init_std", router_init_std},
                      {"upcycle_reinit", upcycle_reinit},
                      {"export_deploy", export_deploy},
                      {"train_file", train_file},
                      {"validation_file", validation_file},
                      {"test_file", test_file},
                      {"text_columns", text_columns},
                      {"label_column", label_column}};
  j.update(RunFlags::to_json());
  j.update(imp.to_json());
  return j;
}

std::variant<FinetuneOptions, int> parse_finetune_options(int argc, char** argv) {
  FinetuneOptions o;
  CLI::App app{"finetune_bert: fine-tune a BERT-family checkpoint on a GLUE task (Cherry). With no arguments: RTE with the fetched "
               "all-MiniLM-L6-v2."};
  app.set_version_flag("--version", version_string("finetune_bert"));
  app.get_formatter()->column_width(34);
  app.add_option("--model", o.model, "Hugging Face BERT folder: config.json, vocab.txt, model.safetensors (default: " + default_bert_dir() + ")");
  add_choice(app, "--task", o.task, "GLUE task");
  app.add_option("--data", o.data, "GLUE folder holding CoLA/, SST-2/, MRPC/, STS-B/, RTE/ (default: ../shared/data/glue)");
  app.add_option("--lr", o.lr, "peak learning rate (AdamW, linear warm-up then linear decay)")
      ->check(in_range(0, 10, true))
      ->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on biases and LayerNorm)")
      ->check(in_range(0, 1))
      ->capture_default_str();
  app.add_option("--warmup-ratio", o.warmup_ratio, "fraction of the steps spent warming up")->check(in_range(0, 1))->capture_default_str();
  app.add_option("--max-seq-length", o.max_seq_length, "truncate pairs (longest first) to this many tokens")
      ->check(in_range(8, 512))
      ->capture_default_str();
  app.add_flag("--no-dropout", o.no_dropout, "dropout off (deterministic, for comparisons with a reference)");
  add_run_flags(app, o, "finetune_bert");
  app.add_flag("--eval-only", o.eval_only, "evaluate (and predict) and exit (with --init-from or --resume)");
  app.add_option("--seed", o.seed, "random seed (head init, data order, dropout, routing noise)")
      ->check(in_range(0, 9007199254740992.0))
      ->capture_default_str();
  app.add_option("--max-train-samples", o.max_train_samples, "use only the first N training examples (0: all)")->check(in_range(0, 1e9));
  app.add_option("--max-eval-samples", o.max_eval_samples, "evaluate on only the first N dev examples (0: all)")->check(in_range(0, 1e9));
  app.add_flag("--synthetic", o.synthetic, "random token ids of the task's shape (throughput measurements)");
  app.add_flag("!--no-predict", o.predict, "skip writing predict_results_<task>.txt for the test split");
  app.add_option("--train-file", o.train_file,
                 "training rows from this TSV/CSV/JSON-lines file instead of the GLUE folder (any row count)");
  app.add_option("--validation-file", o.validation_file, "evaluation rows from this file instead of the GLUE folder's dev split");
  app.add_option("--test-file", o.test_file, "rows to predict (labels not needed) instead of the GLUE folder's test split");
  app.add_option("--text-columns", o.text_columns, "the files' text column(s) (default: sentence, or sentence1,sentence2)")->delimiter(',');
  app.add_option("--label-column", o.label_column, "the files' label column (default: label)");
  app.add_flag("--log-batches", o.log_batches, "write batch_indices.jsonl (the rows of every step) into the run directory");
  auto* moe = app.add_option_group("MoE / PAD-MoE", "FFN linears as mixtures of experts (docs/PADNET_GUIDE.md)");
  add_choice(*moe, "--ffn", o.ffn, "FFN linears: dense, moe (E upcycled experts, kappa = 1) or pad (PAD-MoE)");
  moe->add_option("--experts", o.experts, "E experts per FFN linear")->check(in_range(1, 64))->capture_default_str();
  moe->add_option("--top-k", o.top_k, "experts per token (at most --experts)")->check(in_range(1, 64))->capture_default_str();
  moe->add_option("--imp-after", o.imp_after, "steps of fully dynamic fine-tuning before IMP (-1: 10% of the run)")
      ->check(in_range(-1, 1e12))
      ->capture_default_str();
  moe->add_option("--balance-coef", o.balance_coef, "weight of the load-balancing loss")->check(in_range(0, 100))->capture_default_str();
  moe->add_option("--router-init-std", o.router_init_std, "router weights ~ N(0, std^2) at upcycling (0: zeros)")
      ->check(in_range(0, 1))
      ->capture_default_str();
  moe->add_option("--upcycle-reinit", o.upcycle_reinit,
                  "drop-upcycling: fraction of each expert's FFN hidden units re-drawn from N(mean, sd) of the dense weight")
      ->check(in_range(0, 1))
      ->capture_default_str();
  add_imp_flags(moe, o.imp);
  moe->add_option("--export-deploy", o.export_deploy, "after training, write the folded deployment model (safetensors) here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (o.top_k > o.experts) {
    std::fprintf(stderr, "--top-k %lld exceeds --experts %lld\n", static_cast<long long>(o.top_k), static_cast<long long>(o.experts));
    return 2;
  }
  if (!o.imp.consistent(o.ffn == FfnKind::pad) || !run_flags_consistent(o)) return 2;
  if (o.text_columns.size() > 2) {
    std::fprintf(stderr, "--text-columns names one column, or two for a sentence pair; got %zu\n", o.text_columns.size());
    return 2;
  }
  if (o.model.empty()) o.model = default_bert_dir();
  return o;
}

}  // namespace cherry
