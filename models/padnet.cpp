#include "models/padnet.h"

#include <algorithm>

#include "autograd/flops.h"
#include "autograd/ops.h"
#include "layers/deployed_conv2d.h"
#include "layers/init.h"

namespace cherry {

ConvFactory padnet_conv_factory(ConvKind kind, const DynamicConvOptions& o) {
  if (kind == ConvKind::static_conv) return static_conv_factory();
  DynamicConvOptions opts = o;
  opts.pad.mode = kind == ConvKind::pad ? DynamicMode::pad : DynamicMode::dynamic;
  return [opts, stat = static_conv_factory()](const Conv2dOptions& c, ConvRole role) -> std::shared_ptr<Layer> {
    if (role == ConvRole::stem) return stat(c, role);
    return std::make_shared<DynamicConv2d>(c, opts);
  };
}

std::vector<std::pair<std::string, std::shared_ptr<PadLayer>>> pad_layers(const Module& model) {
  return model.modules_of_type<PadLayer>();
}

void set_temperature(const Module& model, double tau) {
  for (auto& [name, conv] : model.modules_of_type<DynamicConv2d>()) conv->set_temperature(tau);
}

ParameterCounts count_parameters(const Module& model) {
  ParameterCounts c;
  c.trainable = model.num_parameters();
  int64_t in_pad = 0;
  for (auto& [name, l] : pad_layers(model)) {
    const int64_t d = l->dynamic_entries();
    c.dynamic += l->num_factors() * d;
    c.static_ += l->stored_values() - l->num_factors() * d;
    c.dynamic_entries += d, c.mask_entries += l->weight_numel();
    in_pad += l->factors.numel() + (l->static_weight.defined() ? l->static_weight.numel() : 0) + (l->phi.defined() ? 1 : 0) +
              l->training_only_values();
  }
  c.static_ += c.trainable - in_pad;  // everything outside the PAD tensors (attention, BN, stem, fc); phi folds away
  return c;
}

std::shared_ptr<ResNet> deploy_resnet(const ResNet& trained) {
  auto convs = trained.modules_of_type<DynamicConv2d>();
  size_t next = 0;
  ConvFactory factory = [&, stat = static_conv_factory()](const Conv2dOptions& c, ConvRole role) -> std::shared_ptr<Layer> {
    if (role == ConvRole::stem) return stat(c, role);
    CHERRY_CHECK(next < convs.size(), "deploy", "the trained model has fewer dynamic convs than its architecture");
    return std::make_shared<DeployedConv2d>(*convs[next++].second);
  };
  auto deployed = std::make_shared<ResNet>(trained.config(), factory);
  copy_unfolded_weights(trained, *deployed);
  return deployed;
}

void copy_unfolded_weights(const Module& trained, Module& deployed) {
  std::map<std::string, Tensor> rest;
  for (auto& [name, t] : trained.state_dict()) rest[name] = t;
  LoadReport r = deployed.load_state_dict(rest, false);
  CHERRY_CHECK(r.mismatched.empty(), "deploy", "shapes differ between the trained and deployed model:\n", r.str());
  for (const auto& m : r.missing)
    CHERRY_CHECK(m.ends_with(".static_dense") || m.ends_with(".index") || m.ends_with(".values"), "deploy", "no trained value for ", m);
  deployed.train(trained.training());
}

int64_t deployed_values(const Module& deployed) {
  int64_t n = 0;
  for (auto& [name, t] : deployed.state_dict())
    if (name.ends_with(".index")) n -= t.numel();
    else if (!name.ends_with("running_mean") && !name.ends_with("running_var") && !name.ends_with("num_batches_tracked") &&
             !name.ends_with(".temperature"))
      n += t.numel();
  return n;
}

double check_deployed_outputs(const Tensor& trained_out, const Tensor& deployed_out) {
  NoGradGuard ng;
  const double diff = amax(abs(deployed_out - trained_out)).item<float>();
  const double tol = 1e-3 * std::max(1.0, double(amax(abs(trained_out)).item<float>()));
  CHERRY_CHECK(diff <= tol, "deploy", "the folded model's outputs differ from the trained model's by ", diff, " (tolerance ", tol,
               "): the fold is wrong, nothing was written");
  return diff;
}

int64_t forward_flops(Layer& model, const Shape& sample) {
  const bool was_training = model.training();
  model.eval();
  Shape s = sample;
  s.insert(s.begin(), 1);
  NoGradGuard ng;
  FlopCounter counter;
  model.forward(zeros(s, model.parameters().front().dtype(), model.parameters().front().device()));
  model.train(was_training);
  return counter.total();
}

}  // namespace cherry
