// Modules and layers: registry names and order, state-dict loading and its reports, train/eval,
// a float64 gradient check of every layer (parameters and input), and Conv2d/BatchNorm2d modules
// loaded by state-dict name reproducing the PyTorch golden conv net.
#include "autograd/gradcheck.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/basic.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/linear.h"
#include "layers/sequential.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

Conv2dOptions conv_opts(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t pad, int64_t groups, bool bias) {
  Conv2dOptions o;
  o.in_channels = in, o.out_channels = out, o.kernel_size = k, o.stride = stride, o.padding = pad, o.groups = groups, o.bias = bias;
  return o;
}

// Checks d(sum(layer(x) * R)) against central differences for the input and every parameter.
void check_layer_gradients(Layer& layer, const Shape& input_shape) {
  layer.to(DType::f64);
  Generator g(3);
  Tensor x = randn(input_shape, DType::f64, kCPU, g).set_requires_grad(true);
  std::vector<Tensor> leaves = {x};
  for (auto& [name, p] : layer.named_parameters()) leaves.push_back(p);
  GradcheckResult r = gradcheck_leaves([&] { return layer.forward(x); }, leaves);
  CHECK_MESSAGE(r.ok, layer.type_name(), ": ", r.message);
}

struct TwoLayer : Module {
  std::shared_ptr<Linear> fc1 = register_module("fc1", std::make_shared<Linear>(4, 3));
  std::shared_ptr<BatchNorm2d> bn = register_module("bn", std::make_shared<BatchNorm2d>(3));
  std::shared_ptr<Sequential> head = register_module(
      "head", std::make_shared<Sequential>(std::vector<std::shared_ptr<Layer>>{std::make_shared<ReLU>(), std::make_shared<Linear>(3, 2, false)}));
  std::string type_name() const override { return "TwoLayer"; }
};

}  // namespace

TEST_CASE("module registry: PyTorch names, registration order, buffers in the state dict") {
  TwoLayer m;
  std::vector<std::string> names;
  for (auto& [n, t] : m.state_dict()) names.push_back(n);
  CHECK(names == std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "bn.running_mean", "bn.running_var",
                                          "bn.num_batches_tracked", "head.1.weight"});
  CHECK(m.named_parameters().size() == 5);
  CHECK(m.num_parameters() == 4 * 3 + 3 + 3 + 3 + 3 * 2);
  CHECK(m.repr().find("(head): Sequential(") != std::string::npos);
}

TEST_CASE("load_state_dict copies in place and reports missing, unexpected and mis-shaped keys") {
  TwoLayer a, b;
  Tensor handle = b.fc1->weight;
  std::map<std::string, Tensor> sd;
  for (auto& [n, t] : a.state_dict()) sd[n] = t;
  CHECK(b.load_state_dict(sd).ok());
  CHECK(handle.same(b.fc1->weight));
  CHECK_CLOSE(b.fc1->weight, a.fc1->weight, 0, 0);

  sd.erase("bn.running_var");
  sd["extra.weight"] = zeros({1});
  sd["fc1.bias"] = zeros({4});
  try {
    b.load_state_dict(sd);
    FAIL("expected an error");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("bn.running_var") != std::string::npos);
    CHECK(msg.find("extra.weight") != std::string::npos);
    CHECK(msg.find("fc1.bias: expected [3], got [4]") != std::string::npos);
  }
  LoadReport r = b.load_state_dict(sd, false);
  CHECK(r.missing == std::vector<std::string>{"bn.running_var"});
  CHECK(r.unexpected == std::vector<std::string>{"extra.weight"});
  CHECK(r.mismatched.size() == 1);
}

TEST_CASE("train/eval reaches every child, and BatchNorm counts batches only in training") {
  TwoLayer m;
  m.eval();
  CHECK_FALSE(m.bn->training());
  CHECK_FALSE((*m.head)[0].training());
  Tensor x = randn({5, 3});
  (void)m.bn->forward(x);
  CHECK(m.bn->num_batches_tracked.item<int64_t>() == 0);
  m.train();
  (void)m.bn->forward(x);
  (void)m.bn->forward(x);
  CHECK(m.bn->num_batches_tracked.item<int64_t>() == 2);
}

