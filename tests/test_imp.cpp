// Iterative Mode Partition and PAD-Net accounting: kappa achieved to the entry (global and per
// layer), deterministic top-k, report invariants (histograms, flips), the folded deployment form
// giving the same outputs with (K kappa + 1 - kappa) N stored values, FLOPs from shapes.
#include "autograd/flops.h"
#include "core/rng.h"
#include "layers/deployed_conv2d.h"
#include "layers/imp.h"
#include "models/padnet.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

DynamicConvOptions pad_opts(int64_t k = 4) {
  DynamicConvOptions o;
  o.kernels = k, o.temperature = 2.0;
  return o;
}

ResNet small_padnet(ConvKind kind = ConvKind::pad) {
  manual_seed(11);
  return ResNet(ResNetConfig{"resnet20", 1, 10}, padnet_conv_factory(kind, pad_opts()));
}

// A scoring loss over fixed random batches (the trainer uses training batches).
std::function<Tensor(int64_t)> random_batches_loss(ResNet& model) {
  return [&model](int64_t b) {
    Generator g(100 + uint64_t(b));
    Tensor x = randn({4, 1, 12, 12}, DType::f32, kCPU, g);
    Tensor y = randint({4}, 0, 10, kCPU, g);
    return cross_entropy(model.forward(x), y);
  };
}

}  // namespace

TEST_CASE("IMP: kappa schedules end at the target") {
  ImpOptions o;
  o.kappa = 0.3, o.iterations = 5;
  CHECK(imp_target_kappa(o, 5) == doctest::Approx(0.3));
  CHECK(imp_target_kappa(o, 1) == doctest::Approx(std::pow(0.3, 0.2)));
  o.schedule = ImpSchedule::linear;
  CHECK(imp_target_kappa(o, 1) == doctest::Approx(0.86));
  CHECK(imp_target_kappa(o, 5) == doctest::Approx(0.3));
}

TEST_CASE("IMP: top-k keeps exactly k entries across layers, and ties go to the lower index") {
  std::vector<Tensor> s = {from_vector<double>({0.5, 0.1, 0.5, 0.9}, {4}), from_vector<double>({0.5, 0.0}, {2})};
  auto m = top_entries_mask(s, 3);
  CHECK(m[0].to_vector<float>() == std::vector<float>{1, 0, 1, 1});
  CHECK(m[1].to_vector<float>() == std::vector<float>{0, 0});
  m = top_entries_mask(s, 4);
  CHECK(m[1].to_vector<float>() == std::vector<float>{1, 0});
}

TEST_CASE("IMP on a PAD ResNet-20: achieved kappa, per-layer scope, reports consistent with the masks") {
  for (ImpScope scope : {ImpScope::global, ImpScope::layer}) {
    ResNet model = small_padnet();
    model.eval();
    auto layers = pad_layers(model);
    REQUIRE(layers.size() == 20);  // 18 block convs + 2 projection shortcuts
    ImpOptions o;
    o.kappa = 0.3, o.iterations = 3, o.scope = scope, o.batches = 2;
    auto report = run_imp(layers, o, random_batches_loss(model));
    REQUIRE(report.size() == 3);
    int64_t total = 0;
    for (auto& [n, l] : layers) total += l->weight_numel();
    std::vector<Tensor> previous;
    for (const auto& it : report) {
      int64_t dyn = 0;
      for (const auto& lr : it.layers) {
        int64_t counted = lr.zero_scores;
        for (auto c : lr.histogram) counted += c;
        CHECK(counted == lr.entries);
        dyn += lr.dynamic;
        if (scope == ImpScope::layer) CHECK(std::abs(double(lr.dynamic) - it.target_kappa * double(lr.entries)) <= 0.5 + 1e-9);
      }
      CHECK(std::abs(double(dyn) - it.target_kappa * double(total)) <= double(layers.size()));
      CHECK(it.achieved_kappa == doctest::Approx(double(dyn) / double(total)));
    }
    // The first iteration starts from all-dynamic, so its flips are the entries made static.
    for (const auto& lr : report[0].layers) CHECK(lr.flips == lr.entries - lr.dynamic);
    CHECK(count_parameters(model).kappa() == doctest::Approx(report.back().achieved_kappa));
    // The final report matches the masks left in the layers.
    for (size_t l = 0; l < layers.size(); ++l) CHECK(layers[l].second->dynamic_entries() == report.back().layers[l].dynamic);
  }
}

TEST_CASE("IMP: gradient scores are |sum of dL/dM| and favour entries whose static and dynamic values differ") {
  ResNet model = small_padnet();
  model.eval();
  auto layers = pad_layers(model);
  ImpOptions o;
  o.batches = 2;
  auto scores = imp_scores(layers, o, 1, random_batches_loss(model));
  // Recompute by hand for one layer: backward each batch, sum, abs.
  auto& l = layers[3].second;
  l->mask.set_requires_grad(true);
  auto loss = random_batches_loss(model);
  loss(0).backward();
  loss(1).backward();
  CHECK_CLOSE(scores[3], abs(l->mask.grad().to(DType::f64)), 1e-6, 1e-12);
  l->mask.set_requires_grad(false);
  CHECK(sum(scores[3]).item<double>() > 0);
  // Where Ws equals every W_k and lambda_d = lambda_s, the first-order score is exactly 0.
  {
    NoGradGuard ng;
    l->static_weight.copy_(l->factors.narrow(0, 0, 1).squeeze(0));
    for (int64_t k = 1; k < l->num_factors(); ++k) l->factors.narrow(0, k, 1).copy_(l->factors.narrow(0, 0, 1));
  }
  model.zero_grad();
  scores = imp_scores(layers, o, 1, random_batches_loss(model));
  CHECK(amax(scores[3]).item<double>() < 1e-7);
}

