// PAD-Net for ResNets: the conv factory that makes block and shortcut convs dynamic or PAD
// (docs/PADNET.md §2.6: stem and classifier stay static), and the model-level accounting the apps
// report: static / dynamic / stored parameters, achieved kappa, FLOPs.
#pragma once
#include <array>
#include <string>
#include <string_view>
#include <utility>

#include "layers/dynamic_conv2d.h"
#include "models/resnet.h"

namespace cherry {

enum class ConvKind { static_conv, dynamic, pad };
// train_resnet's --conv names (read by apps/common/choices.h).
constexpr std::array<std::pair<ConvKind, std::string_view>, 3> names_of(ConvKind) {
  return {{{ConvKind::static_conv, "static"}, {ConvKind::dynamic, "dynamic"}, {ConvKind::pad, "pad"}}};
}

// Block and shortcut convs become DynamicConv2d (mode from `kind`); the stem stays a static Conv2d.
ConvFactory padnet_conv_factory(ConvKind kind, const DynamicConvOptions& o);

// Every dynamic layer of a model, by state-dict path.
std::vector<std::pair<std::string, std::shared_ptr<PadLayer>>> pad_layers(const Module& model);
void set_temperature(const Module& model, double tau);

struct ParameterCounts {
  int64_t trainable = 0;  // what training updates
  int64_t dynamic = 0;    // K x dynamic entries of the PAD/DY layers (input-dependent weights)
  int64_t static_ = 0;    // every other stored value: plain layers plus Ws at static entries
  int64_t stored() const { return dynamic + static_; }  // the deployed model's values (docs/PADNET.md §5)
  int64_t dynamic_entries = 0, mask_entries = 0;         // over all PAD/DY layers: kappa = ratio
  double kappa() const { return mask_entries ? double(dynamic_entries) / double(mask_entries) : 0.0; }
};
ParameterCounts count_parameters(const Module& model);

// The deployment form of a trained ResNet: every DynamicConv2d folded into a DeployedConv2d
// (docs/PADNET.md §5), everything else copied. Same outputs in eval mode.
std::shared_ptr<ResNet> deploy_resnet(const ResNet& trained);
// Copies every trained tensor the deployed model has under the same name; the only names allowed
// to be new are the folded tensors (static_dense, index, values).
void copy_unfolded_weights(const Module& trained, Module& deployed);

// Values a deployed model stores (docs/PADNET.md §5): every tensor of its state dict but BN statistics,
// temperatures and the index lists. static_dense is kept dense in the file; its zeros at the dynamic
// positions (one per index entry) are not counted. Equals count_parameters(trained).stored().
int64_t deployed_values(const Module& deployed);
// max |deployed - trained| over two forward outputs; throws unless it is within f32 rounding
// (1e-3 of the largest output, at least 1e-3), so a wrong fold is never saved.
double check_deployed_outputs(const Tensor& trained_out, const Tensor& deployed_out);

// FLOPs of one forward pass of a single input of `sample` shape ([C, H, W]), measured by running it
// in eval mode (conv and matmul work, 2 per multiply-add).
int64_t forward_flops(Layer& model, const Shape& sample);

}  // namespace cherry
