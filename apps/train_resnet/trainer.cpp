// train_resnet: data, model (static, DY-Conv or PAD convs), optimizer and schedule from the
// options, run by the shared training loop (apps/common/train_loop.h) through a ResNetTask.
#include "apps/train_resnet/trainer.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>

#include "apps/common/build_info.h"
#include "apps/common/choices.h"
#include "apps/common/dynamic_audit.h"
#include "apps/common/run_records.h"
#include "apps/common/train_loop.h"
#include "apps/train_resnet/padnet_run.h"
#include "autograd/ops.h"
#include "datasets/fashion_mnist.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "datasets/synthetic.h"
#include "models/resnet.h"
#include "optim/adamw.h"
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
    Shape shape = o.dataset == DatasetKind::fashion_mnist ? Shape{1, 28, 28}
                  : o.dataset == DatasetKind::cifar10     ? Shape{3, 32, 32}
                                                          : Shape{3, o.image_size, o.image_size};
    d.train = std::make_unique<SyntheticDataset>(SyntheticOptions{50000, shape, 10, o.seed});
    d.test = std::make_unique<SyntheticDataset>(SyntheticOptions{10000, shape, 10, o.seed + 1});
  } else if (o.dataset == DatasetKind::fashion_mnist) {
    FashionMnistOptions tr{"train", o.data, o.augment, o.augment ? o.crop_padding : 0}, te{"test", o.data, false, 0};
    d.train = std::make_unique<FashionMnist>(tr);
    d.test = std::make_unique<FashionMnist>(te);
  } else if (o.dataset == DatasetKind::cifar10) {
    d.train = std::make_unique<ImageFolder>(cifar10("train", o.augment, o.data));
    d.test = std::make_unique<ImageFolder>(cifar10("test", false, o.data));
  } else {
    CHERRY_CHECK(!o.data.empty(), "train_resnet", "--dataset imagefolder needs --data DIR holding train/ and val/ (or test/)");
    const std::string eval_split = fs::exists(fs::path(o.data) / "val") ? "val" : "test";
    ImageFolderOptions tr{o.data, "train", o.augment ? ImageTransform::imagenet_train(o.image_size) : ImageTransform::imagenet_eval(o.image_size)};
    auto train = std::make_unique<ImageFolder>(tr);
    ImageFolderOptions te{o.data, eval_split, ImageTransform::imagenet_eval(o.image_size)};
    te.classes = train->class_names();  // labels by the training classes, checked before step 1
    d.train = std::move(train);
    d.test = std::make_unique<ImageFolder>(te);
  }
  if (o.max_train_samples > 0) d.train = std::make_unique<Subset>(std::move(d.train), o.max_train_samples);
  if (o.max_eval_samples > 0) d.test = std::make_unique<Subset>(std::move(d.test), o.max_eval_samples);
  return d;
}

std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& o, const Module& model) {
  auto groups = decay_groups(model.named_parameters(), o.weight_decay, o.no_decay_bn_bias);
  if (o.optimizer == OptimizerKind::adamw) return std::make_unique<AdamW>(groups, AdamWOptions{o.lr});
  return std::make_unique<SGD>(groups, SgdOptions{o.lr, o.momentum, o.nesterov});
}

// Per-step schedule spanning all epochs (not --max-steps, a debugging cap that must not change it).
std::shared_ptr<const LrSchedule> make_schedule(const TrainOptions& o, int64_t steps_per_epoch) {
  const int64_t total = o.epochs * steps_per_epoch;
  std::shared_ptr<const LrSchedule> s;
  if (o.schedule == LrScheduleKind::cosine) s = std::make_shared<CosineLr>(o.lr, total);
  else if (o.schedule == LrScheduleKind::step) s = std::make_shared<StepLr>(o.lr, o.step_size * steps_per_epoch, o.gamma);
  else if (o.schedule == LrScheduleKind::multistep) {
    std::vector<int64_t> m;
    for (auto e : o.milestones) m.push_back(e * steps_per_epoch);
    s = std::make_shared<MultiStepLr>(o.lr, m, o.gamma);
  } else s = std::make_shared<ConstantLr>(o.lr);
  const int64_t warmup = int64_t(std::llround(o.warmup_epochs * double(steps_per_epoch)));
  return warmup > 0 ? std::make_shared<WarmupLr>(s, warmup, 0.0) : s;
}

