// train_resnet's PAD-Net steps, kept beside the generic loop: building the conv factory from the
// flags, the per-iteration temperature, IMP before training, the model summary (parameter counts,
// FLOPs) and the deployment export.
#pragma once
#include <nlohmann/json.hpp>

#include "apps/common/run_dir.h"
#include "apps/common/run_records.h"
#include "apps/train_resnet/options.h"
#include "datasets/dataset.h"
#include "models/padnet.h"

namespace cherry {

ConvFactory conv_factory_from(const TrainOptions& o);
std::string conv_description(const TrainOptions& o);  // the banner's "convs:" line
// Linear from temp_start to temp_end over temp_epochs, per step; then temp_end.
double temperature_at(const TrainOptions& o, int64_t step, int64_t steps_per_epoch);

// Runs IMP on `imp_batches` training batches (a loader of its own, so the training data order is
// untouched), writes imp.jsonl and prints one line per iteration. Leaves the model in train mode.
void run_imp_before_training(ResNet& model, const Dataset& train, const TrainOptions& o, RunDir& run);

// Parameter counts and FLOPs per image, as printed in the banner and written to model.json.
ModelSummary resnet_model_summary(ResNet& model, const Shape& sample);
std::string model_summary_line(const ModelSummary& summary);

// Folds the trained model (docs/PADNET.md §5), checks it reproduces the model's eval outputs on
// `check_images`, and saves its state dict. Returns the report printed and written to deploy.json.
nlohmann::json export_deployment(ResNet& model, const Tensor& check_images, const std::string& path);

}  // namespace cherry
