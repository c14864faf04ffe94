#include "apps/finetune_bert/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/common/atomic_file.h"
#include "apps/common/build_info.h"
#include "apps/common/choices.h"
#include "apps/common/dynamic_audit.h"
#include "apps/common/run_records.h"
#include "autograd/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "datasets/glue.h"
#include "datasets/glue_metrics.h"
#include "datasets/text_files.h"
#include "datasets/text_loader.h"
#include "models/bert_checkpoint.h"
#include "models/bert_moe.h"
#include "models/padnet.h"
#include "optim/adamw.h"

namespace cherry {

namespace {
namespace fs = std::filesystem;

// Random token ids of the task's shape: max_seq_length tokens, random labels (--synthetic).
GlueData synthetic_glue(GlueTask task, GlueSplit split, int64_t rows) {
  GlueData d;
  d.task = task, d.split = split, d.path = "synthetic";
  Generator g(uint64_t(split) + 17);
  const auto& info = glue_task_info(task);
  for (int64_t i = 0; i < rows; ++i) {
    GlueExample e;
    e.index = i;
    if (info.regression) e.score = 5.0 * g.uniform();
    else e.label = int64_t(g.below(uint64_t(info.num_labels())));
    d.examples.push_back(e);
  }
  return d;
}

std::vector<Encoding> synthetic_encodings(int64_t rows, int64_t length, int64_t vocab, uint64_t seed) {
  Generator g(seed);
  std::vector<Encoding> out(static_cast<size_t>(rows));
  for (auto& e : out)
    for (int64_t t = 0; t < length; ++t) {
      e.input_ids.push_back(1 + int64_t(g.below(uint64_t(vocab - 1))));  // any id but [PAD] (0)
      e.token_type_ids.push_back(t < length / 2 ? 0 : 1);
    }
  return out;
}

struct TextSet {
  GlueData data;
  std::vector<Encoding> enc;
};

class BertTask final : public TrainTask {
 public:
  explicit BertTask(const FinetuneOptions& o) : o_(o), task_(o.task), info_(glue_task_info(task_)) {
    load_data();
    build_model();
    train_loader_ = std::make_unique<TextLoader>(train_.enc, pad_id_, TextLoaderOptions{o.batch_size, !o.overfit_batch, o.seed});
    const int64_t full = o.epochs * train_loader_->batches_per_epoch();
    const int64_t total = o.max_steps > 0 ? std::min(full, o.max_steps) : full;
    imp_after_ = o.imp_after >= 0 ? o.imp_after : std::max<int64_t>(1, total / 10);
    if (imp_planned()) check_imp_step(full, total);
  }

  BertForSequenceClassification& bert() { return *model_; }
  Module& model() override { return *model_; }
  int64_t steps_per_epoch() const override { return train_loader_->batches_per_epoch(); }
  DataPosition data_position() const override { return {train_loader_->epoch(), train_loader_->batch()}; }
  void set_data_position(const DataPosition& p) override { train_loader_->set_position(p.epoch, p.batch); }

  std::optional<TrainBatch> forward_next(int64_t step) override {
    std::optional<TextLoaderBatch> b;
    if (o_.overfit_batch) {
      if (!fixed_) fixed_ = train_loader_->next();
      b = fixed_;
    } else {
      b = train_loader_->next();
      if (!b) return std::nullopt;
    }
    if (o_.log_batches) run_->append_jsonl("batch_indices.jsonl", {{"step", step + 1}, {"indices", b->indices}});
    Tensor labels = glue_labels(train_.data, b->indices).to(device());
    Tensor logits = forward(b->text);
    TrainBatch r{model_->loss(logits, labels), int64_t(b->indices.size()), -1};
    if (!moe_.empty() && o_.balance_coef > 0) r.loss = r.loss + o_.balance_coef * total_balance_loss(moe_);
    if (!info_.regression) {
      NoGradGuard ng;
      r.correct = sum(eq(argmax(logits, 1), labels).to(DType::i64)).item<int64_t>();
    }
    return r;
  }

