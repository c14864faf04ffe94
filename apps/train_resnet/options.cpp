#include "apps/train_resnet/options.h"

#include <CLI/CLI.hpp>

#include "apps/common/build_info.h"
#include "apps/common/choices.h"
#include "core/error.h"

namespace cherry {

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = {{"model", model}, {"dataset", to_string(dataset)}, {"momentum", momentum}, {"nesterov", nesterov},
          {"no_decay_bn_bias", no_decay_bn_bias}, {"optimizer", to_string(optimizer)}, {"schedule", to_string(schedule)},
          {"milestones", milestones}, {"step_size", step_size}, {"gamma", gamma}, {"warmup_epochs", warmup_epochs},
          {"label_smoothing", label_smoothing}, {"augment", augment}, {"crop_padding", crop_padding}, {"image_size", image_size},
          {"workers", workers}, {"conv", to_string(conv)}, {"kernels", kernels}, {"attn_reduction", attn_reduction},
          {"temp_start", temp_start}, {"temp_end", temp_end}, {"temp_epochs", temp_epochs}, {"dyconv_impl", to_string(dyconv_impl)},
          {"export_deploy", export_deploy}};
  j.update(RunFlags::to_json());
  j.update(imp.to_json());
  return j;
}

std::variant<TrainOptions, int> parse_train_options(int argc, char** argv) {
  TrainOptions o;
  CLI::App app{"train_resnet: train and evaluate ResNets (Cherry). With no arguments: ResNet-20 on Fashion-MNIST, a short run."};
  app.set_version_flag("--version", version_string("train_resnet"));
  app.get_formatter()->column_width(34);
  app.add_option("--model", o.model, "architecture")->check(CLI::IsMember({"resnet20", "resnet32", "resnet56", "resnet18", "resnet50"}))->capture_default_str();
  add_choice(app, "--dataset", o.dataset, "dataset");
  app.add_option("--data", o.data, "dataset folder (default: the dataset's standard location)");
  app.add_option("--lr", o.lr, "peak learning rate")->check(in_range(0, 10, true))->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(in_range(0, 0.999))->capture_default_str();
  app.add_flag("--nesterov", o.nesterov, "Nesterov momentum");
  app.add_option("--weight-decay", o.weight_decay, "weight decay")->check(in_range(0, 1))->capture_default_str();
  app.add_flag("--no-decay-bn-bias", o.no_decay_bn_bias, "no weight decay on biases and BatchNorm parameters");
  add_choice(app, "--optimizer", o.optimizer, "optimizer");
  add_choice(app, "--schedule", o.schedule, "LR schedule (per step)");
  app.add_option("--milestones", o.milestones, "epochs where multistep multiplies the LR by gamma (each in [1, --epochs])")
      ->delimiter(',')
      ->check(in_range(1, 100000));
  app.add_option("--step-size", o.step_size, "epochs between step decays")->check(in_range(1, 100000))->capture_default_str();
  app.add_option("--gamma", o.gamma, "decay factor of step/multistep")->check(in_range(0, 1, true))->capture_default_str();
  app.add_option("--warmup-epochs", o.warmup_epochs, "linear warm-up length in epochs (at most --epochs)")
      ->check(in_range(0, 100000))
      ->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "cross-entropy label smoothing")->check(in_range(0, 0.999))->capture_default_str();
  app.add_flag("!--no-augment", o.augment, "disable training augmentation");
  app.add_option("--crop-padding", o.crop_padding, "fashion-mnist: random crop after zero padding by this many pixels")
      ->check(in_range(0, 64))
      ->capture_default_str();
  app.add_option("--image-size", o.image_size, "crop size for imagefolder")->check(in_range(8, 1024))->capture_default_str();
  app.add_option("--workers", o.workers, "data loading threads")->check(in_range(0, 64))->capture_default_str();
  add_run_flags(app, o, "train_resnet");
  app.add_flag("--eval-only", o.eval_only, "evaluate and exit (with --init-from or --resume)");
  app.add_option("--seed", o.seed, "random seed (model init, data order, augmentation)")
      ->check(in_range(0, 9007199254740992.0))
      ->capture_default_str();
  app.add_option("--max-train-samples", o.max_train_samples, "use only the first N training samples (0: all)")->check(in_range(0, 1e9));
  app.add_option("--max-eval-samples", o.max_eval_samples, "evaluate on only the first N test samples (0: all)")->check(in_range(0, 1e9));
  app.add_flag("--synthetic", o.synthetic, "random data of the dataset's shape (throughput measurements)");
  auto* pad = app.add_option_group("PAD-Net", "dynamic convolution, PAD and Iterative Mode Partition (docs/PADNET_GUIDE.md)");
  add_choice(*pad, "--conv", o.conv, "block convs: static, dynamic (DY-Conv, kappa = 1) or pad");
  pad->add_option("--kernels", o.kernels, "K, kernels per dynamic conv")->check(in_range(1, 64))->capture_default_str();
  add_imp_flags(pad, o.imp);
  pad->add_option("--attn-reduction", o.attn_reduction, "attention hidden width = C_in / r")
      ->check(in_range(1, 1024))
      ->capture_default_str();
  pad->add_option("--temp-start", o.temp_start, "attention softmax temperature at step 0")
      ->check(in_range(0, 1000, true))
      ->capture_default_str();
  pad->add_option("--temp-end", o.temp_end, "temperature after annealing")->check(in_range(0, 1000, true))->capture_default_str();
  pad->add_option("--temp-epochs", o.temp_epochs, "epochs of linear temperature annealing (per iteration)")
      ->check(in_range(0, 100000))
      ->capture_default_str();
  add_choice(*pad, "--dyconv-impl", o.dyconv_impl, "per-sample kernel execution (same numbers, different speed)");
  pad->add_option("--export-deploy", o.export_deploy, "after training, write the folded deployment model (safetensors) here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (o.schedule == LrScheduleKind::multistep && o.milestones.empty()) {
    std::fprintf(stderr, "--schedule multistep needs --milestones (e.g. --milestones 30,60,90)\n");
    return 2;
  }
  if (o.nesterov && o.momentum <= 0) {
    std::fprintf(stderr, "--nesterov needs --momentum > 0\n");
    return 2;
  }
  for (int64_t m : o.milestones)
    if (m > o.epochs) {
      std::fprintf(stderr, "--milestones %lld is after the last epoch (--epochs %lld)\n", static_cast<long long>(m),
                   static_cast<long long>(o.epochs));
      return 2;
    }
  if (o.warmup_epochs > double(o.epochs)) {
    std::fprintf(stderr, "--warmup-epochs %g exceeds --epochs %lld\n", o.warmup_epochs, static_cast<long long>(o.epochs));
    return 2;
  }
  if (!o.imp.consistent(o.conv == ConvKind::pad) || !run_flags_consistent(o)) return 2;
  return o;
}

}  // namespace cherry
