// DynamicConv2d and the PAD parameterisation: float64 gradient checks (input, every parameter, the
// mask M as a real-valued tensor, phi), the two executions against a per-sample loop written from
// docs/PADNET.md's formulas, and the limits PAD(kappa=1) == DY-Conv, PAD(kappa=0) == static conv.
#include "autograd/gradcheck.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/dynamic_conv2d.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

Conv2dOptions conv_opts(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t groups, bool bias) {
  Conv2dOptions o;
  o.in_channels = in, o.out_channels = out, o.kernel_size = k, o.stride = stride, o.padding = pad, o.groups = groups, o.bias = bias;
  return o;
}

DynamicConvOptions dy_opts(DynamicMode mode, DynamicConvImpl impl, bool scale = true) {
  DynamicConvOptions o;
  o.kernels = 3, o.pad.mode = mode, o.pad.scale = scale, o.attn_reduction = 2, o.temperature = 1.7, o.impl = impl;
  return o;
}

// Random binary mask and non-trivial phi, so every term of Theta is exercised.
void randomise_pad(DynamicConv2d& layer, uint64_t seed) {
  Generator g(seed);
  NoGradGuard ng;
  layer.set_mask(bernoulli(layer.weight_shape(), 0.4, DType::f64, kCPU, g));
  if (layer.phi.defined()) layer.phi.fill_(0.3);
}

// docs/PADNET.md §1-§2 literally, one sample at a time.
Tensor per_sample_reference(DynamicConv2d& l, const Tensor& x) {
  NoGradGuard ng;
  const Conv2dOptions& c = l.conv_options();
  Tensor pi = l.attention->forward(x, l.temperature.to(x.dtype()));
  std::vector<Tensor> ys;
  for (int64_t b = 0; b < x.size(0); ++b) {
    Tensor wd = zeros(l.weight_shape(), x.dtype());
    for (int64_t k = 0; k < l.num_factors(); ++k) wd = wd + pi.narrow(0, b, 1).narrow(1, k, 1).view({}) * l.factors.narrow(0, k, 1).squeeze(0);
    Tensor theta = wd;
    if (l.is_pad()) theta = l.lambda_d() * (l.mask * wd) + l.lambda_s() * ((1.0 - l.mask) * l.static_weight);
    Tensor bias;
    if (l.bias.defined()) bias = matmul(pi.narrow(0, b, 1), l.bias).view({c.out_channels});
    ys.push_back(conv2d(x.narrow(0, b, 1), theta, bias, c.params()));
  }
  return cat(ys, int64_t{0});
}

void check_gradients(DynamicConv2d& layer, const Shape& input_shape) {
  layer.to(DType::f64);
  Generator g(5);
  Tensor x = randn(input_shape, DType::f64, kCPU, g).set_requires_grad(true);
  std::vector<Tensor> leaves = {x};
  for (auto& [name, p] : layer.named_parameters()) leaves.push_back(p);
  if (layer.is_pad()) leaves.push_back(layer.mask.set_requires_grad(true));  // IMP's score is dL/dM
  GradcheckResult r = gradcheck_leaves([&] { return layer.forward(x); }, leaves);
  CHECK_MESSAGE(r.ok, layer.extra_repr(), ": ", r.message);
  if (layer.is_pad()) layer.mask.set_requires_grad(false);
}

}  // namespace

TEST_CASE("DynamicConv2d: state-dict names and shapes") {
  DynamicConv2d pad(conv_opts(8, 4, 3, 1, 1, 1, false), dy_opts(DynamicMode::pad, DynamicConvImpl::grouped));
  std::vector<std::string> names;
  for (auto& [n, t] : pad.state_dict()) names.push_back(n + shape_str(t.shape()));
  CHECK(names == std::vector<std::string>{"weight[3, 4, 8, 3, 3]", "static_weight[4, 8, 3, 3]", "phi[]", "mask[4, 8, 3, 3]",
                                          "temperature[]", "attention.fc1.weight[4, 8]", "attention.fc2.weight[3, 4]",
                                          "attention.fc2.bias[3]"});
  DynamicConv2d dy(conv_opts(8, 4, 3, 1, 1, 1, true), dy_opts(DynamicMode::dynamic, DynamicConvImpl::grouped));
  CHECK(dy.named_parameters().size() == 5);  // weight, bias, attention x3: no Ws, mask or phi
  CHECK(dy.kappa() == 1.0);
  CHECK(dy.stored_values() == 3 * 4 * 8 * 9);
  CHECK_THROWS_WITH_AS(DynamicConv2d(conv_opts(8, 4, 3, 1, 1, 2, false), dy_opts(DynamicMode::dynamic, DynamicConvImpl::kmix)),
                       doctest::Contains("kmix execution needs groups == 1"), Error);
}

