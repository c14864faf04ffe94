// ResNets: CIFAR-style ResNet-20/32/56 (He et al. 2016: 3x3 stem, stages of 16/32/64 channels,
// 1x1 projection shortcuts) and ImageNet-style ResNet-18/50 with torchvision's state-dict names
// (v1.5: the bottleneck strides on its 3x3 conv). Every conv is built through a ConvFactory, so
// a later issue can make block convs dynamic or PAD without touching this file.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/sequential.h"

namespace cherry {

// Where a conv sits: the stem and classifier stay static in PAD-Net; block and shortcut convs
// are the candidates for dynamic convolution.
enum class ConvRole { stem, block, shortcut };
using ConvFactory = std::function<std::shared_ptr<Layer>(const Conv2dOptions&, ConvRole)>;
ConvFactory static_conv_factory();  // plain Conv2d, He-normal (fan_out) init as torchvision

struct ResNetConfig {
  std::string arch = "resnet20";  // resnet20|resnet32|resnet56|resnet18|resnet50
  int64_t in_channels = 3;
  int64_t num_classes = 10;
  bool zero_init_residual = false;  // last BN of each block starts at 0 (a common recipe flag)
  // Run the stages in channel blocks (ops.h) where the backend has them: no layout conversion
  // between oneDNN's convolutions. Same results up to float rounding; false runs NCHW throughout.
  bool channel_blocks = true;
};

class BasicBlock : public Layer {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride, const ConvFactory& conv);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "BasicBlock"; }
  std::shared_ptr<BatchNorm2d> last_bn() const { return bn2_; }

 private:
  std::shared_ptr<Layer> conv1_, conv2_, downsample_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_;
};

class Bottleneck : public Layer {
 public:
  static constexpr int64_t kExpansion = 4;
  Bottleneck(int64_t in, int64_t width, int64_t stride, const ConvFactory& conv);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Bottleneck"; }
  std::shared_ptr<BatchNorm2d> last_bn() const { return bn3_; }

 private:
  std::shared_ptr<Layer> conv1_, conv2_, conv3_, downsample_;
  std::shared_ptr<BatchNorm2d> bn1_, bn2_, bn3_;
};

class ResNet : public Layer {
 public:
  explicit ResNet(const ResNetConfig& config, const ConvFactory& conv = static_conv_factory());
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "ResNet"; }
  std::string extra_repr() const override { return config_.arch; }
  const ResNetConfig& config() const { return config_; }
  static bool known_arch(const std::string& arch);

 private:
  ResNetConfig config_;
  bool imagenet_stem_;
  std::shared_ptr<Layer> conv1_;
  std::shared_ptr<BatchNorm2d> bn1_;
  std::vector<std::shared_ptr<Sequential>> stages_;
  std::shared_ptr<Linear> fc_;
};

}  // namespace cherry