  std::optional<TrainBatch> forward_probe(int64_t samples) override {
    if (train_.enc.empty()) return std::nullopt;
    const auto longest = std::max_element(train_.enc.begin(), train_.enc.end(),
                                          [](const Encoding& a, const Encoding& b) { return a.input_ids.size() < b.input_ids.size(); });
    const std::vector<int64_t> rows(size_t(samples), int64_t(longest - train_.enc.begin()));
    Tensor logits = forward(collate_text(train_.enc, rows, pad_id_));
    TrainBatch r{model_->loss(logits, glue_labels(train_.data, rows).to(device())), samples, -1};
    if (!moe_.empty() && o_.balance_coef > 0) r.loss = r.loss + o_.balance_coef * total_balance_loss(moe_);
    return r;
  }

  Evaluation evaluate() override {
    std::vector<double> preds = predict(dev_), labels;
    for (const auto& e : dev_.data.examples) labels.push_back(info_.regression ? e.score : double(e.label));
    Evaluation ev;
    ev.loss = last_eval_loss_;
    ev.samples = int64_t(preds.size());
    GlueMetrics m = glue_metrics(task_, preds, labels);
    ev.metrics = m.values;
    ev.primary = m.primary_key;
    return ev;
  }

  void on_start(RunDir& run, bool from_checkpoint) override {
    run_ = &run;
    std::printf("finetune_bert: %s on %s (%s train / %zu dev%s)%s\n", o_.model.c_str(), std::string(info_.name).c_str(),
                std::to_string(train_.enc.size()).c_str(), dev_.enc.size(), test_ ? cat(" / ", test_->enc.size(), " test").c_str() : "",
                o_.synthetic ? " [synthetic]" : "");
    const BertConfig& c = model_->config();
    std::printf("  model: BERT %lld layers, hidden %lld, %lld heads, vocab %lld; %s\n", static_cast<long long>(c.num_hidden_layers),
                static_cast<long long>(c.hidden_size), static_cast<long long>(c.num_attention_heads), static_cast<long long>(c.vocab_size),
                o_.init_from.empty() && !from_checkpoint ? load_report_.c_str() : "weights then replaced from the checkpoint / --init-from");
    std::printf("  ffn: %s\n", moe_description().c_str());
    std::printf("  optimizer: AdamW lr %g wd %g warm-up %.0f%%, linear decay, clip %g  epochs %lld x %lld steps, batch %lld, max length %lld%s\n",
                o_.lr, o_.weight_decay, 100 * o_.warmup_ratio, o_.grad_clip, static_cast<long long>(o_.epochs),
                static_cast<long long>(steps_per_epoch()), static_cast<long long>(o_.batch_size), static_cast<long long>(o_.max_seq_length),
                o_.no_dropout ? ", dropout off" : "");
    std::printf("  runtime: %s\n  precision: %s\n  run dir: %s\n", runtime_.c_str(), precision_.c_str(), run.path().c_str());
    imp_done_ = from_checkpoint && loaded_partitioned();
    write_model_summary(run);
  }

  void before_step(int64_t step) override {
    if (!imp_planned() || imp_done_ || step != imp_after_) return;
    run_imp(step);
    imp_done_ = true;
  }

  void on_log(RunDir& run, int64_t step, int64_t epoch) override {
    if (moe_.empty()) return;
    run.append_jsonl("dynamic.jsonl", DynamicRecord{dynamic_layer_stats(pad_layers(*model_)), step, epoch, total_balance_loss(moe_).item<float>()});
  }