TEST_CASE("DynamicConv2d: float64 gradient check, every parameter, the input, the mask and phi") {
  SUBCASE("DY-Conv, grouped execution, groups 2, stride 2, bias") {
    DynamicConv2d l(conv_opts(4, 4, 3, 2, 1, 2, true), dy_opts(DynamicMode::dynamic, DynamicConvImpl::grouped));
    check_gradients(l, {2, 4, 5, 5});
  }
  SUBCASE("PAD, grouped execution") {
    DynamicConv2d l(conv_opts(4, 3, 3, 1, 1, 1, false), dy_opts(DynamicMode::pad, DynamicConvImpl::grouped));
    randomise_pad(l, 1);
    check_gradients(l, {2, 4, 4, 4});
  }
  SUBCASE("PAD, kmix execution, 1x1 strided, bias") {
    DynamicConv2d l(conv_opts(4, 3, 1, 2, 0, 1, true), dy_opts(DynamicMode::pad, DynamicConvImpl::kmix));
    randomise_pad(l, 2);
    check_gradients(l, {3, 4, 4, 4});
  }
  SUBCASE("PAD without scale factors") {
    DynamicConv2d l(conv_opts(4, 3, 3, 1, 1, 1, false), dy_opts(DynamicMode::pad, DynamicConvImpl::grouped, false));
    randomise_pad(l, 3);
    check_gradients(l, {2, 4, 4, 4});
  }
}

TEST_CASE("DynamicConv2d: grouped and kmix executions equal a per-sample loop over the formulas") {
  for (DynamicMode mode : {DynamicMode::dynamic, DynamicMode::pad}) {
    for (bool bias : {false, true}) {
      DynamicConv2d l(conv_opts(6, 5, 3, 2, 1, 1, bias), dy_opts(mode, DynamicConvImpl::grouped));
      l.to(DType::f64);
      if (mode == DynamicMode::pad) randomise_pad(l, 7);
      Generator g(9);
      Tensor x = randn({4, 6, 7, 7}, DType::f64, kCPU, g);
      Tensor expect = per_sample_reference(l, x);
      CHECK_CLOSE(l.forward(x), expect, 1e-10, 1e-12);
      l.set_impl(DynamicConvImpl::kmix);
      CHECK_CLOSE(l.forward(x), expect, 1e-10, 1e-12);
    }
  }
}

// In float32 on the CPU the grouped execution runs the fused mixed_conv2d (kernels mixed in oneDNN's
// blocked layout, 16 channels); the reference is the float64 per-sample loop.
TEST_CASE("DynamicConv2d: the fused float32 execution equals the float64 per-sample loop") {
  for (DynamicMode mode : {DynamicMode::dynamic, DynamicMode::pad}) {
    DynamicConv2d l(conv_opts(16, 32, 3, 2, 1, 1, false), dy_opts(mode, DynamicConvImpl::grouped));
    l.to(DType::f64);
    if (mode == DynamicMode::pad) randomise_pad(l, 5);
    l.to(DType::f32);
    Generator g(4);
    Tensor x = randn({5, 16, 9, 9}, DType::f32, kCPU, g);
    Tensor y = l.forward(x);
    l.to(DType::f64);
    CHECK_CLOSE(y.to(DType::f64), per_sample_reference(l, x.to(DType::f64)), 1e-4, 1e-5);
  }
}

TEST_CASE("mixed_conv2d: shape errors name the operands") {
  Tensor x = zeros({2, 4, 5, 5}), f = zeros({3, 6, 4, 3, 3});
  CHECK_THROWS_WITH_AS(mixed_conv2d(x, zeros({2, 2}), f), doctest::Contains("must be [batch, factors]"), Error);
  CHECK_THROWS_WITH_AS(mixed_conv2d(x, zeros({3, 3}), f), doctest::Contains("must be [batch, factors]"), Error);
  CHECK_THROWS_WITH_AS(mixed_conv2d(x, zeros({2, 3}), zeros({3, 6, 3, 3, 3})), doctest::Contains("do not match with groups=1"), Error);
  CHECK_THROWS_WITH_AS(mixed_conv2d(x, zeros({2, 3}), zeros({18, 12})), doctest::Contains("factors must be 5-D"), Error);
}

