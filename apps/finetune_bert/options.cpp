#include "apps/finetune_bert/options.h"

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "apps/common/build_info.h"
#include "core/error.h"

namespace cherry {

std::string default_bert_dir() {
  if (const char* c = std::getenv("CHERRY_MODEL_CACHE"); c && *c) return std::string(c) + "/all-MiniLM-L6-v2";
  const char* home = std::getenv("HOME");
  return std::string(home ? home : ".") + "/.cache/cherry/models/all-MiniLM-L6-v2";
}

nlohmann::json FinetuneOptions::to_json() const {
  nlohmann::json j = {{"model", model}, {"task", task}, {"data", data}, {"epochs", epochs}, {"batch_size", batch_size}, {"lr", lr},
                      {"weight_decay", weight_decay}, {"warmup_ratio", warmup_ratio}, {"grad_clip", grad_clip},
                      {"max_seq_length", max_seq_length}, {"no_dropout", no_dropout}, {"run_dir", run_dir}, {"resume", resume},
                      {"init_from", init_from}, {"eval_only", eval_only}, {"seed", seed}, {"threads", threads}, {"device", device},
                      {"max_steps", max_steps}, {"max_train_samples", max_train_samples}, {"max_eval_samples", max_eval_samples},
                      {"overfit_batch", overfit_batch}, {"synthetic", synthetic}, {"log_every", log_every}, {"save_every", save_every},
                      {"keep_last", keep_last}, {"predict", predict}, {"ffn", ffn}, {"experts", experts}, {"top_k", top_k}, {"imp_after", imp_after},
                      {"balance_coef", balance_coef}, {"export_deploy", export_deploy}};
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
  app.add_option("--task", o.task, "GLUE task")->check(CLI::IsMember({"cola", "sst2", "mrpc", "stsb", "rte"}))->capture_default_str();
  app.add_option("--data", o.data, "GLUE folder holding CoLA/, SST-2/, MRPC/, STS-B/, RTE/ (default: ../shared/data/glue)");
  app.add_option("--epochs", o.epochs, "training epochs")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "batch size")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--lr", o.lr, "peak learning rate (AdamW, linear warm-up then linear decay)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", o.weight_decay, "AdamW weight decay (not on biases and LayerNorm)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--warmup-ratio", o.warmup_ratio, "fraction of the steps spent warming up")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--grad-clip", o.grad_clip, "clip the global gradient norm (0: off)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--max-seq-length", o.max_seq_length, "truncate pairs (longest first) to this many tokens")
      ->check(CLI::Range(int64_t(8), int64_t(512)))
      ->capture_default_str();
  app.add_flag("--no-dropout", o.no_dropout, "dropout off (deterministic, for comparisons with a reference)");
  app.add_option("--run-dir", o.run_dir, "run directory (default: runs/finetune_bert-<timestamp>)");
  app.add_flag("--overwrite", o.overwrite, "replace an existing run directory");
  app.add_option("--resume", o.resume, "continue a run: 'auto' (the run directory's newest checkpoint) or a checkpoint path");
  app.add_option("--init-from", o.init_from, "load model weights (not optimizer state) from a checkpoint or state dict");
  app.add_flag("--eval-only", o.eval_only, "evaluate (and predict) and exit (with --init-from or --resume)");
  app.add_option("--seed", o.seed, "random seed (head init, data order, dropout, routing noise)")->capture_default_str();
  app.add_option("--threads", o.threads, "compute threads (0: OpenMP default)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--max-steps", o.max_steps, "stop after this many optimizer steps (0: no cap)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--max-train-samples", o.max_train_samples, "use only the first N training examples (0: all)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-eval-samples", o.max_eval_samples, "evaluate on only the first N dev examples (0: all)")->check(CLI::NonNegativeNumber);
  app.add_flag("--overfit-batch", o.overfit_batch, "train on one fixed batch (a debugging aid: loss should go to ~0)");
  app.add_flag("--synthetic", o.synthetic, "random token ids of the task's shape (throughput measurements)");
  app.add_option("--log-every", o.log_every, "steps between progress lines")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--save-every", o.save_every, "steps between checkpoints (0: epoch ends only)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--keep-last", o.keep_last, "step checkpoints to keep")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_flag("!--no-predict", o.predict, "skip writing predict_results_<task>.txt for the test split");
  app.add_flag("--log-batches", o.log_batches, "write batch_indices.jsonl (the rows of every step) into the run directory");
  auto* moe = app.add_option_group("MoE / PAD-MoE", "FFN linears as mixtures of experts (docs/PADNET_GUIDE.md)");
  moe->add_option("--ffn", o.ffn, "FFN linears: dense, moe (E upcycled experts, kappa = 1) or pad (PAD-MoE)")
      ->check(CLI::IsMember({"dense", "moe", "pad"}))
      ->capture_default_str();
  moe->add_option("--experts", o.experts, "E experts per FFN linear")->check(CLI::PositiveNumber)->capture_default_str();
  moe->add_option("--top-k", o.top_k, "experts per token")->check(CLI::PositiveNumber)->capture_default_str();
  moe->add_option("--imp-after", o.imp_after, "steps of fully dynamic fine-tuning before IMP (-1: 10% of the run)")->capture_default_str();
  moe->add_option("--balance-coef", o.balance_coef, "weight of the load-balancing loss")->check(CLI::NonNegativeNumber)->capture_default_str();
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
  if (o.model.empty()) o.model = default_bert_dir();
  return o;
}

}  // namespace cherry
