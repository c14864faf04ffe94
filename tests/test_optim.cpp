// Optimizers, LR schedules and gradient clipping. Golden replays of PyTorch runs (fixture from
// scripts/make_optim_fixtures.py: SGD, Nesterov SGD and AdamW over 5 steps with two parameter
// groups, a warm-up+cosine schedule and a parameter skipped at one step), torch's scheduler lr
// sequences, clip_grad_norm_; then checkpoint behaviour: a run saved and resumed mid-way must equal
// the uninterrupted run bitwise, and bad optimizer state must be refused with every key listed.
#include <omp.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
#include <map>
#include <random>

#include "core/rng.h"
#include "core/safetensors.h"
#include "optim/adamw.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

namespace fs = std::filesystem;
using Fixture = std::map<std::string, Tensor>;
using test::TempDir;

const Fixture& fixture() {
  static const Fixture f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_optim.safetensors");
  return f;
}

const std::vector<std::string> kDecay = {"layer.weight", "frozen.weight"}, kNoDecay = {"layer.bias", "norm.weight"};
constexpr int kSteps = 5;

// Fresh parameters from the fixture's initial values, in the groups the script used.
std::vector<ParamGroup> golden_groups(double weight_decay) {
  auto named = [](const std::vector<std::string>& names) {
    NamedParams out;
    for (const auto& n : names) out.emplace_back(n, fixture().at("init." + n).clone().set_requires_grad(true));
    return out;
  };
  return {ParamGroup{named(kDecay), weight_decay, 1.0}, ParamGroup{named(kNoDecay), 0.0, 0.5}};
}

// Warm-up 2 steps from 0.1x, then cosine over 3 steps (the script's SequentialLR).
WarmupLr golden_schedule(double base_lr) { return WarmupLr(std::make_shared<CosineLr>(base_lr, 3), 2, 0.1); }

// Gives each parameter the fixture's gradient for step k, or none where the fixture has none.
void set_golden_grads(const Optimizer& opt, int k) {
  for (const auto& g : opt.groups())
    for (auto [name, p] : g.params) {  // a copy of the handle aliases the parameter
      const std::string key = cat("grad.", k, ".", name);
      if (fixture().count(key))
        p.set_grad(fixture().at(key).clone());
      else
        p.zero_grad();
    }
}

void replay_golden(Optimizer& opt, const std::string& prefix, double base_lr) {
  const WarmupLr sched = golden_schedule(base_lr);
  const auto torch_lr = fixture().at(prefix + ".lr").to_vector<double>();
  for (int k = 0; k < kSteps; ++k) {
    CAPTURE(k);
    CHECK(sched.lr_at(opt.step_count()) == doctest::Approx(torch_lr[size_t(k)]).epsilon(1e-12));
    opt.set_lr(sched.lr_at(opt.step_count()));
    set_golden_grads(opt, k);
    opt.step();
    for (const auto& g : opt.groups())
      for (const auto& [name, p] : g.params) {
        const std::string tensor = name;  // clang 14 cannot capture a structured binding
        CAPTURE(tensor);
        CHECK_CLOSE(p, fixture().at(cat(prefix, ".after.", k, ".", name)), 1e-6, 0.0);
      }
  }
  CHECK(opt.step_count() == kSteps);
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() &&
         std::memcmp(a.contiguous().raw_data(), b.contiguous().raw_data(), size_t(a.numel()) * dtype_size(a.dtype())) == 0;
}

}  // namespace

TEST_CASE("optim golden: SGD with momentum, weight decay, groups and a skipped parameter matches PyTorch") {
  SGD opt(golden_groups(5e-4), {.lr = 0.1, .momentum = 0.9, .nesterov = false});
  replay_golden(opt, "sgd", 0.1);
  // frozen.weight never had a grad: bitwise untouched, and so is its state.
  CHECK(same_bits(opt.groups()[0].params[1].second, fixture().at("init.frozen.weight")));
  for (const auto& entry : opt.state_tensors())
    if (entry.first.find("frozen.weight") != std::string::npos)
      CHECK_MESSAGE(same_bits(entry.second, zeros_like(entry.second)), entry.first);
}

TEST_CASE("optim golden: Nesterov SGD matches PyTorch") {
  SGD opt(golden_groups(5e-4), {.lr = 0.1, .momentum = 0.9, .nesterov = true});
  replay_golden(opt, "sgd_nesterov", 0.1);
}

