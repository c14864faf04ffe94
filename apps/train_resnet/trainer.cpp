// train_resnet's loop: data, model, optimizer and schedule from the options; a step = forward,
// loss, backward, clip, update; an epoch ends with evaluation, a summary row and a checkpoint.
// Resume restores model, optimizer, step, data position and RNG, so it continues bit for bit.
#include "apps/train_resnet/trainer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/common/build_info.h"
#include "apps/common/checkpoint.h"
#include "apps/common/dynamic_audit.h"
#include "apps/common/progress.h"
#include "apps/common/run_dir.h"
#include "apps/train_resnet/padnet_run.h"
#include "autograd/ops.h"
#include "core/safetensors.h"
#include "datasets/fashion_mnist.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "datasets/synthetic.h"
#include "models/resnet.h"
#include "optim/adamw.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"

namespace cherry {

namespace {
using json = nlohmann::json;
namespace fs = std::filesystem;

struct Data {
  std::unique_ptr<Dataset> train, test;
};

// The first n samples of another dataset (--max-train-samples).
class Subset final : public Dataset {
 public:
  Subset(std::unique_ptr<Dataset> base, int64_t n) : base_(std::move(base)), n_(std::min(n, base_->size())) {}
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return base_->sample_shape(); }
  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  std::string name() const override { return cat(base_->name(), "[:", n_, "]"); }
  int64_t get(int64_t i, Generator& rng, float* out) const override { return base_->get(i, rng, out); }

 private:
  std::unique_ptr<Dataset> base_;
  int64_t n_;
};

Data make_data(const TrainOptions& o) {
  Data d;
  if (o.synthetic) {
    Shape shape = o.dataset == "fashion-mnist" ? Shape{1, 28, 28} : o.dataset == "cifar10" ? Shape{3, 32, 32} : Shape{3, o.image_size, o.image_size};
    d.train = std::make_unique<SyntheticDataset>(SyntheticOptions{50000, shape, 10, o.seed});
    d.test = std::make_unique<SyntheticDataset>(SyntheticOptions{10000, shape, 10, o.seed + 1});
  } else if (o.dataset == "fashion-mnist") {
    FashionMnistOptions tr{"train", o.data, o.augment, o.augment ? o.crop_padding : 0}, te{"test", o.data, false, 0};
    d.train = std::make_unique<FashionMnist>(tr);
    d.test = std::make_unique<FashionMnist>(te);
  } else if (o.dataset == "cifar10") {
    d.train = std::make_unique<ImageFolder>(cifar10("train", o.augment, o.data));
    d.test = std::make_unique<ImageFolder>(cifar10("test", false, o.data));
  } else {
    CHERRY_CHECK(!o.data.empty(), "train_resnet", "--dataset imagefolder needs --data DIR holding train/ and val/ (or test/)");
    const std::string eval_split = fs::exists(fs::path(o.data) / "val") ? "val" : "test";
    ImageFolderOptions tr{o.data, "train", o.augment ? ImageTransform::imagenet_train(o.image_size) : ImageTransform::imagenet_eval(o.image_size)};
    ImageFolderOptions te{o.data, eval_split, ImageTransform::imagenet_eval(o.image_size)};
    d.train = std::make_unique<ImageFolder>(tr);
    d.test = std::make_unique<ImageFolder>(te);
  }
  if (o.max_train_samples > 0) d.train = std::make_unique<Subset>(std::move(d.train), o.max_train_samples);
  if (o.max_eval_samples > 0) d.test = std::make_unique<Subset>(std::move(d.test), o.max_eval_samples);
  return d;
}

std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& o, const Module& model) {
  auto groups = decay_groups(model.named_parameters(), o.weight_decay, o.no_decay_bn_bias);
  if (o.optimizer == "adamw") return std::make_unique<AdamW>(groups, AdamWOptions{o.lr});
  return std::make_unique<SGD>(groups, SgdOptions{o.lr, o.momentum, o.nesterov});
}

