// ResNets: torchvision's state-dict names and shapes for ResNet-18/50, their eval-mode forward on
// formula-filled weights against torchvision's (scripts/make_resnet_fixture.py), the CIFAR
// ResNet-20/32/56 parameter counts of He et al., the conv factory seeing every conv, and the
// channel-blocks layout giving the NCHW network's outputs and gradients.
#include <nlohmann/json.hpp>

#include "core/rng.h"
#include "core/safetensors.h"
#include "models/padnet.h"
#include "models/resnet.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

uint64_t splitmix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// The fixture script's formula, entry k of the state dict.
Tensor formula(uint64_t k, const std::string& name, const Shape& shape) {
  const int64_t n = numel_of(shape);
  std::vector<double> v(static_cast<size_t>(n));
  auto ends = [&](const char* s) { return name.size() >= strlen(s) && name.compare(name.size() - strlen(s), std::string::npos, s) == 0; };
  for (int64_t i = 0; i < n; ++i) {
    const double u = double(splitmix64((k << 32) | uint64_t(i)) >> 11) * 0x1.0p-53 * 2 - 1;
    if (ends("running_var")) v[size_t(i)] = 1 + 0.5 * std::abs(u);
    else if (ends("running_mean") || ends("bias")) v[size_t(i)] = 0.1 * u;
    else if (shape.size() == 1) v[size_t(i)] = 1 + 0.2 * u;
    else v[size_t(i)] = u * std::sqrt(3.0) * std::sqrt(2.0 / double(n / shape[0]));
  }
  return from_vector<double>(v, shape).to(DType::f32);
}

void check_against_torchvision(const std::string& arch) {
  SafeTensorsFile f = SafeTensorsFile::open(std::string(CHERRY_FIXTURES_DIR) + "/golden_resnet.safetensors");
  auto keys = nlohmann::json::parse(f.metadata().at(arch + ".keys"));
  ResNet model(ResNetConfig{arch, 3, 10});
  NamedTensors sd = model.state_dict();
  REQUIRE(sd.size() == keys.size());
  std::map<std::string, Tensor> filled;
  for (size_t k = 0; k < sd.size(); ++k) {
    CAPTURE(k);
    CHECK(sd[k].first == keys[k][0].get<std::string>());
    CHECK(sd[k].second.shape() == keys[k][1].get<Shape>());
    filled[sd[k].first] = sd[k].first.ends_with("num_batches_tracked") ? zeros({}, DType::i64) : formula(k, sd[k].first, sd[k].second.shape());
  }
  model.load_state_dict(filled);
  model.eval();
  NoGradGuard ng;
  CHECK_CLOSE(model.forward(f.get("x")), f.get(arch + ".logits"), 1e-4, 1e-4);
}

}  // namespace

TEST_CASE("golden: ResNet-18 matches torchvision (names, shapes, eval forward)") { check_against_torchvision("resnet18"); }
TEST_CASE("golden: ResNet-50 (bottleneck v1.5) matches torchvision") { check_against_torchvision("resnet50"); }

TEST_CASE("CIFAR ResNets have He et al.'s depth and parameter counts, and 1-channel 28x28 input works") {
  // 0.27M / 0.46M / 0.85M parameters (with 1x1 projection shortcuts: slightly above option A's).
  for (auto [arch, blocks, lo, hi] : {std::tuple{"resnet20", 3, 0.26e6, 0.28e6}, {"resnet32", 5, 0.46e6, 0.48e6}, {"resnet56", 9, 0.85e6, 0.87e6}}) {
    const std::string name = arch;  // clang 14 cannot capture a structured binding
    CAPTURE(name);
    ResNet m(ResNetConfig{arch, 3, 10});
    CHECK(m.num_parameters() > lo);
    CHECK(m.num_parameters() < hi);
    int convs = 0;
    for (auto& [n, t] : m.named_parameters())
      if (t.dim() == 4) ++convs;
    CHECK(convs == 1 + 3 * 2 * blocks + 2);  // stem + two per block + two projection shortcuts
  }
  ResNet fm(ResNetConfig{"resnet20", 1, 10});
  fm.eval();
  NoGradGuard ng;
  CHECK(fm.forward(randn({2, 1, 28, 28})).shape() == Shape{2, 10});
}

