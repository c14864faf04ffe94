// The fair MoE setups of issue 21: a small random router instead of zeros, drop-upcycling (each
// expert re-draws a fraction of the FFN's hidden units), and IMP after warm-up that sets the newly
// static entries from the experts (the switch keeps the function where they agree, and the loss of a
// fine-tuned PAD-MoE BERT moves far less across it than with the pretrained Ws).
#include <cmath>

#include "autograd/ops.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "layers/imp.h"
#include "models/bert_checkpoint.h"
#include "models/bert_moe.h"
#include "models/padnet.h"
#include "optim/adamw.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

MoeOptions pad_moe(int64_t experts, int64_t k) {
  MoeOptions o;
  o.experts = experts, o.top_k = k, o.pad.mode = DynamicMode::pad;
  return o;
}

// 1 where a and b differ, else 0 (f32).
Tensor differs(const Tensor& a, const Tensor& b) { return gt(abs(a - b), zeros({}, a.dtype())).to(DType::f32); }

// Rows (axis 0) or columns (axis 1) of expert e that differ anywhere from the dense weight.
int64_t redrawn_units(const MoeLinear& m, const Tensor& w, int64_t e, int64_t axis) {
  return int64_t(sum(amax(differs(m.factors.select(0, e), w), {1 - axis})).item<float>());
}

}  // namespace

TEST_CASE("MoeLinear router_init_std: N(0, std^2) router weights, zeros by default") {
  manual_seed(1);
  MoeOptions o = pad_moe(8, 2);
  CHECK(amax(abs(MoeLinear(64, 16, o).w_gate)).item<float>() == 0.0f);
  o.router_init_std = 0.02;
  MoeLinear m(64, 16, o);
  const double sd = std::sqrt(mean(square(m.w_gate.to(DType::f64))).item<double>());
  CHECK(sd == doctest::Approx(0.02).epsilon(0.15));
  CHECK(amax(abs(m.w_noise)).item<float>() == 0.0f);  // noise weights stay zero
}

TEST_CASE("drop-upcycling: each expert re-draws round(r x units) hidden units from the dense weight's N(mean, sd), and Ws stays dense") {
  manual_seed(2);
  Generator g(3);
  const Tensor w = randn({64, 48}, DType::f32, kCPU, g) * 0.5 + 0.1, b = randn({64}, DType::f32, kCPU, g);
  for (int64_t axis : {0, 1}) {
    CAPTURE(axis);
    MoeOptions o = pad_moe(4, 2);
    o.upcycle_reinit = 0.25;
    MoeLinear m(48, 64, o);
    m.upcycle_from(w, b, axis);
    const int64_t units = w.size(axis), want = std::llround(0.25 * double(units));
    std::vector<Tensor> changed;
    for (int64_t e = 0; e < 4; ++e) {
      CHECK(redrawn_units(m, w, e, axis) == want);
      changed.push_back(differs(m.factors.select(0, e), w));
    }
    CHECK(sum(differs(changed[0], changed[1])).item<float>() > 0);  // each expert its own units
    CHECK_CLOSE(m.static_weight, w, 0, 0);
    CHECK_CLOSE(m.bias.select(0, 3), b, 0, 0);
    // The re-drawn values follow the dense weight's statistics.
    const Tensor drawn_mask = changed[0].to(DType::f64), e0 = m.factors.select(0, 0).to(DType::f64);
    const double n = sum(drawn_mask).item<double>(), mu = sum(e0 * drawn_mask).item<double>() / n;
    const double sd = std::sqrt(sum(square(e0 - mu) * drawn_mask).item<double>() / n);
    CHECK(mu == doctest::Approx(0.1).epsilon(0.5));
    CHECK(sd == doctest::Approx(0.5).epsilon(0.1));
  }
  MoeLinear plain(48, 64, pad_moe(4, 2));  // upcycle_reinit 0: exact copies
  plain.upcycle_from(w, b, 0);
  for (int64_t e = 0; e < 4; ++e) CHECK(redrawn_units(plain, w, e, 0) == 0);
}

