// train_resnet's configuration: every flag, its default, and the JSON written to config.json.
// The flag names are a contract used by scripts and docs.
#pragma once
#include <nlohmann/json.hpp>

#include "apps/common/imp_flags.h"
#include <optional>
#include <variant>
#include <string>
#include <vector>

namespace cherry {

struct TrainOptions {
  std::string model = "resnet20";       // resnet20|resnet32|resnet56|resnet18|resnet50
  std::string dataset = "fashion-mnist";  // fashion-mnist|cifar10|imagefolder
  std::string data;                     // dataset folder ("" = the dataset's default)
  int64_t epochs = 1;  // the default run: one epoch of PAD-Net on Fashion-MNIST, a few minutes on 2 cores
  int64_t batch_size = 128;
  double lr = 0.1;
  double momentum = 0.9;
  bool nesterov = false;
  double weight_decay = 5e-4;
  bool no_decay_bn_bias = false;
  std::string optimizer = "sgd";  // sgd|adamw
  std::string schedule = "cosine";  // cosine|step|multistep|constant
  std::vector<int64_t> milestones;  // epochs, for multistep
  int64_t step_size = 30;           // epochs, for step
  double gamma = 0.1;
  double warmup_epochs = 0;
  double label_smoothing = 0.0;
  double grad_clip = 0.0;  // 0 = off
  bool augment = true;
  int64_t crop_padding = 0;  // fashion-mnist: zero-pad and random-crop back (CIFAR always pads 4)
  int64_t image_size = 224;  // imagefolder only
  std::string run_dir;       // "" = runs/train_resnet-<timestamp>
  bool overwrite = false;
  std::string resume;     // "", "auto" or a checkpoint path
  std::string init_from;  // weights only
  bool eval_only = false;
  uint64_t seed = 0;
  int threads = 0;  // 0 = OpenMP default
  std::string device = "cpu";
  int64_t max_steps = 0;           // 0 = no cap (the LR schedule still spans all epochs)
  int64_t max_train_samples = 0;   // 0 = all
  int64_t max_eval_samples = 0;    // 0 = all
  bool overfit_batch = false;
  bool synthetic = false;
  int64_t log_every = 50;
  int64_t save_every = 0;  // steps; 0 = at epoch ends only
  int keep_last = 3;
  int workers = 2;

  // PAD-Net (docs/PADNET.md): which convs are dynamic, and how the mask is chosen.
  std::string conv = "pad";  // static|dynamic|pad
  int64_t kernels = 4;       // K
  ImpFlags imp;              // --kappa, --imp-*, --no-scale
  int64_t attn_reduction = 4;
  double temp_start = 30, temp_end = 1, temp_epochs = 10;  // linear per-iteration annealing
  std::string dyconv_impl = "grouped";                     // grouped|kmix
  std::string export_deploy;                               // write the folded model here after training

  nlohmann::json to_json() const;
};

// Parses argv. Returns the options, or an exit code when the program should stop here
// (--help, --version: 0; bad flags: 2, with the message printed).
std::variant<TrainOptions, int> parse_train_options(int argc, char** argv);

}  // namespace cherry
