#include "models/resnet.h"

#include "autograd/ops.h"
#include "layers/init.h"

namespace cherry {

namespace {
Conv2dOptions conv_options(int64_t in, int64_t out, int64_t k, int64_t stride) {
  Conv2dOptions o;
  o.in_channels = in, o.out_channels = out, o.kernel_size = k, o.stride = stride, o.padding = k / 2, o.bias = false;
  return o;
}

// 1x1 conv + BN when the shape changes, named "downsample" as in torchvision.
std::shared_ptr<Layer> make_downsample(int64_t in, int64_t out, int64_t stride, const ConvFactory& conv) {
  if (stride == 1 && in == out) return nullptr;
  return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{conv(conv_options(in, out, 1, stride), ConvRole::shortcut),
                                                                         std::make_shared<BatchNorm2d>(out)});
}

struct ArchSpec {
  bool imagenet, bottleneck;
  std::vector<int64_t> blocks, widths;
};
ArchSpec arch_spec(const std::string& arch) {
  if (arch == "resnet20") return {false, false, {3, 3, 3}, {16, 32, 64}};
  if (arch == "resnet32") return {false, false, {5, 5, 5}, {16, 32, 64}};
  if (arch == "resnet56") return {false, false, {9, 9, 9}, {16, 32, 64}};
  if (arch == "resnet18") return {true, false, {2, 2, 2, 2}, {64, 128, 256, 512}};
  if (arch == "resnet50") return {true, true, {3, 4, 6, 3}, {64, 128, 256, 512}};
  throw Error("ResNet", cat("unknown architecture '", arch, "' (expected resnet20, resnet32, resnet56, resnet18 or resnet50)"));
}
}  // namespace

ConvFactory static_conv_factory() {
  return [](const Conv2dOptions& o, ConvRole) {
    auto c = std::make_shared<Conv2d>(o);
    c->weight.set_data(init::kaiming_normal(o.weight_shape(), true));
    return c;
  };
}

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride, const ConvFactory& conv) {
  conv1_ = register_module("conv1", conv(conv_options(in, out, 3, stride), ConvRole::block));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(out));
  conv2_ = register_module("conv2", conv(conv_options(out, out, 3, 1), ConvRole::block));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(out));
  if (auto d = make_downsample(in, out, stride, conv)) downsample_ = register_module("downsample", d);
}

Tensor BasicBlock::forward(const Tensor& x) {
  Tensor h = relu(bn1_->forward(conv1_->forward(x)));
  h = bn2_->forward(conv2_->forward(h));
  return relu(h + (downsample_ ? downsample_->forward(x) : x));
}

Bottleneck::Bottleneck(int64_t in, int64_t width, int64_t stride, const ConvFactory& conv) {
  const int64_t out = width * kExpansion;
  conv1_ = register_module("conv1", conv(conv_options(in, width, 1, 1), ConvRole::block));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(width));
  conv2_ = register_module("conv2", conv(conv_options(width, width, 3, stride), ConvRole::block));
  bn2_ = register_module("bn2", std::make_shared<BatchNorm2d>(width));
  conv3_ = register_module("conv3", conv(conv_options(width, out, 1, 1), ConvRole::block));
  bn3_ = register_module("bn3", std::make_shared<BatchNorm2d>(out));
  if (auto d = make_downsample(in, out, stride, conv)) downsample_ = register_module("downsample", d);
}

Tensor Bottleneck::forward(const Tensor& x) {
  Tensor h = relu(bn1_->forward(conv1_->forward(x)));
  h = relu(bn2_->forward(conv2_->forward(h)));
  h = bn3_->forward(conv3_->forward(h));
  return relu(h + (downsample_ ? downsample_->forward(x) : x));
}

bool ResNet::known_arch(const std::string& arch) {
  for (const char* a : {"resnet20", "resnet32", "resnet56", "resnet18", "resnet50"})
    if (arch == a) return true;
  return false;
}

ResNet::ResNet(const ResNetConfig& config, const ConvFactory& conv) : config_(config) {
  const ArchSpec spec = arch_spec(config.arch);
  CHERRY_CHECK(config.in_channels > 0 && config.num_classes > 0, "ResNet", "in_channels and num_classes must be positive");
  imagenet_stem_ = spec.imagenet;
  const int64_t stem = spec.widths[0];
  Conv2dOptions s = conv_options(config.in_channels, stem, spec.imagenet ? 7 : 3, spec.imagenet ? 2 : 1);
  conv1_ = register_module("conv1", conv(s, ConvRole::stem));
  bn1_ = register_module("bn1", std::make_shared<BatchNorm2d>(stem));
  int64_t in = stem;
  for (size_t i = 0; i < spec.blocks.size(); ++i) {
    auto stage = std::make_shared<Sequential>();
    for (int64_t b = 0; b < spec.blocks[i]; ++b) {
      const int64_t stride = (b == 0 && i > 0) ? 2 : 1;
      if (spec.bottleneck) {
        auto block = std::make_shared<Bottleneck>(in, spec.widths[i], stride, conv);
        if (config.zero_init_residual) block->last_bn()->weight.zero_();
        stage->push_back(block);
        in = spec.widths[i] * Bottleneck::kExpansion;
      } else {
        auto block = std::make_shared<BasicBlock>(in, spec.widths[i], stride, conv);
        if (config.zero_init_residual) block->last_bn()->weight.zero_();
        stage->push_back(block);
        in = spec.widths[i];
      }
    }
    stages_.push_back(register_module(cat("layer", i + 1), stage));
  }
  fc_ = register_module("fc", std::make_shared<Linear>(in, config.num_classes));
}

Tensor ResNet::forward(const Tensor& x) {
  CHERRY_CHECK(x.dim() == 4 && x.size(1) == config_.in_channels, "ResNet", "expected (N, ", config_.in_channels, ", H, W) input, got ",
               x.describe());
  Tensor h = relu(bn1_->forward(conv1_->forward(x)));
  if (imagenet_stem_) {
    Pool2dParams p;
    p.kernel[0] = p.kernel[1] = 3, p.stride[0] = p.stride[1] = 2, p.padding[0] = p.padding[1] = 1;
    h = max_pool2d(h, p);
  }
  if (config_.channel_blocks && has_channel_blocks(h)) h = to_channel_blocks(h);  // every stage width is a multiple of 16
  for (auto& stage : stages_) h = stage->forward(h);
  return fc_->forward(channel_means(h));
}

}  // namespace cherry