std::string count_str(int64_t n) {
  char buf[32];
  if (n >= 1000000) std::snprintf(buf, sizeof buf, "%.2fM", double(n) / 1e6);
  else if (n >= 1000) std::snprintf(buf, sizeof buf, "%.1fK", double(n) / 1e3);
  else std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}
// train_resnet's side of the shared loop: image batches, the ResNet, cross-entropy, accuracy.
class ResNetTask final : public TrainTask {
 public:
  ResNetTask(const TrainOptions& o, Data data)
      : o_(o),
        device_(o.device == DeviceType::cuda ? kCUDA : kCPU),
        data_(std::move(data)),
        model_(ResNetConfig{o.model, data_.train->sample_shape()[0], data_.train->num_classes()}, conv_factory_from(o)),
        dynamic_layers_(pad_layers(model_)),
        train_loader_(*data_.train, LoaderOptions{o.batch_size, !o.overfit_batch, false, o.seed, o.workers, 4}),
        test_loader_(*data_.test, LoaderOptions{o.batch_size, false, false, o.seed, o.workers, 4}) {
    // Built (and initialised) on the CPU, so a seed gives the same weights on every device.
    if (device_ != kCPU) model_.to(device_);
  }

  ResNet& resnet() { return model_; }
  Module& model() override { return model_; }
  int64_t steps_per_epoch() const override { return train_loader_.batches_per_epoch(); }
  DataPosition data_position() const override {
    const LoaderState s = train_loader_.state();
    return {int64_t(s.epoch), s.batch};
  }
  void set_data_position(const DataPosition& p) override { train_loader_.set_state({uint64_t(p.epoch), p.batch}); }

  std::optional<TrainBatch> forward_next(int64_t) override {
    std::optional<Batch> b;
    if (o_.overfit_batch) {
      if (!fixed_) fixed_ = train_loader_.next();
      b = fixed_;
    } else {
      b = train_loader_.next();
      if (!b) return std::nullopt;
    }
    const Tensor images = b->images.to(device_), labels = b->labels.to(device_);  // the same tensors on the CPU
    Tensor logits = model_.forward(images);
    TrainBatch r{cross_entropy(logits, labels, o_.label_smoothing), labels.numel(), 0};
    NoGradGuard ng;
    r.correct = sum(eq(argmax(logits, 1), labels).to(DType::i64)).item<int64_t>();
    return r;
  }

  std::optional<TrainBatch> forward_probe(int64_t samples) override {
    Shape shape = data_.train->sample_shape();
    shape.insert(shape.begin(), samples);
    const Tensor images = zeros(shape, DType::f32, device_), labels = zeros({samples}, DType::i64, device_);
    return TrainBatch{cross_entropy(model_.forward(images), labels, o_.label_smoothing), samples, -1};
  }

  Evaluation evaluate() override {
    const bool was_training = model_.training();
    model_.eval();
    NoGradGuard ng;
    double loss_sum = 0;
    int64_t correct = 0, samples = 0;
    test_loader_.set_state({0, 0});
    while (auto b = test_loader_.next()) {
      const Tensor images = b->images.to(device_), labels = b->labels.to(device_);
      Tensor logits = model_.forward(images);
      loss_sum += cross_entropy(logits, labels, 0.0, -100, Reduction::sum).item<float>();
      correct += sum(eq(argmax(logits, 1), labels).to(DType::i64)).item<int64_t>();
      samples += labels.numel();
    }
    model_.train(was_training);
    Evaluation e;
    e.samples = samples;
    e.loss = samples ? loss_sum / double(samples) : 0;
    e.metrics = {{"accuracy", samples ? double(correct) / double(samples) : 0}};
    e.primary = "accuracy";
    return e;
  }

  void on_start(RunDir& run, bool from_checkpoint) override {
    const Shape sample = data_.train->sample_shape();
    std::printf("train_resnet: %s on %s (%s train / %s test, %lldx%lldx%lld)%s\n", o_.model.c_str(), data_.train->name().c_str(),
                count_str(data_.train->size()).c_str(), count_str(data_.test->size()).c_str(), static_cast<long long>(sample[0]),
                static_cast<long long>(sample[1]), static_cast<long long>(sample[2]), o_.synthetic ? " [synthetic]" : "");
    std::printf("  convs: %s\n", conv_description(o_).c_str());
    std::printf("  optimizer: %s lr %g wd %g  schedule: %s  epochs %lld x %lld steps, batch %lld\n", to_string(o_.optimizer).c_str(), o_.lr,
                o_.weight_decay, to_string(o_.schedule).c_str(), static_cast<long long>(o_.epochs), static_cast<long long>(steps_per_epoch()),
                static_cast<long long>(o_.batch_size));
    std::printf("  runtime: %s\n  precision: %s\n  run dir: %s\n", runtime_.c_str(), precision_.c_str(), run.path().c_str());
    std::fflush(stdout);
    // docs/PADNET.md §4: IMP once, before training, on the freshly initialised (or --init-from) network.
    if (o_.conv == ConvKind::pad && !o_.eval_only && !from_checkpoint && o_.imp.iters > 0 && o_.imp.kappa < 1.0)
      run_imp_before_training(model_, *data_.train, o_, run);
    const ModelSummary summary = resnet_model_summary(model_, sample);
    run.write_json("model.json", summary);
    std::printf("  %s\n", model_summary_line(summary).c_str());
  }

