#include "apps/train_resnet/options.h"

#include <CLI/CLI.hpp>

#include "apps/common/build_info.h"
#include "core/error.h"

namespace cherry {

nlohmann::json TrainOptions::to_json() const {
  nlohmann::json j = {{"model", model}, {"dataset", dataset}, {"data", data}, {"epochs", epochs}, {"batch_size", batch_size}, {"lr", lr},
          {"momentum", momentum}, {"nesterov", nesterov}, {"weight_decay", weight_decay}, {"no_decay_bn_bias", no_decay_bn_bias},
          {"optimizer", optimizer}, {"schedule", schedule}, {"milestones", milestones}, {"step_size", step_size}, {"gamma", gamma},
          {"warmup_epochs", warmup_epochs}, {"label_smoothing", label_smoothing}, {"grad_clip", grad_clip}, {"augment", augment}, {"crop_padding", crop_padding},
          {"image_size", image_size}, {"run_dir", run_dir}, {"resume", resume}, {"init_from", init_from}, {"eval_only", eval_only},
          {"seed", seed}, {"threads", threads}, {"device", device}, {"max_steps", max_steps}, {"max_train_samples", max_train_samples},
          {"max_eval_samples", max_eval_samples},
          {"overfit_batch", overfit_batch}, {"synthetic", synthetic}, {"log_every", log_every}, {"save_every", save_every},
          {"keep_last", keep_last}, {"workers", workers}, {"conv", conv}, {"kernels", kernels}, {"attn_reduction", attn_reduction}, {"temp_start", temp_start},
          {"temp_end", temp_end}, {"temp_epochs", temp_epochs}, {"dyconv_impl", dyconv_impl}, {"export_deploy", export_deploy}};
  j.update(imp.to_json());
  return j;
}

std::variant<TrainOptions, int> parse_train_options(int argc, char** argv) {
  TrainOptions o;
  CLI::App app{"train_resnet: train and evaluate ResNets (Cherry). With no arguments: ResNet-20 on Fashion-MNIST, a short run."};
  app.set_version_flag("--version", version_string("train_resnet"));
  app.get_formatter()->column_width(34);
  // CLI11's PositiveNumber prints the whole double range on failure; these say it plainly.
  auto number_check = [](bool allow_zero) {
    return CLI::Validator(
        [allow_zero](std::string& s) -> std::string {
          try {
            const double v = std::stod(s);
            return v > 0 || (allow_zero && v == 0) ? "" : cat("must be ", allow_zero ? "non-negative" : "positive", ", got ", s);
          } catch (const std::exception&) {
            return "not a number: " + s;
          }
        },
        allow_zero ? "NONNEGATIVE" : "POSITIVE");
  };
  const CLI::Validator pos = number_check(false), nonneg = number_check(true);
  app.add_option("--model", o.model, "architecture")->check(CLI::IsMember({"resnet20", "resnet32", "resnet56", "resnet18", "resnet50"}))->capture_default_str();
  app.add_option("--dataset", o.dataset, "dataset")->check(CLI::IsMember({"fashion-mnist", "cifar10", "imagefolder"}))->capture_default_str();
  app.add_option("--data", o.data, "dataset folder (default: the dataset's standard location)");
  app.add_option("--epochs", o.epochs, "training epochs")->check(pos)->capture_default_str();
  app.add_option("--batch-size", o.batch_size, "batch size")->check(pos)->capture_default_str();
  app.add_option("--lr", o.lr, "peak learning rate")->check(pos)->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_flag("--nesterov", o.nesterov, "Nesterov momentum");
  app.add_option("--weight-decay", o.weight_decay, "weight decay")->check(nonneg)->capture_default_str();
  app.add_flag("--no-decay-bn-bias", o.no_decay_bn_bias, "no weight decay on biases and BatchNorm parameters");
  app.add_option("--optimizer", o.optimizer, "optimizer")->check(CLI::IsMember({"sgd", "adamw"}))->capture_default_str();
  app.add_option("--schedule", o.schedule, "LR schedule (per step)")->check(CLI::IsMember({"cosine", "step", "multistep", "constant"}))->capture_default_str();
  app.add_option("--milestones", o.milestones, "epochs where multistep multiplies the LR by gamma")->delimiter(',');
  app.add_option("--step-size", o.step_size, "epochs between step decays")->check(pos)->capture_default_str();
  app.add_option("--gamma", o.gamma, "decay factor of step/multistep")->check(pos)->capture_default_str();
  app.add_option("--warmup-epochs", o.warmup_epochs, "linear warm-up length in epochs")->check(nonneg)->capture_default_str();
  app.add_option("--label-smoothing", o.label_smoothing, "cross-entropy label smoothing")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--grad-clip", o.grad_clip, "clip the global gradient norm (0: off)")->check(nonneg)->capture_default_str();
  app.add_flag("!--no-augment", o.augment, "disable training augmentation");
  app.add_option("--crop-padding", o.crop_padding, "fashion-mnist: random crop after zero padding by this many pixels")
      ->check(nonneg)
      ->capture_default_str();
  app.add_option("--image-size", o.image_size, "crop size for imagefolder")->check(pos)->capture_default_str();
  app.add_option("--run-dir", o.run_dir, "run directory (default: runs/train_resnet-<timestamp>)");
  app.add_flag("--overwrite", o.overwrite, "replace an existing run directory");
  app.add_option("--resume", o.resume, "continue a run: 'auto' (the run directory's newest checkpoint) or a checkpoint path");
  app.add_option("--init-from", o.init_from, "load model weights (not optimizer state) from a checkpoint or state dict");
  app.add_flag("--eval-only", o.eval_only, "evaluate and exit (with --init-from or --resume)");
  app.add_option("--seed", o.seed, "random seed (model init, data order, augmentation)")->capture_default_str();
  app.add_option("--threads", o.threads, "compute threads (0: OpenMP default)")->check(nonneg)->capture_default_str();
  app.add_option("--device", o.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--max-steps", o.max_steps, "stop after this many optimizer steps (0: no cap)")->check(nonneg)->capture_default_str();
  app.add_option("--max-train-samples", o.max_train_samples, "use only the first N training samples (0: all)")->check(nonneg);
  app.add_option("--max-eval-samples", o.max_eval_samples, "evaluate on only the first N test samples (0: all)")->check(nonneg);
  app.add_flag("--overfit-batch", o.overfit_batch, "train on one fixed batch (a debugging aid: loss should go to ~0)");
  app.add_flag("--synthetic", o.synthetic, "random data of the dataset's shape (throughput measurements)");
  app.add_option("--log-every", o.log_every, "steps between progress lines")->check(pos)->capture_default_str();
  app.add_option("--save-every", o.save_every, "steps between checkpoints (0: epoch ends only)")->check(nonneg)->capture_default_str();
  app.add_option("--keep-last", o.keep_last, "step checkpoints to keep")->check(pos)->capture_default_str();
  app.add_option("--workers", o.workers, "data loading threads")->check(nonneg)->capture_default_str();
  auto* pad = app.add_option_group("PAD-Net", "dynamic convolution, PAD and Iterative Mode Partition (docs/PADNET_GUIDE.md)");
  pad->add_option("--conv", o.conv, "block convs: static, dynamic (DY-Conv, kappa = 1) or pad")
      ->check(CLI::IsMember({"static", "dynamic", "pad"}))
      ->capture_default_str();
  pad->add_option("--kernels", o.kernels, "K, kernels per dynamic conv")->check(pos)->capture_default_str();
  add_imp_flags(pad, o.imp);
  pad->add_option("--attn-reduction", o.attn_reduction, "attention hidden width = C_in / r")->check(pos)->capture_default_str();
  pad->add_option("--temp-start", o.temp_start, "attention softmax temperature at step 0")->check(pos)->capture_default_str();
  pad->add_option("--temp-end", o.temp_end, "temperature after annealing")->check(pos)->capture_default_str();
  pad->add_option("--temp-epochs", o.temp_epochs, "epochs of linear temperature annealing (per iteration)")->check(nonneg)->capture_default_str();
  pad->add_option("--dyconv-impl", o.dyconv_impl, "per-sample kernel execution (same numbers, different speed)")
      ->check(CLI::IsMember({"grouped", "kmix"}))
      ->capture_default_str();
  pad->add_option("--export-deploy", o.export_deploy, "after training, write the folded deployment model (safetensors) here");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  if (o.schedule == "multistep" && o.milestones.empty()) {
    std::fprintf(stderr, "--schedule multistep needs --milestones (e.g. --milestones 30,60,90)\n");
    return 2;
  }
  if (o.nesterov && o.momentum <= 0) {
    std::fprintf(stderr, "--nesterov needs --momentum > 0\n");
    return 2;
  }
  return o;
}

}  // namespace cherry