TEST_CASE("the conv factory builds every conv and knows its role") {
  std::map<ConvRole, int> roles;
  ConvFactory base = static_conv_factory();
  ResNet m(ResNetConfig{"resnet20", 3, 10}, [&](const Conv2dOptions& o, ConvRole r) {
    roles[r]++;
    return base(o, r);
  });
  CHECK(roles[ConvRole::stem] == 1);
  CHECK(roles[ConvRole::block] == 18);
  CHECK(roles[ConvRole::shortcut] == 2);
  CHECK_THROWS_AS(ResNet(ResNetConfig{"resnet19", 3, 10}), Error);
}

TEST_CASE("channel blocks hold channel c at [n, c/16, h, w, c%16], under the logical shape") {
  Tensor x = randn({2, 32, 3, 4});
  Tensor b = to_channel_blocks(x);
  CHECK(b.shape() == Shape{2, 32, 3, 4});
  CHECK(b.memory_format() == MemoryFormat::channel_blocks);
  const float* raw = static_cast<const float*>(b.raw_data());
  for (auto [n, c, h, w] : {std::tuple{0, 0, 0, 0}, {1, 17, 2, 3}, {0, 31, 1, 2}, {1, 15, 0, 1}})
    CHECK(raw[(((n * 2 + c / 16) * 3 + h) * 4 + w) * 16 + c % 16] == x.at<float>({n, c, h, w}));
  CHECK(from_channel_blocks(b).to_vector<float>() == x.to_vector<float>());
  CHECK(b.to_vector<float>() == x.to_vector<float>());  // reads in logical order
  CHECK_THROWS_WITH_AS(b.strides(), doctest::Contains("no strides"), Error);
  const Tensor one_image = b.view({1, 64, 3, 4});  // whole blocks move from batch to channels: no copy
  CHECK((one_image.is_channel_blocks() && one_image.raw_data() == b.raw_data()));
  CHECK(b.view({2, 32, 12}).memory_format() == MemoryFormat::strided);  // any other view reads a strided copy
  CHECK(b.view({2, 32, 12}).to_vector<float>() == x.to_vector<float>());
  CHECK_CLOSE(channel_means(b), mean(x, {2, 3}), 1e-6, 1e-6);
  CHECK_THROWS_WITH_AS(to_channel_blocks(randn({2, 24, 3, 3})), doctest::Contains("multiple of 16"), Error);
  CHECK(conv2d(b, randn({24, 32, 3, 3})).memory_format() == MemoryFormat::strided);  // 24 channels cannot be blocks
}

TEST_CASE("channel blocks: a strided leaf gets a strided gradient, and indexing ops take channel blocks") {
  Tensor p = randn({1, 16, 2, 2}).set_requires_grad(true);
  const Tensor x = randn({1, 16, 2, 2}), b = to_channel_blocks(x);
  sum((b + p) * 2.0).backward();  // add's backward passes the blocked gradient through unchanged
  REQUIRE(p.grad().memory_format() == MemoryFormat::strided);
  CHECK(p.grad().to_vector<float>() == std::vector<float>(64, 2.0f));
  CHECK_NOTHROW(p.grad().arg());  // what the optimizers read
  const Tensor idx = from_vector<int64_t>({3, 3, 0}, {3}), src = randn({1, 3, 2, 2});
  CHECK(index_add(b, 1, idx, src).to_vector<float>() == index_add(x, 1, idx, src).to_vector<float>());
  const Tensor gidx = from_vector<int64_t>(std::vector<int64_t>(64, 1), {1, 16, 2, 2});
  CHECK(scatter_add(b, 1, gidx, x).to_vector<float>() == scatter_add(x, 1, gidx, x).to_vector<float>());
}

