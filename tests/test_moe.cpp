// MoeLinear: float64 gradient checks of the routing (the soft path through the chosen gates, the
// noise scale and the smooth load estimate), gather/scatter, the balance loss and the PAD tensors;
// E = 1 equals the dense layer; PAD kappa = 1 equals the MoE and kappa = 0 the static layer;
// routing invariants (tokens per expert = tokens x k, gate rows sum to 1).
#include "autograd/gradcheck.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/deployed_moe_linear.h"
#include "models/bert_checkpoint.h"
#include "models/bert_moe.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

MoeOptions moe_opts(int64_t experts, int64_t k, DynamicMode mode = DynamicMode::dynamic) {
  MoeOptions o;
  o.experts = experts, o.top_k = k, o.pad.mode = mode;
  return o;
}

// Non-zero router weights so routing depends on the input (they start at zero).
void randomise_router(MoeLinear& m, uint64_t seed) {
  Generator g(seed);
  NoGradGuard ng;
  m.w_gate.copy_(randn(m.w_gate.shape(), DType::f64, kCPU, g));
  m.w_noise.copy_(randn(m.w_noise.shape(), DType::f64, kCPU, g) * 0.5);
}

}  // namespace

TEST_CASE("MoeLinear: float64 gradient check of outputs and balance loss (noisy routing, PAD)") {
  for (DynamicMode mode : {DynamicMode::dynamic, DynamicMode::pad}) {
    for (bool train : {true, false}) {
      MoeLinear m(5, 3, moe_opts(4, 2, mode));
      m.to(DType::f64);
      m.train(train);
      randomise_router(m, 3);
      if (m.is_pad()) {
        Generator g(4);
        m.set_mask(bernoulli(m.weight_shape(), 0.5, DType::f64, kCPU, g));
        NoGradGuard ng;
        m.phi.fill_(-0.2);
      }
      Generator g(5);
      Tensor x = randn({6, 5}, DType::f64, kCPU, g).set_requires_grad(true);
      std::vector<Tensor> leaves = {x};
      for (auto& [name, p] : m.named_parameters()) leaves.push_back(p);
      if (m.is_pad()) leaves.push_back(m.mask.set_requires_grad(true));
      CAPTURE(m.extra_repr());
      CAPTURE(train);
      GradcheckResult r = gradcheck_leaves([&] { return m.forward(x); }, leaves);
      CHECK_MESSAGE(r.ok, r.message);
      r = gradcheck_leaves([&] { (void)m.forward(x); return m.balance_loss().reshape({1}); }, leaves);
      CHECK_MESSAGE(r.ok, "balance loss: ", r.message);
      if (m.is_pad()) m.mask.set_requires_grad(false);
    }
  }
}

TEST_CASE("MoeLinear: the router starts at zero (uniform clean logits, docs/PADNET.md §3)") {
  for (DynamicMode mode : {DynamicMode::dynamic, DynamicMode::pad}) {
    MoeLinear m(6, 4, moe_opts(8, 2, mode));
    CHECK(amax(abs(m.w_gate)).item<float>() == 0.0f);
    CHECK(amax(abs(m.w_noise)).item<float>() == 0.0f);
  }
}

TEST_CASE("MoeLinear: one expert is the dense layer, and upcycled experts reproduce it for any routing") {
  Generator g(1);
  Tensor w = randn({4, 6}, DType::f32, kCPU, g), b = randn({4}, DType::f32, kCPU, g), x = randn({2, 5, 6}, DType::f32, kCPU, g);
  MoeLinear one(6, 4, moe_opts(1, 1));
  one.upcycle_from(w, b);
  CHECK_CLOSE(one.forward(x), linear(x, w, b), 1e-5, 1e-6);
  MoeLinear many(6, 4, moe_opts(8, 2));
  many.upcycle_from(w, b);
  many.eval();
  CHECK_CLOSE(many.forward(x), linear(x, w, b), 1e-5, 1e-6);  // gates sum to 1 over identical experts
  MoeLinear pad(6, 4, moe_opts(8, 2, DynamicMode::pad));
  pad.upcycle_from(w, b);
  pad.train();
  CHECK_CLOSE(pad.forward(x), linear(x, w, b), 1e-5, 1e-6);  // Ws too: any partition gives the dense layer
}