TEST_CASE("optim golden: AdamW (decoupled decay, bias correction, per-parameter step) matches PyTorch") {
  AdamW opt(golden_groups(0.01), {.lr = 0.01, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-8});
  replay_golden(opt, "adamw", 0.01);
  const auto state = opt.state_tensors();
  std::map<std::string, Tensor> m(state.begin(), state.end());
  CHECK(m.at("optim.step").item<int64_t>() == 5);
  CHECK(m.at("optim.norm.weight.step").item<int64_t>() == 4);  // skipped once
  CHECK(m.at("optim.frozen.weight.step").item<int64_t>() == 0);
}

TEST_CASE("optim golden: LR schedules equal torch's schedulers step by step") {
  auto check = [](const LrSchedule& s, const std::string& key, double rel) {
    CAPTURE(key);
    const auto want = fixture().at("sched." + key).to_vector<double>();
    for (size_t k = 0; k < want.size(); ++k) {
      CAPTURE(k);
      if (rel == 0.0)
        CHECK(s.lr_at(int64_t(k)) == want[k]);  // Approx(...).epsilon(0) never matches
      else
        CHECK(s.lr_at(int64_t(k)) == doctest::Approx(want[k]).epsilon(rel));
    }
  };
  // Closed forms are evaluated in torch's operation order: equal to the last bit where torch
  // uses its closed form too, to ~1e-15 against its recursive updates.
  check(StepLr(0.1, 3, 0.1), "step", 1e-14);
  check(MultiStepLr(0.1, {7, 3}, 0.2), "multistep", 1e-14);
  check(CosineLr(0.1, 10, 0.001), "cosine", 1e-13);
  check(CosineLr(0.1, 10, 0.001), "cosine_closed", 0.0);
  check(WarmupLr(std::make_shared<CosineLr>(0.1, 20), 5, 0.01), "warmup_cosine", 1e-13);
  check(WarmupLr(std::make_shared<MultiStepLr>(0.1, std::vector<int64_t>{6, 9}), 4, 0.25, WarmupMode::chained), "warmup_multistep_chained",
        1e-14);
  check(WarmupLr(std::make_shared<LinearDecayLr>(0.1, 10 - 3), 3, 0.0), "hf_linear", 0.0);
  CHECK(ConstantLr(0.5).lr_at(1000) == 0.5);
  CHECK(LinearDecayLr(1.0, 4).lr_at(9) == 0.0);
  CHECK_THROWS_AS(StepLr(0.1, 0), Error);
  CHECK_THROWS_AS(CosineLr(0.1, 5).lr_at(-1), Error);
}

TEST_CASE("optim golden: clip_grad_norm returns the pre-clip norm and scales like torch") {
  for (const std::string c : {"clip", "noclip"}) {
    CAPTURE(c);
    std::vector<Tensor> ps;
    for (int i = 0; i < 2; ++i) {
      Tensor g = fixture().at(cat(c, ".grad.", i));
      ps.push_back(zeros(g.shape()).set_requires_grad(true));
      ps.back().set_grad(g.clone());
    }
    ps.push_back(zeros({3}).set_requires_grad(true));  // no grad: ignored
    const double total = clip_grad_norm(ps, fixture().at(c + ".max_norm").item<double>());
    CHECK(total == doctest::Approx(fixture().at(c + ".total_norm").item<float>()).epsilon(1e-6));
    for (int i = 0; i < 2; ++i) CHECK_CLOSE(ps[size_t(i)].grad(), fixture().at(cat(c, ".out.", i)), 1e-6, 0.0);
    if (c == "noclip")  // below max_norm: left bitwise alone
      for (int i = 0; i < 2; ++i) CHECK(same_bits(ps[size_t(i)].grad(), fixture().at(cat(c, ".grad.", i))));
  }
}

TEST_CASE("clip_grad_norm: a non-finite norm is returned and the gradients are left as they were") {
  Tensor p = zeros({3}).set_requires_grad(true), q = zeros({2}).set_requires_grad(true);
  p.set_grad(from_vector<float>({1, std::numeric_limits<float>::infinity(), 2}, {3}));
  q.set_grad(from_vector<float>({3, 4}, {2}));
  CHECK(std::isinf(clip_grad_norm({p, q}, 1.0)));
  CHECK(q.grad().to_vector<float>() == std::vector<float>{3, 4});
  p.set_grad(from_vector<float>({1, std::numeric_limits<float>::quiet_NaN(), 2}, {3}));
  CHECK(std::isnan(clip_grad_norm({p, q}, 1.0)));
  CHECK(q.grad().to_vector<float>() == std::vector<float>{3, 4});
  CHECK(clip_grad_norm({zeros({2}).set_requires_grad(true)}, 1.0) == 0.0);  // nothing has a grad
}