TEST_CASE("DynamicConv2d: attention is a distribution, and high temperature makes it near-uniform") {
  DynamicConv2d l(conv_opts(8, 4, 3, 1, 1, 1, false), dy_opts(DynamicMode::dynamic, DynamicConvImpl::grouped));
  Generator g(2);
  Tensor x = randn({5, 8, 6, 6}, DType::f32, kCPU, g);
  l.set_temperature(1.0);
  l.forward(x);
  CHECK_CLOSE(sum(l.last_attention(), {1}), ones({5}), 1e-6, 1e-6);
  l.set_temperature(1e6);
  l.forward(x);
  CHECK_CLOSE(l.last_attention(), full({5, 3}, 1.0 / 3), 1e-4, 1e-6);
  CHECK_THROWS_AS(l.set_temperature(0), Error);
}

TEST_CASE("PAD limits: kappa = 1 is DY-Conv and kappa = 0 is the static conv with Ws") {
  const Conv2dOptions c = conv_opts(4, 6, 3, 1, 1, 1, false);
  DynamicConv2d pad(c, dy_opts(DynamicMode::pad, DynamicConvImpl::grouped));
  DynamicConv2d dy(c, dy_opts(DynamicMode::dynamic, DynamicConvImpl::grouped));
  std::map<std::string, Tensor> sd;
  for (auto& [n, t] : pad.state_dict()) sd[n] = t;
  for (const char* n : {"static_weight", "phi", "mask"}) sd.erase(n);
  dy.load_state_dict(sd);
  Generator g(4);
  Tensor x = randn({3, 4, 5, 5}, DType::f32, kCPU, g);
  // phi = 0 gives lambda_d = lambda_s = 1, so the all-ones mask leaves exactly the dynamic kernels.
  CHECK(pad.kappa() == 1.0);
  CHECK_CLOSE(pad.forward(x), dy.forward(x), 1e-5, 1e-6);
  pad.set_mask(zeros(pad.weight_shape()));
  CHECK(pad.kappa() == 0.0);
  CHECK(pad.stored_values() == pad.weight_numel());
  CHECK_CLOSE(pad.forward(x), conv2d(x, pad.static_weight, {}, c.params()), 1e-5, 1e-6);
  CHECK_THROWS_WITH_AS(pad.set_mask(zeros({2})), doctest::Contains("does not match the weight shape"), Error);
}

TEST_CASE("golden: DY-Conv and PAD layers match the PyTorch reference (scripts/make_dynamic_fixtures.py)") {
  auto f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_dyconv.safetensors");
  struct Case {
    std::string prefix;
    Conv2dOptions conv;
    DynamicConvOptions dyn;
  };
  DynamicConvOptions dy = dy_opts(DynamicMode::dynamic, DynamicConvImpl::grouped), pad = dy_opts(DynamicMode::pad, DynamicConvImpl::grouped);
  dy.kernels = 4, dy.attn_reduction = 4, pad.kernels = 3, pad.attn_reduction = 2;
  for (const Case& c : {Case{"dy", conv_opts(8, 6, 3, 2, 1, 2, true), dy}, Case{"pad", conv_opts(6, 8, 3, 1, 1, 1, false), pad}}) {
    for (DynamicConvImpl impl : {DynamicConvImpl::grouped, DynamicConvImpl::kmix}) {
      if (impl == DynamicConvImpl::kmix && c.conv.groups != 1) continue;
      CAPTURE(c.prefix);
      DynamicConv2d l(c.conv, c.dyn);
      l.set_impl(impl);
      std::map<std::string, Tensor> sd;
      for (auto& [name, t] : l.state_dict()) sd[name] = f.at(c.prefix + "." + name);
      l.load_state_dict(sd);
      l.eval();
      Tensor x = f.at(c.prefix + ".x").clone().set_requires_grad(true);
      if (l.is_pad()) l.mask.set_requires_grad(true);
      Tensor y = l.forward(x);
      CHECK_CLOSE(y, f.at(c.prefix + ".y"), 1e-4, 1e-5);
      sum(y * f.at(c.prefix + ".r")).backward();
      CHECK_CLOSE(x.grad(), f.at(c.prefix + ".grad.x"), 1e-4, 1e-5);
      for (auto& [name, p] : l.named_parameters()) {
        const std::string tensor = name;  // clang 14 cannot capture a structured binding
        CAPTURE(tensor);
        CHECK_CLOSE(p.grad(), f.at(c.prefix + ".grad." + name), 1e-4, 1e-5);
      }
      if (l.is_pad()) CHECK_CLOSE(l.mask.grad(), f.at(c.prefix + ".grad.mask"), 1e-4, 1e-5);
    }
  }
}

}  // namespace cherry