TEST_CASE("PAD set_mask with static_from_factors: the layer computes the same function across the switch where the experts agree") {
  Generator g(4);
  const Tensor w = randn({5, 6}, DType::f64, kCPU, g), b = randn({5}, DType::f64, kCPU, g), x = randn({9, 6}, DType::f64, kCPU, g);
  const Tensor moved = randn({5, 6}, DType::f64, kCPU, g) * 0.3;  // what warm-up taught every expert alike
  const Tensor mask = bernoulli({5, 6}, 0.5, DType::f64, kCPU, g);
  auto make = [&] {
    auto m = std::make_shared<MoeLinear>(6, 5, pad_moe(4, 2));
    m->to(DType::f64);
    m->upcycle_from(w, b);
    NoGradGuard ng;
    m->factors.copy_(m->factors + moved.unsqueeze(0));  // Ws stays the pretrained w
    m->phi.fill_(0.4);                                   // lambda_d = 2 sigmoid(0.4) != lambda_s
    m->w_gate.copy_(randn(m->w_gate.shape(), DType::f64, kCPU, g));
    m->eval();
    return m;
  };
  auto keep = make(), from_factors = make();
  NoGradGuard ng;
  const Tensor before = keep->forward(x);
  from_factors->set_mask(mask, true);
  CHECK_CLOSE(from_factors->forward(x), before, 1e-12, 1e-12);
  keep->set_mask(mask);
  CHECK(amax(abs(keep->forward(x) - before)).item<double>() > 1e-2);  // the pretrained Ws: the warm-up's moves lost
  // Entries that stay static keep their Ws; entries turning dynamic leave it as it was.
  const Tensor ws = from_factors->static_weight.clone();
  from_factors->factors.copy_(from_factors->factors * 2.0);
  from_factors->set_mask(ones({5, 6}, DType::f64), true);
  CHECK_CLOSE(from_factors->static_weight, ws, 0, 0);
}

TEST_CASE("PAD-MoE BERT after fine-tuning steps: IMP with Ws from the experts keeps the logits continuous, for any partition") {
  const auto f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_bert_tiny.safetensors");
  const Tensor ids = f.at("input_ids"), mask = f.at("attention_mask"), types = f.at("token_type_ids");
  const Tensor labels = zeros({ids.size(0)}, DType::i64);
  // The largest change of any logit across IMP, over the largest logit.
  auto jump = [&](ImpScorer scorer, bool from_factors) {
    manual_seed(5);
    auto dense = load_bert_for_sequence_classification(std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny", 3);
    MoeOptions o = pad_moe(4, 2);
    o.router_init_std = 0.02;
    auto moe = upcycle_to_moe(*dense, o);
    AdamW opt(decay_groups(moe->named_parameters(), 0.0, true), AdamWOptions{3e-3});
    for (int step = 0; step < 6; ++step) {  // the warm-up at M = 1: the experts move, Ws does not
      moe->train();
      opt.zero_grad();
      moe->loss(moe->forward(ids, mask, types), labels).backward();
      opt.step();
    }
    moe->eval();
    auto logits = [&] {
      NoGradGuard ng;
      return moe->forward(ids, mask, types);
    };
    const Tensor before = logits();
    ImpOptions io;
    io.kappa = 0.5, io.iterations = 2, io.batches = 1, io.scorer = scorer, io.static_from_factors = from_factors;
    run_imp(pad_layers(*moe), io, [&](int64_t) { return moe->loss(moe->forward(ids, mask, types), labels); });
    moe->zero_grad();
    return double(amax(abs(logits() - before)).item<float>() / amax(abs(before)).item<float>());
  };
  // A random partition makes static whatever entries it draws: the pretrained Ws there undoes the
  // warm-up (the GLUE table's PAD-MoE random rows); the experts' mean keeps it.
  const double random_keep = jump(ImpScorer::random, false), random_factors = jump(ImpScorer::random, true);
  CAPTURE(random_keep);
  CAPTURE(random_factors);
  CHECK(random_factors < 0.25 * random_keep);
  CHECK(random_factors < 0.05);
  // IMP's gradient scorer makes static the entries whose switch moves the loss least, under either
  // rule (measured: 0.6% with keep, 0.9% with factors), so both stay continuous; only factors keeps
  // the warm-up's updates of those entries.
  CHECK(jump(ImpScorer::grad, true) < 0.02);
}

}  // namespace cherry