// Per-step schedule spanning all epochs (not --max-steps, a debugging cap that must not change it).
std::shared_ptr<const LrSchedule> make_schedule(const TrainOptions& o, int64_t steps_per_epoch) {
  const int64_t total = o.epochs * steps_per_epoch;
  std::shared_ptr<const LrSchedule> s;
  if (o.schedule == "cosine") s = std::make_shared<CosineLr>(o.lr, total);
  else if (o.schedule == "step") s = std::make_shared<StepLr>(o.lr, o.step_size * steps_per_epoch, o.gamma);
  else if (o.schedule == "multistep") {
    std::vector<int64_t> m;
    for (auto e : o.milestones) m.push_back(e * steps_per_epoch);
    s = std::make_shared<MultiStepLr>(o.lr, m, o.gamma);
  } else s = std::make_shared<ConstantLr>(o.lr);
  const int64_t warmup = int64_t(std::llround(o.warmup_epochs * double(steps_per_epoch)));
  return warmup > 0 ? std::make_shared<WarmupLr>(s, warmup, 0.0) : s;
}

struct EvalResult {
  double loss = 0, accuracy = 0;
  int64_t samples = 0;
};

EvalResult evaluate(ResNet& model, DataLoader& loader) {
  const bool was_training = model.training();
  model.eval();
  NoGradGuard ng;
  EvalResult r;
  double loss_sum = 0;
  int64_t correct = 0;
  loader.set_state({0, 0});
  while (auto b = loader.next()) {
    Tensor logits = model.forward(b->images);
    loss_sum += cross_entropy(logits, b->labels, 0.0, -100, Reduction::sum).item<float>();
    correct += sum(eq(argmax(logits, 1), b->labels).to(DType::i64)).item<int64_t>();
    r.samples += b->labels.numel();
  }
  model.train(was_training);
  r.loss = r.samples ? loss_sum / double(r.samples) : 0;
  r.accuracy = r.samples ? double(correct) / double(r.samples) : 0;
  return r;
}

// Names the first parameter whose gradient is not finite (for the non-finite-loss report).
std::string first_nonfinite_grad(const Module& model) {
  for (auto& [name, p] : model.named_parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const double s = sum(g.to(DType::f64)).item<double>();
    if (!std::isfinite(s)) return name;
  }
  return "(none: the loss itself is not finite)";
}

std::map<std::string, Tensor> weights_from(const std::string& path) {
  SafeTensorsFile f = SafeTensorsFile::open(path);
  std::map<std::string, Tensor> w;
  for (const auto& e : f.entries())
    if (!e.name.starts_with("optim.")) w[e.name] = f.get(e.name);
  return w;
}

std::string count_str(int64_t n) {
  char buf[32];
  if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", double(n) / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1fK", double(n) / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}
}  // namespace