  void on_finish(RunDir& run) override {
    if (!moe_.empty()) run.write_json("dynamic_summary.json", dynamic_layer_stats(pad_layers(*model_)));
    if (!o_.export_deploy.empty()) export_deployment(run);
    if (!test_ || !o_.predict) return;
    std::vector<double> preds = predict(*test_);
    std::string out = "index\tprediction\n";
    for (size_t i = 0; i < preds.size(); ++i) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.3f", preds[i]);
      out += cat(i, "\t", info_.regression ? std::string(buf) : std::string(info_.label_names[size_t(preds[i])]), "\n");
    }
    write_file_atomic(run.file(cat("predict_results_", info_.name, ".txt")), out);
    std::printf("predictions for %zu test examples written to %s\n", preds.size(),
                run.file(cat("predict_results_", info_.name, ".txt")).c_str());
  }

  std::string runtime_, precision_;

 private:
  void load_data() {
    const std::string vocab = o_.model + "/vocab.txt";
    if (o_.synthetic) {
      pad_id_ = 0;
      const int64_t vocab_size = BertConfig::from_file(o_.model + "/config.json").vocab_size;
      train_.data = synthetic_glue(task_, GlueSplit::train, info_.official_rows[0]);
      train_.enc = synthetic_encodings(int64_t(train_.data.examples.size()), o_.max_seq_length, vocab_size, o_.seed);
      dev_.data = synthetic_glue(task_, GlueSplit::dev, info_.official_rows[1]);
      dev_.enc = synthetic_encodings(int64_t(dev_.data.examples.size()), o_.max_seq_length, vocab_size, o_.seed + 1);
    } else {
      BertTokenizer tok(vocab);
      // A vocab.txt of another model would map words to the wrong embedding rows, silently.
      const int64_t embedding_rows = BertConfig::from_file(o_.model + "/config.json").vocab_size;
      CHERRY_CHECK(tok.vocab().size() == embedding_rows, "finetune_bert", vocab, " holds ", tok.vocab().size(), " tokens but ", o_.model,
                   "/config.json says vocab_size ", embedding_rows, ": the tokenizer and the model do not belong together");
      pad_id_ = tok.pad_id();
      // Each split from the user's file when given (any row count), else the GLUE folder (official counts).
      TextColumns columns{o_.text_columns.size() > 0 ? o_.text_columns[0] : "", o_.text_columns.size() > 1 ? o_.text_columns[1] : "",
                          o_.label_column, ""};
      auto split = [&](GlueSplit s, const std::string& file) {
        return file.empty() ? read_glue(task_, s, o_.data) : read_text_file(task_, s, file, columns);
      };
      train_.data = split(GlueSplit::train, o_.train_file);
      dev_.data = split(GlueSplit::dev, o_.validation_file);
      train_.enc = encode_glue(tok, train_.data, o_.max_seq_length);
      dev_.enc = encode_glue(tok, dev_.data, o_.max_seq_length);
      if (!o_.test_file.empty() || fs::exists(glue_file_path(task_, GlueSplit::test, o_.data))) {
        test_ = TextSet{split(GlueSplit::test, o_.test_file), {}};
        test_->enc = encode_glue(tok, test_->data, o_.max_seq_length);
      }
    }
    truncate(train_, o_.max_train_samples);
    truncate(dev_, o_.max_eval_samples);
  }
  static void truncate(TextSet& s, int64_t n) {
    if (n <= 0 || n >= int64_t(s.enc.size())) return;
    s.enc.resize(size_t(n));
    s.data.examples.resize(size_t(n));
  }