TEST_CASE("IMP: random and magnitude scorers reach the target, and random depends on its seed") {
  ResNet model = small_padnet();
  auto layers = pad_layers(model);
  ImpOptions o;
  o.kappa = 0.5, o.iterations = 1, o.scorer = ImpScorer::random, o.seed = 1;
  run_imp(layers, o, {});
  Tensor m1 = layers[0].second->mask.clone();
  o.seed = 2;
  run_imp(layers, o, {});
  CHECK(sum(abs(m1 - layers[0].second->mask)).item<float>() > 0);
  o.scorer = ImpScorer::magnitude;
  auto r = run_imp(layers, o, {});
  CHECK(r.back().achieved_kappa == doctest::Approx(0.5).epsilon(1e-4));
}

TEST_CASE("PAD-Net parameter counts and FLOPs") {
  manual_seed(1);
  ResNet stat(ResNetConfig{"resnet20", 3, 10});
  ParameterCounts s = count_parameters(stat);
  CHECK(s.dynamic == 0);
  CHECK(s.stored() == s.trainable);
  // Conv FLOPs of ResNet-20 on 32x32 from its shapes: stem, 3 stages of 6 3x3 convs, 2 shortcuts, fc.
  int64_t expect = 2 * 16 * 32 * 32 * 3 * 9;
  const int64_t widths[3] = {16, 32, 64}, sizes[3] = {32, 16, 8};
  for (int st = 0; st < 3; ++st) {
    const int64_t c = widths[st], hw = sizes[st] * sizes[st];
    expect += 5 * 2 * c * hw * c * 9 + 2 * c * hw * (st ? c / 2 : c) * 9;  // the first conv reads the previous width
    if (st) expect += 2 * c * hw * (c / 2);                                  // 1x1 projection shortcut
  }
  expect += 2 * 64 * 10;
  CHECK(forward_flops(stat, {3, 32, 32}) == expect);

  ResNet dy = small_padnet(ConvKind::dynamic);
  ParameterCounts d = count_parameters(dy);
  int64_t block = 0;
  for (auto& [n, l] : pad_layers(dy)) block += l->weight_numel();
  CHECK(d.dynamic == 4 * block);
  CHECK(d.kappa() == 1.0);
  CHECK(d.stored() == d.trainable);
}

TEST_CASE("deployment folding: same outputs, (K kappa + 1 - kappa) N stored values per PAD layer") {
  ResNet model = small_padnet();
  auto layers = pad_layers(model);
  ImpOptions o;
  o.kappa = 0.3, o.iterations = 1, o.scorer = ImpScorer::random;
  run_imp(layers, o, {});
  {
    NoGradGuard ng;
    for (auto& [n, l] : layers) l->phi.fill_(-0.4);  // lambda_d != lambda_s
  }
  Generator g(3);
  Tensor x = randn({3, 1, 12, 12}, DType::f32, kCPU, g);
  // A few training steps' worth of BN statistics so eval mode is not the identity.
  model.train();
  model.forward(x);
  model.eval();
  auto deployed = deploy_resnet(model);
  deployed->eval();
  NoGradGuard ng;
  Tensor folded_out = deployed->forward(x);
  CHECK_CLOSE(folded_out, model.forward(x), 1e-4, 1e-5);
  // The folded form is a copy: changing the trained model afterwards must show.
  for (auto& [n, l] : layers) l->phi.fill_(0.4);
  CHECK(amax(abs(folded_out - model.forward(x))).item<float>() > 1e-3);
  int64_t folded = 0;
  for (auto& [n, c] : deployed->modules_of_type<DeployedConv2d>()) folded += c->stored_values();
  int64_t expect = 0;
  for (auto& [n, l] : layers) expect += 4 * l->dynamic_entries() + (l->weight_numel() - l->dynamic_entries());
  CHECK(folded == expect);
  int64_t in_pad = 0;
  for (auto& [n, l] : layers) in_pad += l->factors.numel() + l->static_weight.numel() + 1;  // + phi
  const ParameterCounts c = count_parameters(model);
  CHECK(c.stored() == folded + (c.trainable - in_pad));  // the folded layers plus everything else
  CHECK(deployed_values(*deployed) == c.stored());       // counted from the deployed model's tensors
  // The apps refuse to save a fold whose outputs differ beyond f32 rounding (here: phi changed since).
  CHECK_THROWS_WITH_AS(check_deployed_outputs(model.forward(x), folded_out), doctest::Contains("the fold is wrong"), Error);
  for (auto& [n, l] : layers) l->phi.fill_(-0.4);
  CHECK(check_deployed_outputs(model.forward(x), folded_out) < 1e-4);
}

}  // namespace cherry