TEST_CASE("grad_norm: the same bits at 1 and 2 threads on a large gradient") {
  Generator gen(7);
  Tensor p = zeros({300'000}).set_requires_grad(true);
  p.set_grad(randn({300'000}, DType::f32, kCPU, gen));
  const int before = omp_get_max_threads();
  omp_set_num_threads(1);
  const double one = grad_norm({p});
  omp_set_num_threads(2);
  const double two = grad_norm({p});
  omp_set_num_threads(before);
  CHECK(one == two);
  CHECK(one == doctest::Approx(std::sqrt(300'000.0)).epsilon(0.01));
}

// --- checkpoint state ---

namespace {

// The golden parameters plus one large tensor (several update chunks, so the threaded path runs),
// each step with clipping; grads for "big.weight" come from a per-step seed.
std::vector<ParamGroup> resume_groups(double wd) {
  auto groups = golden_groups(wd);
  Generator gen(3);
  groups[0].params.emplace_back("big.weight", randn({200, 500}, DType::f32, kCPU, gen).set_requires_grad(true));
  return groups;
}

void train_steps(Optimizer& opt, const LrSchedule& sched, int until) {
  while (opt.step_count() < until) {
    const int k = int(opt.step_count());
    set_golden_grads(opt, k);
    Generator gen(100 + uint64_t(k));
    Tensor big = opt.groups()[0].params.back().second;
    big.set_grad(randn({200, 500}, DType::f32, kCPU, gen));
    clip_grad_norm(opt.parameters(), 5.0);
    opt.set_lr(sched.lr_at(opt.step_count()));
    opt.step();
  }
}


NamedParams all_params(const Optimizer& opt) {
  NamedParams out;
  for (const auto& g : opt.groups()) out.insert(out.end(), g.params.begin(), g.params.end());
  return out;
}

// Runs 5 steps straight, and 2 steps + checkpoint to disk + fresh optimizer/params loaded from it
// + 3 steps; every parameter and state tensor must match bitwise.
template <class Opt, class Options>
void check_resume(const Options& o, double wd) {
  const WarmupLr sched = golden_schedule(o.lr);
  Opt straight(resume_groups(wd), o);
  train_steps(straight, sched, kSteps);

  TempDir dir;
  const std::string file = (dir.path / "ckpt.safetensors").string();
  {
    Opt first(resume_groups(wd), o);
    train_steps(first, sched, 2);
    NamedParams ckpt = all_params(first), state = first.state_tensors();
    ckpt.insert(ckpt.end(), state.begin(), state.end());
    save_safetensors(file, ckpt);
  }
  Opt resumed(resume_groups(wd), o);
  const auto loaded = load_safetensors(file);
  for (auto& [name, p] : all_params(resumed)) p.copy_(loaded.at(name));
  resumed.load_state_tensors(loaded);
  CHECK(resumed.step_count() == 2);
  train_steps(resumed, sched, kSteps);

  const NamedParams a = all_params(straight), b = all_params(resumed);
  for (size_t i = 0; i < a.size(); ++i) CHECK_MESSAGE(same_bits(a[i].second, b[i].second), a[i].first);
  const NamedParams sa = straight.state_tensors(), sb = resumed.state_tensors();
  REQUIRE(sa.size() == sb.size());
  for (size_t i = 0; i < sa.size(); ++i) CHECK_MESSAGE(same_bits(sa[i].second, sb[i].second), sa[i].first);
}

}  // namespace

TEST_CASE("optim resume: SGD saved and loaded mid-run equals the uninterrupted run bitwise") {
  check_resume<SGD>(SgdOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}, 5e-4);
}

TEST_CASE("optim resume: AdamW saved and loaded mid-run equals the uninterrupted run bitwise") {
  check_resume<AdamW>(AdamWOptions{.lr = 0.01}, 0.01);
}

TEST_CASE("optim state: keys, and a bad checkpoint is refused with every problem listed and nothing changed") {
  AdamW opt(golden_groups(0.01), {.lr = 0.01});
  set_golden_grads(opt, 0);
  opt.step();
  const NamedParams state = opt.state_tensors();
  std::vector<std::string> keys;
  for (const auto& kv : state) keys.push_back(kv.first);
  CHECK(keys == std::vector<std::string>{"optim.step", "optim.layer.weight.step", "optim.layer.weight.exp_avg",
                                         "optim.layer.weight.exp_avg_sq", "optim.frozen.weight.step", "optim.frozen.weight.exp_avg",
                                         "optim.frozen.weight.exp_avg_sq", "optim.layer.bias.step", "optim.layer.bias.exp_avg",
                                         "optim.layer.bias.exp_avg_sq", "optim.norm.weight.step", "optim.norm.weight.exp_avg",
                                         "optim.norm.weight.exp_avg_sq"});

  std::map<std::string, Tensor> bad;
  for (const auto& [k, t] : state) bad[k] = t.clone();
  bad.erase("optim.layer.bias.exp_avg");
  bad["optim.norm.weight.exp_avg_sq"] = zeros({4});
  bad["optim.step"] = scalar_tensor(3.0);  // f32, expected i64
  bad["optim.other.momentum_buffer"] = zeros({2});
  bad["layer.weight"] = zeros({4, 3});  // model weights beside the state are fine
  AdamW fresh(golden_groups(0.01), {.lr = 0.01});
  std::string msg;
  try {
    fresh.load_state_tensors(bad);
  } catch (const Error& e) {
    msg = e.what();
  }
  CAPTURE(msg);
  CHECK(msg.find("missing (1)") != std::string::npos);
  CHECK(msg.find("optim.layer.bias.exp_avg\n") != std::string::npos);
  CHECK(msg.find("optim.norm.weight.exp_avg_sq (f32[4] cpu, expected f32[5])") != std::string::npos);
  CHECK(msg.find("optim.step (f32[] cpu, expected i64[])") != std::string::npos);
  CHECK(msg.find("unexpected (1)") != std::string::npos);
  CHECK(msg.find("optim.other.momentum_buffer") != std::string::npos);
  CHECK(msg.find("layer.weight (") == std::string::npos);
  CHECK(fresh.step_count() == 0);  // all-or-nothing
  for (const auto& entry : fresh.state_tensors()) CHECK_MESSAGE(same_bits(entry.second, zeros_like(entry.second)), entry.first);
  CHECK_THROWS_AS(SGD(golden_groups(0.0), {.lr = 0.1, .momentum = 0.9}).load_state_tensors({}), Error);
  // SGD without momentum has no buffers, only step counts.
  CHECK(SGD(golden_groups(0.0), {.lr = 0.1}).state_tensors().size() == 5);
}

TEST_CASE("optim: a parameter without a grad is untouched, and steps bump the storage version") {
  Tensor a = ones({3}).set_requires_grad(true), b = ones({2}).set_requires_grad(true);
  SGD opt({{"a", a}, {"b", b}}, {.lr = 0.5, .momentum = 0.9}, 0.1);
  a.set_grad(full({3}, 2.0));
  const uint64_t va = a.storage()->version(), vb = b.storage()->version();
  opt.step();
  CHECK(a.to_vector<float>() == std::vector<float>(3, 1.0f - 0.5f * (2.0f + 0.1f)));
  CHECK(b.to_vector<float>() == std::vector<float>(2, 1.0f));
  CHECK(a.storage()->version() > va);
  CHECK(b.storage()->version() == vb);
  opt.zero_grad();
  CHECK_FALSE(a.grad().defined());
}

TEST_CASE("optim: parameter checks and decay groups") {
  Tensor w = ones({2, 2}), bias = ones({2}), bn = ones({2});
  const NamedParams named{{"fc.weight", w}, {"fc.bias", bias}, {"bn.weight", bn}};
  const auto groups = decay_groups(named, 0.05, true);
  REQUIRE(groups.size() == 2);
  CHECK(groups[0].weight_decay == 0.05);
  CHECK(groups[0].params.size() == 1);
  CHECK(groups[1].weight_decay == 0.0);
  CHECK(groups[1].params.size() == 2);
  CHECK(decay_groups(named, 0.05, false).size() == 1);
  CHECK_THROWS_AS(SGD(NamedParams{{"x", w}, {"x", bias}}, {.lr = 0.1}), Error);  // duplicate name
  CHECK_THROWS_AS(SGD(NamedParams{{"x", w}, {"y", w}}, {.lr = 0.1}), Error);     // same tensor twice
  CHECK_THROWS_AS(SGD(named, {.lr = 0.1, .nesterov = true}), Error);             // nesterov, no momentum
  SGD opt(named, {.lr = 0.1});
  w.set_grad(ones({2, 2}));
  bias.set_grad(ones({3}));
  CHECK_THROWS_AS(opt.step(), Error);                          // a grad's shape differs from its parameter's
  CHECK(w.to_vector<float>() == std::vector<float>(4, 1.0f));  // and nothing was updated
  CHECK(opt.step_count() == 0);
}

}  // namespace cherry
