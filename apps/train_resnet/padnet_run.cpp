#include "apps/train_resnet/padnet_run.h"

#include <algorithm>
#include <cstdio>

#include "apps/common/choices.h"
#include "apps/common/dynamic_audit.h"
#include "apps/common/run_records.h"
#include "autograd/ops.h"
#include "core/safetensors.h"
#include "datasets/loader.h"
#include "layers/deployed_conv2d.h"
#include "layers/imp.h"

namespace cherry {

ConvFactory conv_factory_from(const TrainOptions& o) {
  DynamicConvOptions d;
  d.kernels = o.kernels;
  d.pad.scale = !o.imp.no_scale;
  d.attn_reduction = o.attn_reduction;
  d.temperature = o.temp_start;
  d.impl = o.dyconv_impl;
  return padnet_conv_factory(o.conv, d);
}

std::string conv_description(const TrainOptions& o) {
  if (o.conv == ConvKind::static_conv) return to_string(o.conv);
  std::string s = cat(to_string(o.conv), " (K=", o.kernels, ", attention C_in/", o.attn_reduction);
  if (o.conv == ConvKind::pad)
    s += ", " + o.imp.describe();
  return s + cat(", tau ", o.temp_start, " -> ", o.temp_end, " over ", o.temp_epochs, " epochs, ", to_string(o.dyconv_impl), " execution)");
}

double temperature_at(const TrainOptions& o, int64_t step, int64_t steps_per_epoch) {
  const double span = o.temp_epochs * double(steps_per_epoch);
  if (span <= 0 || double(step) >= span) return o.temp_end;
  return o.temp_start + (o.temp_end - o.temp_start) * double(step) / span;
}

void run_imp_before_training(ResNet& model, const Dataset& train, const TrainOptions& o, RunDir& run) {
  ImpOptions io = o.imp.options(o.seed);
  // Scoring batches: the first imp_batches of a shuffled pass with a seed of their own.
  std::vector<Batch> batches;
  if (io.scorer == ImpScorer::grad) {
    DataLoader loader(train, LoaderOptions{o.batch_size, true, false, o.seed ^ 0x1395u, o.workers, 2});
    while (int64_t(batches.size()) < io.batches) {
      auto b = loader.next();
      if (!b) break;
      batches.push_back(std::move(*b));
    }
    io.batches = int64_t(batches.size());
  }
  model.eval();  // docs/PADNET.md §4: scores with the current M, model in eval mode
  const Device device = model.parameters().front().device();
  auto loss_of_batch = [&](int64_t i) {
    const Batch& b = batches[size_t(i)];
    // The training loss, label smoothing included (as the official code's IMP loss).
    return cross_entropy(model.forward(b.images.to(device)), b.labels.to(device), o.label_smoothing);
  };
  auto report = run_imp(pad_layers(model), io, loss_of_batch);
  model.zero_grad();
  model.train();
  for (const auto& it : report) {
    run.append_jsonl("imp.jsonl", imp_record(it, io, 0));  // before training
    int64_t flips = 0;
    for (const auto& l : it.layers) flips += l.flips;
    std::printf("  IMP %lld/%lld (%s, %s): target kappa %.4f, achieved %.4f, %lld mask flips\n", static_cast<long long>(it.iteration),
                static_cast<long long>(io.iterations), to_string(o.imp.scorer).c_str(), to_string(o.imp.scope).c_str(), it.target_kappa, it.achieved_kappa,
                static_cast<long long>(flips));
  }
  std::fflush(stdout);
}

namespace {
std::string fixed3(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", v);
  return buf;
}
}  // namespace

ModelSummary resnet_model_summary(ResNet& model, const Shape& sample) {
  ModelSummary s = model_summary(count_parameters(model), int64_t(pad_layers(model).size()));
  s.flops_per_image = forward_flops(model, sample);
  // The deployment form (built on the host) folds dynamic convs: a static network is its own.
  if (!pad_layers(model).empty() && model.parameters().front().device() == kCPU) {
    auto deployed = deploy_resnet(model);
    s.deployed_flops_per_image = forward_flops(*deployed, sample);
    int64_t bytes = 0;
    for (auto& [name, t] : deployed->state_dict()) bytes += t.numel() * int64_t(dtype_size(t.dtype()));
    s.deployed_bytes = bytes;
  }
  return s;
}

std::string model_summary_line(const ModelSummary& s) {
  std::string line = cat("parameters: ", fixed3(double(*s.trainable) / 1e6), "M trainable; stored ", fixed3(double(*s.stored) / 1e6), "M = ",
                         fixed3(double(*s.static_) / 1e6), "M static + ", fixed3(double(*s.dynamic) / 1e6), "M dynamic (kappa ",
                         fixed3(*s.kappa), " over ", *s.dynamic_layers, " layers) + ", fixed3(double(*s.index_entries) / 1e6),
                         "M index entries; ", fixed3(double(*s.flops_per_image) / 1e6), " MFLOPs/image");
  if (s.deployed_flops_per_image)
    line += cat("; deployed: ", fixed3(double(*s.deployed_flops_per_image) / 1e6), " MFLOPs/image, ",
                fixed3(double(*s.deployed_bytes) / 1048576.0), " MiB");
  return line;
}

nlohmann::json export_deployment(ResNet& model, const Tensor& check_images, const std::string& path) {
  const bool was_training = model.training();
  model.eval();
  auto deployed = deploy_resnet(model);
  deployed->eval();
  NoGradGuard ng;
  const double diff = check_deployed_outputs(model.forward(check_images), deployed->forward(check_images));
  model.train(was_training);
  const int64_t stored = deployed_values(*deployed);
  const ParameterCounts c = count_parameters(model);
  CHERRY_CHECK(stored == c.stored(), "deploy", "the folded model stores ", stored, " values, the accounting says ", c.stored());
  save_safetensors(path, deployed->state_dict(), {{"format", "cherry-padnet-deploy"}, {"arch", model.config().arch}});
  return {{"path", path}, {"stored_values", stored}, {"training_parameters", c.trainable}, {"dynamic_values", c.dynamic},
          {"static_values", c.static_}, {"kappa", c.kappa()}, {"max_abs_output_diff", diff}, {"check_images", check_images.size(0)}};
}

}  // namespace cherry
