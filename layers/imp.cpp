#include "layers/imp.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "autograd/ops.h"
#include "core/rng.h"

namespace cherry {

double imp_target_kappa(const ImpOptions& o, int64_t t) {
  const double f = double(t) / double(o.iterations);
  return o.schedule == ImpSchedule::exponential ? std::pow(o.kappa, f) : 1.0 - (1.0 - o.kappa) * f;
}

std::vector<Tensor> imp_scores(const NamedPadLayers& layers, const ImpOptions& o, int64_t iteration,
                               const std::function<Tensor(int64_t)>& loss_of_batch) {
  std::vector<Tensor> scores;
  if (o.scorer == ImpScorer::random) {
    Generator g(o.seed * 1000003 + uint64_t(iteration));
    for (auto& [name, l] : layers) scores.push_back(rand(l->weight_shape(), DType::f64, kCPU, g));
    return scores;
  }
  if (o.scorer == ImpScorer::magnitude) {
    NoGradGuard ng;
    for (auto& [name, l] : layers) scores.push_back(abs(mean(l->factors, {0}) - l->static_weight).to(DType::f64));
    return scores;
  }
  // Gradient scorer: accumulate dL/dM over the scoring batches, then take |.| of the sum.
  for (auto& [name, l] : layers) {
    l->mask.set_requires_grad(true);
    l->mask.set_grad({});
  }
  for (int64_t b = 0; b < o.batches; ++b) loss_of_batch(b).backward();
  for (auto& [name, l] : layers) {
    Tensor g = l->mask.grad();
    scores.push_back(g.defined() ? abs(g.to(DType::f64)) : zeros(l->weight_shape(), DType::f64));
    l->mask.set_grad({});
    l->mask.set_requires_grad(false);
  }
  return scores;
}

std::vector<Tensor> top_entries_mask(const std::vector<Tensor>& scores, int64_t keep) {
  std::vector<double> all;
  std::vector<int64_t> offset;
  for (const Tensor& s : scores) {
    offset.push_back(int64_t(all.size()));
    auto v = s.to(DType::f64).contiguous().to_vector<double>();
    all.insert(all.end(), v.begin(), v.end());
  }
  keep = std::clamp<int64_t>(keep, 0, int64_t(all.size()));
  std::vector<int64_t> order(all.size());
  std::iota(order.begin(), order.end(), 0);
  auto higher = [&](int64_t a, int64_t b) { return all[a] != all[b] ? all[a] > all[b] : a < b; };
  std::nth_element(order.begin(), order.begin() + keep, order.end(), higher);
  std::vector<float> flat(all.size(), 0.f);
  for (int64_t i = 0; i < keep; ++i) flat[order[i]] = 1.f;
  std::vector<Tensor> masks;
  for (size_t l = 0; l < scores.size(); ++l) {
    std::vector<float> m(flat.begin() + offset[l], flat.begin() + offset[l] + scores[l].numel());
    masks.push_back(from_vector(m, scores[l].shape()));
  }
  return masks;
}

namespace {
constexpr int kHistogramBins = 40;

// Fills the shared log10 histogram range and each layer's counts, thresholds and flips.
void describe_iteration(ImpIteration& it, const NamedPadLayers& layers, const std::vector<Tensor>& scores,
                        const std::vector<Tensor>& new_masks, const std::vector<Tensor>& old_masks) {
  double lo = INFINITY, hi = -INFINITY;
  std::vector<std::vector<double>> values;
  for (const Tensor& s : scores) {
    values.push_back(s.contiguous().to_vector<double>());
    for (double v : values.back())
      if (v > 0) lo = std::min(lo, std::log10(v)), hi = std::max(hi, std::log10(v));
  }
  if (!(lo <= hi)) lo = hi = 0;
  if (hi - lo < 1e-9) hi = lo + 1;
  it.log10_lo = lo, it.log10_hi = hi;
  int64_t total = 0, dynamic = 0;
  it.threshold = INFINITY;
  for (size_t l = 0; l < layers.size(); ++l) {
    ImpLayerReport r;
    r.name = layers[l].first;
    r.histogram.assign(kHistogramBins, 0);
    auto m = new_masks[l].to_vector<float>(), prev = old_masks[l].to(DType::f32).contiguous().to_vector<float>();
    r.threshold = INFINITY;
    for (size_t i = 0; i < m.size(); ++i) {
      const double v = values[l][i];
      if (v > 0) r.histogram[std::min<int64_t>(kHistogramBins - 1, int64_t((std::log10(v) - lo) / (hi - lo) * kHistogramBins))]++;
      else r.zero_scores++;
      if (m[i] > 0.5f) r.dynamic++, r.threshold = std::min(r.threshold, v);
      if ((m[i] > 0.5f) != (prev[i] > 0.5f)) r.flips++;
    }
    r.entries = int64_t(m.size());
    r.kappa = double(r.dynamic) / double(r.entries);
    if (r.dynamic == 0) r.threshold = 0;
    it.threshold = std::min(it.threshold, r.threshold);
    total += r.entries, dynamic += r.dynamic;
    it.layers.push_back(std::move(r));
  }
  it.achieved_kappa = total ? double(dynamic) / double(total) : 0;
  if (!std::isfinite(it.threshold)) it.threshold = 0;
}
}  // namespace

std::vector<ImpIteration> run_imp(const NamedPadLayers& layers, const ImpOptions& o, const std::function<Tensor(int64_t)>& loss_of_batch) {
  CHERRY_CHECK(o.kappa >= 0 && o.kappa <= 1, "IMP", "kappa must be in [0, 1], got ", o.kappa);
  CHERRY_CHECK(o.iterations >= 1, "IMP", "needs at least one iteration, got ", o.iterations);
  CHERRY_CHECK(o.scorer != ImpScorer::grad || o.batches >= 1, "IMP", "the gradient scorer needs at least one scoring batch");
  for (auto& [name, l] : layers) CHERRY_CHECK(l->is_pad(), "IMP", name, " is fully dynamic: IMP partitions PAD layers only");
  int64_t total = 0;
  for (auto& [name, l] : layers) {
    l->set_mask(ones(l->weight_shape()));
    if (o.static_from_factors) l->set_static_from_factors();  // M = 1: the output does not change
    total += l->weight_numel();
  }
  std::vector<ImpIteration> report;
  for (int64_t t = 1; t <= o.iterations; ++t) {
    const double target = imp_target_kappa(o, t);
    std::vector<Tensor> scores = imp_scores(layers, o, t, loss_of_batch), masks, old;
    for (auto& [name, l] : layers) old.push_back(l->mask.clone());
    if (o.scope == ImpScope::global) {
      masks = top_entries_mask(scores, std::llround(target * double(total)));
    } else {
      for (size_t l = 0; l < layers.size(); ++l)
        masks.push_back(top_entries_mask({scores[l]}, std::llround(target * double(layers[l].second->weight_numel())))[0]);
    }
    for (size_t l = 0; l < layers.size(); ++l) layers[l].second->set_mask(masks[l], o.static_from_factors);
    ImpIteration it;
    it.iteration = t, it.target_kappa = target;
    describe_iteration(it, layers, scores, masks, old);
    report.push_back(std::move(it));
  }
  return report;
}

}  // namespace cherry