TrainResult run_train_resnet(const TrainOptions& o) {
  const std::string runtime = setup_runtime(o.threads);
  CHERRY_CHECK(o.device == "cpu", "train_resnet",
               "--device cuda: training on the GPU is not supported yet (the CUDA backend lacks conv/BN kernels); use --device cpu");
  CHERRY_CHECK(!o.eval_only || !o.init_from.empty() || !o.resume.empty(), "train_resnet",
               "--eval-only needs weights: pass --init-from PATH or --resume auto|PATH");
  manual_seed(o.seed);
  Data data = make_data(o);
  const Shape sample = data.train->sample_shape();
  ResNet model(ResNetConfig{o.model, sample[0], data.train->num_classes()}, conv_factory_from(o));
  const NamedPadLayers dynamic_layers = pad_layers(model);
  auto optim = make_optimizer(o, model);

  LoaderOptions lo{o.batch_size, !o.overfit_batch, false, o.seed, o.workers, 4};
  DataLoader train_loader(*data.train, lo);
  DataLoader test_loader(*data.test, LoaderOptions{o.batch_size, false, false, o.seed, o.workers, 4});
  const int64_t steps_per_epoch = train_loader.batches_per_epoch();
  CHERRY_CHECK(steps_per_epoch > 0, "train_resnet", "the training set ", data.train->name(), " is empty");
  auto schedule = make_schedule(o, steps_per_epoch);
  int64_t total_steps = o.epochs * steps_per_epoch;
  if (o.overfit_batch) total_steps = o.max_steps > 0 ? o.max_steps : 200;
  if (o.max_steps > 0) total_steps = std::min(total_steps, o.max_steps);

  // Run directory: resume continues one; otherwise a fresh (or overwritten) one.
  const bool resuming = !o.resume.empty();
  std::string dir = o.run_dir;
  if (dir.empty()) {
    CHERRY_CHECK(!(resuming && o.resume == "auto"), "train_resnet", "--resume auto needs --run-dir (the run to continue)");
    dir = resuming ? fs::path(o.resume).parent_path().parent_path().string() : RunDir::default_path("train_resnet");
  }
  RunDir run(dir, resuming ? RunDir::Mode::resume : o.overwrite ? RunDir::Mode::overwrite : RunDir::Mode::fresh);
  CheckpointManager ckpt(run.checkpoints(), o.keep_last);
  const json config = o.to_json();

  TrainerState st;
  bool loaded_checkpoint = false;
  if (resuming) {
    std::optional<Checkpoint> c;
    std::vector<std::string> skipped;
    if (o.resume == "auto") c = ckpt.load_latest(&skipped);
    else c = load_checkpoint(o.resume);
    for (const auto& s : skipped) std::printf("warning: skipped unreadable checkpoint %s\n", s.c_str());
    if (c) {
      model.load_state_dict(c->model);
      optim->load_state_tensors(c->optim);
      st = c->state;
      default_generator().set_state(st.rng);
      loaded_checkpoint = true;
      std::printf("resumed from %s at step %lld (epoch %lld, batch %lld)\n", c->path.c_str(), static_cast<long long>(st.step),
                  static_cast<long long>(st.epoch + 1), static_cast<long long>(st.batch_in_epoch));
    } else {
      std::printf("no checkpoint in %s yet: starting from scratch\n", run.checkpoints().c_str());
    }
  }
  if (!o.init_from.empty()) {
    LoadReport r = model.load_state_dict(weights_from(o.init_from), false);
    CHERRY_CHECK(r.mismatched.empty() && r.missing.empty(), "train_resnet", "--init-from ", o.init_from, " does not fit ", o.model, ":\n", r.str());
    std::printf("initialised weights from %s%s\n", o.init_from.c_str(), r.unexpected.empty() ? "" : cat(" (ignored ", r.unexpected.size(), " unexpected keys)").c_str());
  }
  train_loader.set_state({uint64_t(st.epoch), st.batch_in_epoch});
  run.write_json("config.json", config);

  std::printf("train_resnet: %s on %s (%s train / %s test, %lldx%lldx%lld)%s\n", o.model.c_str(), data.train->name().c_str(),
              count_str(data.train->size()).c_str(), count_str(data.test->size()).c_str(), static_cast<long long>(sample[0]),
              static_cast<long long>(sample[1]), static_cast<long long>(sample[2]), o.synthetic ? " [synthetic]" : "");
  std::printf("  convs: %s\n", conv_description(o).c_str());
  std::printf("  optimizer: %s lr %g wd %g  schedule: %s  epochs %lld x %lld steps, batch %lld\n",
              o.optimizer.c_str(), o.lr, o.weight_decay, o.schedule.c_str(),
              static_cast<long long>(o.epochs), static_cast<long long>(steps_per_epoch), static_cast<long long>(o.batch_size));
  std::printf("  runtime: %s\n  run dir: %s\n", runtime.c_str(), run.path().c_str());
  std::fflush(stdout);

  TrainResult result{run.path(), st.step, 0, std::max(st.best_metric, 0.0), 0};
  auto write_eval = [&](const EvalResult& e, int64_t epoch) {
    run.write_json("eval_results.json", {{"accuracy", e.accuracy}, {"loss", e.loss}, {"samples", e.samples}, {"epoch", epoch + 1},
                                         {"step", st.step}, {"best_accuracy", std::max(st.best_metric, e.accuracy)}});
    result.final_accuracy = e.accuracy;
    result.final_loss = e.loss;
  };
  // PADNET.md §4: IMP once, before training, on the freshly initialised (or --init-from) network.
  if (o.conv == "pad" && !o.eval_only && !loaded_checkpoint && o.imp_iters > 0 && o.kappa < 1.0) run_imp_before_training(model, *data.train, o, run);
  const nlohmann::json summary = model_summary(model, sample);
  run.write_json("model.json", summary);
  std::printf("  %s\n", model_summary_line(summary).c_str());
  auto export_if_asked = [&] {
    if (o.export_deploy.empty()) return;
    DataLoader check(*data.test, LoaderOptions{std::min<int64_t>(o.batch_size, 32), false, false, o.seed, 0, 1});
    auto b = check.next();
    CHERRY_CHECK(b.has_value(), "train_resnet", "--export-deploy needs at least one test image to check the folded model");
    const nlohmann::json r = export_deployment(model, b->images, o.export_deploy);
    run.write_json("deploy.json", r);
    std::printf("deployment form written to %s: %lld stored values (%lld dynamic + %lld static) vs %lld trainable; max |output diff| %.2e on %lld images\n",
                o.export_deploy.c_str(), r["stored_values"].get<long long>(), r["dynamic_values"].get<long long>(),
                r["static_values"].get<long long>(), r["training_parameters"].get<long long>(), r["max_abs_output_diff"].get<double>(),
                r["check_images"].get<long long>());
  };
  if (o.eval_only) {
    EvalResult e = evaluate(model, test_loader);
    write_eval(e, st.epoch);
    std::printf("eval: loss %.4f  accuracy %.2f%% (%lld samples)\n", e.loss, 100 * e.accuracy, static_cast<long long>(e.samples));
    export_if_asked();
    return result;
  }

  model.train();
  Progress progress(total_steps);
  std::optional<Batch> fixed;  // --overfit-batch
  double epoch_loss = 0;
  int64_t epoch_correct = 0, epoch_samples = 0;
  auto save = [&](bool is_best) {
    st.rng = default_generator().state();
    const LoaderState ls = train_loader.state();
    st.epoch = int64_t(ls.epoch), st.batch_in_epoch = ls.batch;
    ckpt.save(model, optim.get(), st, config, is_best);
  };
  auto end_epoch = [&](int64_t epoch) {
    EvalResult e = evaluate(model, test_loader);
    const bool best = e.accuracy > st.best_metric;
    if (best) st.best_metric = e.accuracy, st.best_step = st.step;
    write_eval(e, epoch);
    run.append_summary({{"epoch", std::to_string(epoch + 1)}, {"step", std::to_string(st.step)},
                        {"train_loss", epoch_samples ? cat(epoch_loss / double(epoch_samples)) : ""},
                        {"train_accuracy", epoch_samples ? cat(double(epoch_correct) / double(epoch_samples)) : ""},
                        {"eval_loss", cat(e.loss)}, {"eval_accuracy", cat(e.accuracy)}, {"lr", cat(optim->lr())}});
    progress.line(cat("eval epoch ", epoch + 1, ": loss ", e.loss, "  accuracy ", 100 * e.accuracy, "%  (best ", 100 * st.best_metric, "%)"));
    epoch_loss = 0, epoch_correct = 0, epoch_samples = 0;
    save(best);
  };

  while (st.step < total_steps) {
    std::optional<Batch> b;
    if (o.overfit_batch) {
      if (!fixed) fixed = train_loader.next();
      b = fixed;
    } else {
      b = train_loader.next();
      if (!b) {  // the loader moved to the next epoch
        end_epoch(int64_t(train_loader.state().epoch) - 1);
        continue;
      }
    }
    const double lr = schedule->lr_at(st.step);
    optim->set_lr(lr);
    if (!dynamic_layers.empty()) set_temperature(model, temperature_at(o, st.step, steps_per_epoch));
    Tensor logits = model.forward(b->images);
    Tensor loss = cross_entropy(logits, b->labels, o.label_smoothing);
    optim->zero_grad();
    loss.backward();
    const double gnorm = o.grad_clip > 0 ? clip_grad_norm(optim->parameters(), o.grad_clip) : grad_norm(optim->parameters());
    const double loss_v = loss.item<float>();
    if (!std::isfinite(loss_v) || !std::isfinite(gnorm)) {
      const std::string where = first_nonfinite_grad(model);
      const std::string crash = run.checkpoints() + cat("/crash-step-", st.step, ".safetensors");
      save_checkpoint(crash, model, optim.get(), st, config);
      throw Error("train_resnet", cat("non-finite ", std::isfinite(loss_v) ? "gradient norm" : "loss", " at step ", st.step,
                                      " (first non-finite gradient: ", where, "); state saved to ", crash, ". Try a lower --lr or --grad-clip"));
    }
    optim->step();
    st.step++;
    {
      NoGradGuard ng;
      epoch_correct += sum(eq(argmax(logits, 1), b->labels).to(DType::i64)).item<int64_t>();
    }
    const int64_t n = b->labels.numel();
    epoch_loss += loss_v * double(n), epoch_samples += n;
    const int64_t epoch = int64_t(train_loader.state().epoch);
    StepStats s = progress.step(st.step, epoch, o.epochs, loss_v, lr, gnorm, n);
    if (st.step % o.log_every == 0 || st.step == total_steps || st.step == 1) {
      progress.print(s, "img/s");
      run.append_metrics({{"step", s.step}, {"epoch", epoch + 1}, {"loss", s.loss}, {"loss_avg", s.loss_avg}, {"lr", lr},
                          {"grad_norm", gnorm}, {"step_ms", s.step_ms}, {"samples_per_s", s.samples_per_s}, {"eta_s", s.eta_s}});
      if (!dynamic_layers.empty()) {
        nlohmann::json d = dynamic_layer_stats(dynamic_layers);
        d["step"] = s.step, d["epoch"] = epoch + 1;
        run.append_jsonl("dynamic.jsonl", d);
      }
    }
    if (o.save_every > 0 && st.step % o.save_every == 0 && st.step < total_steps) save(false);
  }
  // Finished mid-epoch (--max-steps, --overfit-batch) or exactly at an epoch end.
  if (!o.overfit_batch && train_loader.state().batch == train_loader.batches_per_epoch()) {
    (void)train_loader.next();  // consumes the end-of-epoch marker
    end_epoch(int64_t(train_loader.state().epoch) - 1);
  } else {
    end_epoch(int64_t(train_loader.state().epoch));
  }
  result.steps = st.step;
  result.best_accuracy = st.best_metric;
  if (!dynamic_layers.empty()) {
    const nlohmann::json d = dynamic_layer_stats(dynamic_layers);
    run.write_json("dynamic_summary.json", d);
    double ld_min = 1e9, ld_max = -1e9, ent = 0;
    for (const auto& l : d["layers"]) {
      ld_min = std::min(ld_min, l["lambda_d"].get<double>()), ld_max = std::max(ld_max, l["lambda_d"].get<double>());
      ent += l.value("attn_entropy", 0.0) / double(d["layers"].size());
    }
    progress.line(cat("dynamic layers: kappa ", d["kappa"].get<double>(), ", lambda_d in [", ld_min, ", ", ld_max,
                      "], mean attention entropy ", ent, " (1 = uniform); details in dynamic_summary.json"));
  }
  export_if_asked();
  progress.line(cat("done: ", st.step, " steps; final accuracy ", 100 * result.final_accuracy, "%, best ", 100 * st.best_metric,
                    "% (step ", st.best_step, "); run dir ", run.path()));
  return result;
}

}  // namespace cherry