  void build_model() {
    BertConfig c = BertConfig::from_file(o_.model + "/config.json");
    c.num_labels = info_.num_labels();
    CHERRY_CHECK(o_.max_seq_length <= c.max_position_embeddings, "finetune_bert", "--max-seq-length ", o_.max_seq_length,
                 " exceeds the model's max_position_embeddings (", c.max_position_embeddings, ") in ", o_.model, "/config.json");
    if (o_.no_dropout) c.hidden_dropout_prob = c.attention_probs_dropout_prob = 0, c.classifier_dropout = 0.0;
    manual_seed(o_.seed);  // the fresh head's initialisation
    auto dense = std::make_shared<BertForSequenceClassification>(c);
    // A classifier trained for another label set is replaced by a fresh one (Hugging Face's
    // ignore_mismatched_sizes); any other mismatch is an error.
    BertLoadOptions lo;
    lo.allow_mismatched = true;
    BertLoadReport r = load_bert_weights(*dense, o_.model + "/model.safetensors", lo);
    for (const auto& m : r.problems.mismatched)
      CHERRY_CHECK(m.starts_with("classifier."), "finetune_bert", o_.model, "/model.safetensors: ", m);
    load_report_ = r.str();
    if (o_.ffn == FfnKind::dense) {
      model_ = dense;
    } else {
      MoeOptions mo;
      mo.experts = o_.experts, mo.top_k = o_.top_k;
      mo.pad.mode = o_.ffn == FfnKind::pad ? DynamicMode::pad : DynamicMode::dynamic;
      mo.pad.scale = !o_.imp.no_scale;
      mo.router_init_std = o_.router_init_std, mo.upcycle_reinit = o_.upcycle_reinit;
      model_ = upcycle_to_moe(*dense, mo);
      moe_ = moe_layers(*model_);
    }
    // Built, loaded and upcycled on the CPU (same weights for a seed on every device), then moved.
    if (o_.device == DeviceType::cuda) model_->to(kCUDA);
  }

  // The model's device (the CPU unless --device cuda; the CPU again after --export-deploy).
  Device device() const { return model_->parameters().front().device(); }
  // The model on a batch moved to its device (the same tensors on the CPU).
  Tensor forward(const TextBatch& t) {
    const Device d = device();
    return model_->forward(t.input_ids.to(d), t.attention_mask.to(d), t.token_type_ids.to(d));
  }

  bool loaded_partitioned() const {
    for (auto& [name, l] : pad_layers(*model_))
      if (l->is_pad() && l->dynamic_entries() < l->weight_numel()) return true;
    return false;
  }

  std::string moe_description() const {
    if (o_.ffn == FfnKind::dense) return to_string(o_.ffn);
    std::string s = cat(to_string(o_.ffn), " (", o_.experts, " experts upcycled from the dense FFN, top-", o_.top_k, ", balance ", o_.balance_coef);
    if (o_.ffn == FfnKind::pad) s += cat(", ", o_.imp.describe(), ", IMP after ", imp_after_, " steps");
    return s + ")";
  }

  void write_model_summary(RunDir& run) {
    const ParameterCounts c = count_parameters(*model_);
    run.write_json("model.json", model_summary(c, int64_t(moe_.size())));
    std::printf("  parameters: %.2fM trainable; stored %.2fM = %.2fM static + %.2fM dynamic (kappa %.3f over %zu MoE layers)\n",
                double(c.trainable) / 1e6, double(c.stored()) / 1e6, double(c.static_) / 1e6, double(c.dynamic) / 1e6, c.kappa(), moe_.size());
    std::fflush(stdout);
  }

  // docs/PADNET.md §4 (ours for upcycled MoE): IMP after imp_after steps of fully dynamic fine-tuning,
  // scored on training batches of a loader of its own, model in eval mode; then M stays fixed.
  void run_imp(int64_t step) {
    TextLoader scoring(train_.enc, pad_id_, TextLoaderOptions{o_.batch_size, true, o_.seed ^ 0x1395u});
    std::vector<TextLoaderBatch> batches;
    while (int64_t(batches.size()) < o_.imp.batches)
      if (auto b = scoring.next()) batches.push_back(std::move(*b));
      else break;
    model_->eval();
    auto loss_of_batch = [&](int64_t i) {
      const TextLoaderBatch& b = batches[size_t(i)];
      Tensor logits = forward(b.text);
      return model_->loss(logits, glue_labels(train_.data, b.indices).to(device()));
    };
    ImpOptions io = o_.imp.options(o_.seed);
    io.batches = int64_t(batches.size());
    auto report = cherry::run_imp(pad_layers(*model_), io, loss_of_batch);
    model_->zero_grad();
    model_->train();
    for (const auto& it : report) {
      run_->append_jsonl("imp.jsonl", imp_record(it, io, step));
      std::printf("  IMP %lld/%lld at step %lld (%s, %s): target kappa %.4f, achieved %.4f\n", static_cast<long long>(it.iteration),
                  static_cast<long long>(io.iterations), static_cast<long long>(step), to_string(o_.imp.scorer).c_str(), to_string(o_.imp.scope).c_str(),
                  it.target_kappa, it.achieved_kappa);
    }
    write_model_summary(*run_);
  }