TEST_CASE("upcycle_to_moe: the upcycled MoE and PAD-MoE BERT give the dense model's logits") {
  auto dense = load_bert_for_sequence_classification(std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny", 3);
  auto f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_bert_tiny.safetensors");
  dense->eval();
  NoGradGuard ng;
  Tensor want = dense->forward(f.at("input_ids"), f.at("attention_mask"), f.at("token_type_ids"));
  for (DynamicMode mode : {DynamicMode::dynamic, DynamicMode::pad}) {
    auto moe = upcycle_to_moe(*dense, moe_opts(4, 2, mode));
    CHECK(moe_layers(*moe).size() == 4);  // 2 layers x (intermediate, output)
    moe->eval();
    CHECK_CLOSE(moe->forward(f.at("input_ids"), f.at("attention_mask"), f.at("token_type_ids")), want, 1e-5, 1e-6);
  }
}

TEST_CASE("MoeLinear: PAD with kappa = 1 is the MoE, with kappa = 0 the static layer plus the routed biases") {
  Generator g(2);
  MoeLinear pad(6, 4, moe_opts(4, 2, DynamicMode::pad)), moe(6, 4, moe_opts(4, 2));
  std::map<std::string, Tensor> sd;
  for (auto& [n, t] : pad.state_dict()) sd[n] = t;
  for (const char* n : {"static_weight", "phi", "mask"}) sd.erase(n);
  moe.load_state_dict(sd);
  {
    NoGradGuard ng;
    pad.w_gate.copy_(randn(pad.w_gate.shape(), DType::f32, kCPU, g));
    moe.w_gate.copy_(pad.w_gate);
  }
  pad.eval(), moe.eval();
  Tensor x = randn({7, 6}, DType::f32, kCPU, g);
  CHECK_CLOSE(pad.forward(x), moe.forward(x), 1e-5, 1e-6);
  pad.set_mask(zeros(pad.weight_shape()));
  NoGradGuard ng;
  Tensor routed_bias = matmul(pad.last_routing().gates, pad.bias);
  CHECK_CLOSE(pad.forward(x), linear(x, pad.static_weight) + routed_bias, 1e-5, 1e-6);
}

TEST_CASE("MoeLinear: routing invariants and the balance loss") {
  MoeLinear m(8, 3, moe_opts(4, 2));
  Generator g(6);
  {
    NoGradGuard ng;
    m.w_gate.copy_(randn(m.w_gate.shape(), DType::f32, kCPU, g));
  }
  Tensor x = randn({50, 8}, DType::f32, kCPU, g);
  for (bool train : {true, false}) {
    m.train(train);
    m.forward(x);
    const auto& r = m.last_routing();
    int64_t total = 0;
    for (auto n : r.tokens_per_expert) total += n;
    CHECK(total == 50 * 2);
    CHECK_CLOSE(sum(r.gates, {1}), ones({50}), 1e-5, 1e-6);
    CHECK(r.router_entropy > 0.0);
    CHECK(r.router_entropy <= 1.0);
    CHECK(m.balance_loss().item<float>() >= 0.0f);
  }
  // CV^2 of a balanced vector is 0, of a one-hot vector over E entries is E (unbiased variance).
  CHECK(cv_squared(full({4}, 3.0)).item<float>() == doctest::Approx(0.0));
  CHECK(cv_squared(from_vector<float>({4, 0, 0, 0}, {4})).item<float>() == doctest::Approx(4.0));
  CHECK_THROWS_WITH_AS(MoeLinear(4, 4, moe_opts(2, 3)), doctest::Contains("top-k must be in [1, experts]"), Error);
}

}  // namespace cherry

namespace cherry {

TEST_CASE("PAD-MoE deployment folding: same outputs, (E kappa + 1 - kappa) N stored weight values") {
  Generator g(8);
  MoeLinear m(6, 5, moe_opts(4, 2, DynamicMode::pad));
  {
    NoGradGuard ng;
    m.w_gate.copy_(randn(m.w_gate.shape(), DType::f32, kCPU, g));
    m.phi.fill_(0.3);
  }
  m.set_mask(bernoulli(m.weight_shape(), 0.4, DType::f32, kCPU, g));
  m.eval();
  DeployedMoeLinear d(m);
  Tensor x = randn({3, 7, 6}, DType::f32, kCPU, g);
  CHECK_CLOSE(d.forward(x), m.forward(x), 1e-5, 1e-6);
  const int64_t n = m.weight_numel(), dyn = m.dynamic_entries();
  CHECK(d.stored_values() == 4 * dyn + (n - dyn) + m.w_gate.numel() + m.bias.numel());  // no w_noise: training-only
  for (const auto& [name, t] : d.state_dict()) CHECK(name != "w_noise");
  CHECK(m.stored_values() == 4 * dyn + (n - dyn));
}

}  // namespace cherry

namespace cherry {

TEST_CASE("golden: MoeLinear and PAD-MoE match the PyTorch reference layer (scripts/make_dynamic_fixtures.py)") {
  auto f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_moe.safetensors");
  for (const char* prefix : {"moe", "pad"}) {
    CAPTURE(prefix);
    const bool pad = std::string(prefix) == "pad";
    MoeLinear m(12, 10, moe_opts(4, 2, pad ? DynamicMode::pad : DynamicMode::dynamic));
    std::map<std::string, Tensor> sd;
    for (auto& [name, t] : m.state_dict()) sd[name] = f.at(cat(prefix, ".", name));
    m.load_state_dict(sd);
    m.eval();
    Tensor x = f.at(cat(prefix, ".x")).clone().set_requires_grad(true);
    if (pad) m.mask.set_requires_grad(true);
    Tensor y = m.forward(x);
    CHECK_CLOSE(y, f.at(cat(prefix, ".y")), 1e-4, 1e-5);
    CHECK_CLOSE(m.balance_loss().reshape({1}), f.at(cat(prefix, ".balance_loss")), 1e-4, 1e-6);
    (sum(y * f.at(cat(prefix, ".r"))) + m.balance_loss()).backward();
    CHECK_CLOSE(x.grad(), f.at(cat(prefix, ".grad.x")), 1e-4, 1e-5);
    for (auto& [name, p] : m.named_parameters()) {
      const std::string tensor = name;  // clang 14 cannot capture a structured binding
      CAPTURE(tensor);
      CHECK_CLOSE(p.grad().defined() ? p.grad() : zeros_like(p), f.at(cat(prefix, ".grad.", name)), 1e-4, 1e-5);
    }
    if (pad) CHECK_CLOSE(m.mask.grad(), f.at(cat(prefix, ".grad.mask")), 1e-4, 1e-5);
  }
}

}  // namespace cherry