TEST_CASE("gradient check: Linear, Conv2d, BatchNorm2d (train and eval) and the parameter-free layers") {
  { Linear l(5, 4); check_layer_gradients(l, {3, 5}); }
  { Conv2d c(conv_opts(4, 6, 3, 2, 1, 2, true)); check_layer_gradients(c, {2, 4, 5, 5}); }
  { Conv2d c(conv_opts(3, 2, 1, 1, 0, 1, false)); check_layer_gradients(c, {2, 3, 3, 3}); }
  {
    BatchNorm2d bn(3);
    bn.weight.set_data(uniform({3}, 0.5, 1.5));
    bn.bias.set_data(uniform({3}, -0.5, 0.5));
    check_layer_gradients(bn, {4, 3, 2, 2});
    bn.eval();
    bn.running_var.set_data(uniform({3}, 0.5, 2.0, DType::f64));
    check_layer_gradients(bn, {4, 3, 2, 2});
  }
  { ReLU r; check_layer_gradients(r, {3, 7}); }
  { GELU r; check_layer_gradients(r, {3, 7}); }
  { MaxPool2d p(3, 2, 1); check_layer_gradients(p, {2, 2, 5, 5}); }
  { AvgPool2d p(2, 2); check_layer_gradients(p, {2, 2, 4, 4}); }
  { AdaptiveAvgPool2d p(1, 1); check_layer_gradients(p, {2, 3, 3, 3}); }
  { Dropout d(0.4); check_layer_gradients(d, {4, 6}); }
  { Flatten f; check_layer_gradients(f, {2, 3, 2}); }
  {
    Sequential s({std::make_shared<Conv2d>(conv_opts(2, 3, 3, 1, 1, 1, false)), std::make_shared<BatchNorm2d>(3), std::make_shared<ReLU>(),
                  std::make_shared<AdaptiveAvgPool2d>(1, 1), std::make_shared<Flatten>(), std::make_shared<Linear>(3, 2)});
    check_layer_gradients(s, {3, 2, 4, 4});
  }
}

TEST_CASE("golden: Conv2d and BatchNorm2d modules loaded by state-dict name reproduce PyTorch") {
  struct Net : Module {
    std::shared_ptr<Conv2d> conv1 = register_module("conv1", std::make_shared<Conv2d>(conv_opts(3, 8, 3, 1, 1, 1, false)));
    std::shared_ptr<BatchNorm2d> bn1 = register_module("bn1", std::make_shared<BatchNorm2d>(8));
    std::shared_ptr<Conv2d> conv2 = register_module("conv2", std::make_shared<Conv2d>(conv_opts(8, 16, 3, 1, 1, 2, true)));
    std::shared_ptr<BatchNorm2d> bn2 = register_module("bn2", std::make_shared<BatchNorm2d>(16));
    std::shared_ptr<Conv2d> conv3 = register_module("conv3", std::make_shared<Conv2d>(conv_opts(16, 16, 3, 2, 1, 1, false)));
    std::shared_ptr<Linear> fc = register_module("fc", std::make_shared<Linear>(16, 10));
    std::string type_name() const override { return "Net"; }
  } net;
  auto f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_convnet.safetensors");
  std::map<std::string, Tensor> sd;
  for (auto& [name, t] : net.state_dict())
    if (f.count(name)) sd[name] = f.at(name);
  // The fixture holds parameters only (its buffers are the fresh ones), so only buffers are missing.
  LoadReport r = net.load_state_dict(sd, false);
  CHECK(r.missing == std::vector<std::string>{"bn1.running_mean", "bn1.running_var", "bn1.num_batches_tracked", "bn2.running_mean",
                                              "bn2.running_var", "bn2.num_batches_tracked"});
  MaxPool2d pool(2, 2);
  ReLU relu_layer;
  Tensor h = pool(relu_layer(net.bn1->forward(net.conv1->forward(f.at("x")))));
  h = relu_layer(net.bn2->forward(net.conv2->forward(h)));
  h = relu_layer(net.conv3->forward(h));
  Tensor logits = net.fc->forward(adaptive_avg_pool2d(h, 1, 1).flatten(1));
  CHECK_CLOSE(logits, f.at("out.logits"), 1e-4, 1e-5);
  CHECK_CLOSE(net.bn1->running_var, f.at("after.bn1.running_var"), 1e-4, 1e-6);
  cross_entropy(logits, f.at("y")).backward();
  CHECK_CLOSE(net.conv2->weight.grad(), f.at("grad.conv2.weight"), 1e-4, 1e-6);
  CHECK_CLOSE(net.bn2->weight.grad(), f.at("grad.bn2.weight"), 1e-4, 1e-6);
}

}  // namespace cherry