  // PAD-MoE partitions by IMP unless it is a no-op (no iterations, or kappa 1 keeps every entry dynamic).
  bool imp_planned() const { return o_.ffn == FfnKind::pad && o_.imp.iters > 0 && o_.imp.kappa < 1.0; }

  // IMP must fall inside the run, and after at least one step for the scorers that read how far the
  // experts moved from Ws (they start equal to it, docs/PADNET.md §4), else the partition is arbitrary.
  void check_imp_step(int64_t full, int64_t total) const {
    CHERRY_CHECK(imp_after_ < full, "finetune_bert", "--imp-after ", imp_after_, " is not before the run's last step (", full,
                 " steps): IMP would never run and the model would stay fully dynamic");
    CHERRY_CHECK(imp_after_ > 0 || o_.imp.scorer == ImpScorer::random, "finetune_bert",
                 "--imp-after 0: the upcycled experts equal Ws before any step, so every ", to_string(o_.imp.scorer),
                 " score is 0; use --imp-after 1 or more (or --imp-scorer random)");
    if (imp_after_ >= total)
      std::printf("note: IMP comes after step %lld but this invocation stops at step %lld; the model stays fully dynamic until a "
                  "resumed run gets there\n",
                  static_cast<long long>(imp_after_), static_cast<long long>(total));
  }

  // docs/PADNET.md §5: fold every MoE layer, check the outputs on a dev batch, save, report the counts.
  void export_deployment(RunDir& run) {
    CHERRY_CHECK(!moe_.empty(), "finetune_bert", "--export-deploy needs --ffn moe or pad (a dense model has nothing to fold)");
    model_->to(kCPU);  // the deployment form is built and checked on the host (later predictions run there too)
    model_->eval();
    auto deployed = deploy_moe_bert(*model_);
    deployed->eval();
    TextLoader loader(dev_.enc, pad_id_, TextLoaderOptions{std::min<int64_t>(o_.batch_size, 16), false, 0});
    auto b = loader.next();
    CHERRY_CHECK(b.has_value(), "finetune_bert", "--export-deploy needs a dev example to check the folded model");
    NoGradGuard ng;
    const TextBatch& t = b->text;
    const double diff = check_deployed_outputs(model_->forward(t.input_ids, t.attention_mask, t.token_type_ids),
                                               deployed->forward(t.input_ids, t.attention_mask, t.token_type_ids));
    model_->train();
    int64_t folded = 0;
    for (auto& [name, l] : deployed->modules_of_type<DeployedMoeLinear>()) folded += l->stored_values();
    const int64_t stored = deployed_values(*deployed);
    const ParameterCounts c = count_parameters(*model_);
    CHERRY_CHECK(stored == c.stored(), "deploy", "the folded model stores ", stored, " values, the accounting says ", c.stored());
    save_safetensors(o_.export_deploy, deployed->state_dict(), {{"format", "cherry-pad-moe-deploy"}});
    const nlohmann::json r = {{"path", o_.export_deploy}, {"stored_values", stored}, {"moe_layer_values", folded},
                              {"dynamic_values", c.dynamic}, {"static_values", c.static_}, {"training_parameters", c.trainable},
                              {"kappa", c.kappa()}, {"max_abs_output_diff", diff}, {"check_sequences", t.input_ids.size(0)}};
    run.write_json("deploy.json", r);
    std::printf("deployment form written to %s: %lld stored values (%lld dynamic + %lld static; MoE layers %lld), %lld trained; "
                "max |logit diff| %.2e\n",
                o_.export_deploy.c_str(), static_cast<long long>(stored), static_cast<long long>(c.dynamic),
                static_cast<long long>(c.static_), static_cast<long long>(folded), static_cast<long long>(c.trainable), diff);
  }