// Training and evaluation steps of ResNet-20 (static, DY-Conv grouped and kmix, PAD) with the
// stages in channel blocks (the CPU default) and in NCHW: the same logits, gradients and running
// statistics up to float32 rounding.
TEST_CASE("ResNet in channel blocks equals ResNet in NCHW: logits, every gradient, running stats") {
  REQUIRE(has_channel_blocks(zeros({1})));
  for (auto [kind, impl] : {std::pair{ConvKind::static_conv, DynamicConvImpl::grouped}, {ConvKind::dynamic, DynamicConvImpl::grouped},
                            {ConvKind::dynamic, DynamicConvImpl::kmix}, {ConvKind::pad, DynamicConvImpl::grouped}}) {
    const int kind_id = int(kind), impl_id = int(impl);  // clang 14 cannot capture a structured binding
    CAPTURE(kind_id);
    CAPTURE(impl_id);
    DynamicConvOptions o;
    o.kernels = 3, o.temperature = 2.0, o.impl = impl;
    auto make = [&, kind = kind](bool blocks) {
      manual_seed(5);
      ResNetConfig c{"resnet20", 3, 10};
      c.channel_blocks = blocks;
      return ResNet(c, padnet_conv_factory(kind, o));
    };
    ResNet a = make(true), b = make(false);
    Tensor x = randn({4, 3, 12, 12}), w = randn({4, 10});
    Tensor ya = a.forward(x), yb = b.forward(x);
    CHECK_CLOSE(ya, yb, 1e-4, 1e-5);
    sum(ya * w).backward();
    sum(yb * w).backward();
    auto pa = a.named_parameters(), pb = b.named_parameters();
    REQUIRE(pa.size() == pb.size());
    for (size_t i = 0; i < pa.size(); ++i) {
      CAPTURE(pa[i].first);
      CHECK_CLOSE(pa[i].second.grad(), pb[i].second.grad(), 1e-3, 1e-4);
    }
    auto ba = a.named_buffers(), bb = b.named_buffers();
    for (size_t i = 0; i < ba.size(); ++i) {
      CAPTURE(ba[i].first);
      CHECK_CLOSE(ba[i].second.to(DType::f64), bb[i].second.to(DType::f64), 1e-5, 1e-6);
    }
    a.eval(), b.eval();
    NoGradGuard ng;
    CHECK_CLOSE(a.forward(x), b.forward(x), 1e-4, 1e-5);
  }
}

// A layer a user writes without knowing about memory formats, placed after every block conv of a
// ResNet whose stages run in channel blocks: it sees the logical (N, C, H, W) shape and its
// arithmetic (a per-channel gate from the spatial means, a view) gives what it gives on NCHW.
class UserGate : public Layer {
 public:
  explicit UserGate(int64_t channels) : scale(register_parameter("scale", full({channels}, 0.5).set_requires_grad(true))) {}
  Tensor forward(const Tensor& x) override {
    CHECK(x.dim() == 4);
    CHECK(x.size(1) == scale.size(0));
    seen.push_back(x.shape());
    formats.push_back(x.memory_format());
    const Tensor gate = sigmoid(mean(x, {2, 3}, true) * scale.view({1, x.size(1), 1, 1}));
    return x * gate + x.narrow(1, 0, 1);
  }
  std::string type_name() const override { return "UserGate"; }
  Tensor scale;
  std::vector<Shape> seen;
  std::vector<MemoryFormat> formats;
};

TEST_CASE("a user layer inside a ResNet stage in channel blocks sees (N, C, H, W) and computes what it does on NCHW") {
  REQUIRE(has_channel_blocks(zeros({1})));
  std::vector<std::shared_ptr<UserGate>> gates;
  auto factory = [&gates](const Conv2dOptions& o, ConvRole role) -> std::shared_ptr<Layer> {
    auto conv = static_conv_factory()(o, role);
    if (role != ConvRole::block) return conv;
    gates.push_back(std::make_shared<UserGate>(o.out_channels));
    return std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{conv, gates.back()});
  };
  auto make = [&](bool blocks) {
    manual_seed(7);
    ResNetConfig c{"resnet20", 3, 10};
    c.channel_blocks = blocks;
    return ResNet(c, factory);
  };
  ResNet a = make(true);
  const size_t per_model = gates.size();
  ResNet b = make(false);
  Tensor x = randn({2, 3, 8, 8}), w = randn({2, 10});
  Tensor ya = a.forward(x), yb = b.forward(x);
  CHECK_CLOSE(ya, yb, 1e-4, 1e-5);
  sum(ya * w).backward();
  sum(yb * w).backward();
  for (size_t i = 0; i < per_model; ++i) {
    CAPTURE(i);
    REQUIRE(gates[i]->seen.size() == 1);
    CHECK(gates[i]->seen[0] == gates[per_model + i]->seen[0]);  // the same logical shape in both formats
    CHECK(gates[i]->formats[0] == MemoryFormat::channel_blocks);
    CHECK(gates[per_model + i]->formats[0] == MemoryFormat::strided);
    CHECK_CLOSE(gates[i]->scale.grad(), gates[per_model + i]->scale.grad(), 1e-3, 1e-5);
  }
  CHECK(gates[0]->seen[0] == Shape{2, 16, 8, 8});
}

}  // namespace cherry