  void before_step(int64_t step) override {
    if (!dynamic_layers_.empty()) set_temperature(model_, temperature_at(o_, step, steps_per_epoch()));
  }

  void on_log(RunDir& run, int64_t step, int64_t epoch) override {
    if (dynamic_layers_.empty()) return;
    run.append_jsonl("dynamic.jsonl", DynamicRecord{dynamic_layer_stats(dynamic_layers_), step, epoch, std::nullopt});
  }

  void on_finish(RunDir& run) override {
    if (!dynamic_layers_.empty() && !o_.eval_only) {
      const DynamicSnapshot d = dynamic_layer_stats(dynamic_layers_);
      run.write_json("dynamic_summary.json", d);
      double ld_min = 1e9, ld_max = -1e9, ent = 0;
      for (const LayerStats& l : d.layers) {
        ld_min = std::min(ld_min, *l.lambda_d), ld_max = std::max(ld_max, *l.lambda_d);
        ent += l.attention.entropy.value_or(0.0) / double(d.layers.size());
      }
      std::printf("dynamic layers: kappa %.4f, lambda_d in [%.4f, %.4f], mean attention entropy %.4f (1 = uniform); details in dynamic_summary.json\n",
                  *d.kappa, ld_min, ld_max, ent);
    }
    if (o_.export_deploy.empty()) return;
    if (device_ != kCPU) model_.to(kCPU);  // the deployment form is built and checked on the host
    DataLoader check(*data_.test, LoaderOptions{std::min<int64_t>(o_.batch_size, 32), false, false, o_.seed, 0, 1});
    auto b = check.next();
    CHERRY_CHECK(b.has_value(), "train_resnet", "--export-deploy needs at least one test image to check the folded model");
    const nlohmann::json r = export_deployment(model_, b->images, o_.export_deploy);
    run.write_json("deploy.json", r);
    std::printf("deployment form written to %s: %lld stored values (%lld dynamic + %lld static) vs %lld trainable; max |output diff| %.2e on %lld images\n",
                o_.export_deploy.c_str(), r["stored_values"].get<long long>(), r["dynamic_values"].get<long long>(),
                r["static_values"].get<long long>(), r["training_parameters"].get<long long>(), r["max_abs_output_diff"].get<double>(),
                r["check_images"].get<long long>());
  }

  std::string runtime_, precision_;

 private:
  const TrainOptions& o_;
  Device device_;
  Data data_;
  ResNet model_;
  NamedPadLayers dynamic_layers_;
  DataLoader train_loader_, test_loader_;
  std::optional<Batch> fixed_;  // --overfit-batch
};
}  // namespace

TrainResult run_train_resnet(const TrainOptions& o) {
  const std::string runtime = setup_runtime(o.threads), precision = precision_info(o.precision, o.device);
  CHERRY_CHECK(o.device == DeviceType::cpu || backend_available(DeviceType::cuda), "train_resnet", "--device cuda: no usable CUDA backend (",
               backend_info(DeviceType::cuda), "); use --device cpu");
  CHERRY_CHECK(!o.eval_only || !o.init_from.empty() || !o.resume.empty(), "train_resnet",
               "--eval-only needs weights: pass --init-from PATH or --resume auto|PATH");
  manual_seed(o.seed);
  ResNetTask task(o, make_data(o));
  task.runtime_ = o.device == DeviceType::cpu ? runtime : cat(runtime, "; ", backend_info(DeviceType::cuda));
  task.precision_ = precision;
  auto optim = make_optimizer(o, task.model());
  auto schedule = make_schedule(o, task.steps_per_epoch());
  return run_train_loop(task, *optim, *schedule, loop_options(o, "train_resnet"), o.to_json());
}

}  // namespace cherry
