// train_resnet's configuration: every flag, its default, and the JSON written to config.json.
// The flag names are a contract used by scripts and docs; the flags shared with finetune_bert are
// apps/common/run_flags.h's.
#pragma once
#include <array>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "apps/common/imp_flags.h"
#include "apps/common/run_flags.h"
#include "models/padnet.h"

namespace cherry {

enum class DatasetKind { fashion_mnist, cifar10, imagefolder };
enum class OptimizerKind { sgd, adamw };
enum class LrScheduleKind { cosine, step, multistep, constant };
// Their --dataset, --optimizer and --schedule names (read by apps/common/choices.h).
constexpr std::array<std::pair<DatasetKind, std::string_view>, 3> names_of(DatasetKind) {
  return {{{DatasetKind::fashion_mnist, "fashion-mnist"}, {DatasetKind::cifar10, "cifar10"}, {DatasetKind::imagefolder, "imagefolder"}}};
}
constexpr std::array<std::pair<OptimizerKind, std::string_view>, 2> names_of(OptimizerKind) {
  return {{{OptimizerKind::sgd, "sgd"}, {OptimizerKind::adamw, "adamw"}}};
}
constexpr std::array<std::pair<LrScheduleKind, std::string_view>, 4> names_of(LrScheduleKind) {
  return {{{LrScheduleKind::cosine, "cosine"}, {LrScheduleKind::step, "step"}, {LrScheduleKind::multistep, "multistep"}, {LrScheduleKind::constant, "constant"}}};
}

// The default run: one epoch of PAD-Net on Fashion-MNIST, a few minutes on 2 cores.
struct TrainOptions : RunFlags {
  TrainOptions() : RunFlags{.epochs = 1, .batch_size = 128, .lr = 0.1, .weight_decay = 5e-4, .seed = 0, .log_every = 50, .keep_last = 3} {}

  std::string model = "resnet20";  // resnet20|resnet32|resnet56|resnet18|resnet50 (the model library's names)
  DatasetKind dataset = DatasetKind::fashion_mnist;
  double momentum = 0.9;
  bool nesterov = false;
  bool no_decay_bn_bias = false;
  OptimizerKind optimizer = OptimizerKind::sgd;
  LrScheduleKind schedule = LrScheduleKind::cosine;
  std::vector<int64_t> milestones;  // epochs, for multistep
  int64_t step_size = 30;           // epochs, for step
  double gamma = 0.1;
  double warmup_epochs = 0;
  double label_smoothing = 0.0;
  bool augment = true;
  int64_t crop_padding = 0;  // fashion-mnist: zero-pad and random-crop back (CIFAR always pads 4)
  int64_t image_size = 224;  // imagefolder only
  int workers = 2;

  // PAD-Net (docs/PADNET.md): which convs are dynamic, and how the mask is chosen.
  ConvKind conv = ConvKind::pad;
  int64_t kernels = 4;  // K
  ImpFlags imp;         // --kappa, --imp-*, --no-scale
  int64_t attn_reduction = 4;
  double temp_start = 30, temp_end = 1, temp_epochs = 10;  // linear per-iteration annealing
  DynamicConvImpl dyconv_impl = DynamicConvImpl::grouped;
  std::string export_deploy;  // write the folded model here after training

  nlohmann::json to_json() const;
};

// Parses argv. Returns the options, or an exit code when the program should stop here
// (--help, --version: 0; bad flags: 2, with the message printed).
std::variant<TrainOptions, int> parse_train_options(int argc, char** argv);

}  // namespace cherry