  // Predicted class ids (or regression values) for a split, in order; sets last_eval_loss_.
  std::vector<double> predict(const TextSet& s) {
    const bool was_training = model_->training();
    model_->eval();
    NoGradGuard ng;
    TextLoader loader(s.enc, pad_id_, TextLoaderOptions{o_.batch_size, false, 0});
    std::vector<double> out;
    double loss_sum = 0;
    const bool labelled = s.data.labelled();
    while (auto b = loader.next()) {
      Tensor logits = forward(b->text);
      if (labelled) loss_sum += model_->loss(logits, glue_labels(s.data, b->indices).to(device())).item<float>() * double(b->indices.size());
      const Tensor p = info_.regression ? logits.reshape({-1}).to(DType::f64) : argmax(logits, 1).to(DType::f64);
      for (double v : p.to_vector<double>()) out.push_back(v);
    }
    model_->train(was_training);
    last_eval_loss_ = out.empty() ? 0 : loss_sum / double(out.size());
    return out;
  }

  const FinetuneOptions& o_;
  GlueTask task_;
  const GlueTaskInfo& info_;
  TextSet train_, dev_;
  std::optional<TextSet> test_;
  int64_t pad_id_ = 0;
  std::shared_ptr<BertForSequenceClassification> model_;
  std::vector<std::shared_ptr<MoeLinear>> moe_;
  std::string load_report_;
  std::unique_ptr<TextLoader> train_loader_;
  std::optional<TextLoaderBatch> fixed_;
  int64_t imp_after_ = 0;
  bool imp_done_ = false;
  double last_eval_loss_ = 0;
  RunDir* run_ = nullptr;  // set by on_start
};
}  // namespace

TrainResult run_finetune_bert(const FinetuneOptions& o) {
  const std::string runtime = setup_runtime(o.threads), precision = precision_info(o.precision, o.device);
  CHERRY_CHECK(o.device == DeviceType::cpu || backend_available(DeviceType::cuda), "finetune_bert", "--device cuda: no usable CUDA backend (",
               backend_info(DeviceType::cuda), "); use --device cpu");
  CHERRY_CHECK(fs::exists(o.model + "/config.json"), "finetune_bert", "no BERT model in '", o.model,
               "' (config.json missing): run `python3 scripts/fetch_bert.py` or pass --model DIR (a Hugging Face BERT folder)");
  BertTask task(o);
  task.runtime_ = o.device == DeviceType::cpu ? runtime : cat(runtime, "; ", backend_info(DeviceType::cuda));
  task.precision_ = precision;
  auto groups = decay_groups(task.model().named_parameters(), o.weight_decay, true);
  AdamW optim(groups, AdamWOptions{o.lr});
  const int64_t steps = o.epochs * task.steps_per_epoch();
  const int64_t warmup = int64_t(std::ceil(o.warmup_ratio * double(steps)));
  std::shared_ptr<const LrSchedule> schedule = std::make_shared<LinearDecayLr>(o.lr, std::max<int64_t>(1, steps - warmup));
  if (warmup > 0) schedule = std::make_shared<WarmupLr>(schedule, warmup, 0.0);
  LoopOptions lo = loop_options(o, "finetune_bert");
  lo.unit = "seq/s";
  lo.metric_prefix = "eval_";
  return run_train_loop(task, optim, *schedule, lo, o.to_json());
}

}  // namespace cherry
