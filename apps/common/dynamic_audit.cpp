#include "apps/common/dynamic_audit.h"

#include <cmath>

#include "autograd/ops.h"
#include "layers/dynamic_conv2d.h"
#include "layers/moe_linear.h"

namespace cherry {

double normalised_attention_entropy(const Tensor& pi) {
  CHERRY_CHECK(pi.dim() == 2 && pi.size(1) >= 1, "audit", "attention must be [B, K], got ", shape_str(pi.shape()));
  if (pi.size(1) == 1 || pi.size(0) == 0) return 0.0;
  NoGradGuard ng;
  Tensor p = pi.to(DType::f64);
  Tensor h = -sum(p * log(clamp(p, 1e-300, 1.0)), {1});
  return mean(h).item<double>() / std::log(double(pi.size(1)));
}

double collapsed_fraction(const Tensor& pi, double threshold) {
  NoGradGuard ng;
  if (pi.size(0) == 0) return 0.0;
  Tensor top = amax(pi.to(DType::f64), {1});
  return mean(gt(top, scalar_tensor(threshold, DType::f64, top.device())).to(DType::f64)).item<double>();
}

nlohmann::json dynamic_layer_stats(const NamedPadLayers& layers) {
  nlohmann::json out = nlohmann::json::array();
  int64_t entries = 0, dynamic = 0;
  for (const auto& [name, l] : layers) {
    nlohmann::json j = {{"name", name}, {"K", l->num_factors()}, {"entries", l->weight_numel()}, {"dynamic", l->dynamic_entries()},
                        {"kappa", l->kappa()}, {"lambda_d", l->lambda_d_value()}, {"lambda_s", l->lambda_s_value()}};
    if (auto conv = std::dynamic_pointer_cast<DynamicConv2d>(l)) {
      j["temperature"] = conv->temperature_value();
      if (conv->last_attention().defined()) {
        j["attn_entropy"] = normalised_attention_entropy(conv->last_attention());
        j["attn_collapsed"] = collapsed_fraction(conv->last_attention(), kCollapseThreshold);
        j["attn_mean"] = mean(conv->last_attention().to(DType::f64), {0}).to_vector<double>();
      }
    }
    if (auto moe = std::dynamic_pointer_cast<MoeLinear>(l)) {
      const auto& r = moe->last_routing();
      int64_t dead = 0;
      for (auto n : r.tokens_per_expert) dead += n == 0;
      j["experts"] = moe->experts(), j["top_k"] = moe->top_k(), j["tokens"] = r.tokens;
      j["tokens_per_expert"] = r.tokens_per_expert, j["dead_experts"] = dead, j["router_entropy"] = r.router_entropy;
      if (moe->balance_loss().defined()) j["balance_loss"] = moe->balance_loss().item<float>();
    }
    entries += l->weight_numel(), dynamic += l->dynamic_entries();
    out.push_back(std::move(j));
  }
  return {{"kappa", entries ? double(dynamic) / double(entries) : 0.0}, {"layers", out}};
}

nlohmann::json imp_iteration_json(const ImpIteration& it, const ImpOptions& o, int64_t step) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : it.layers)
    layers.push_back({{"name", l.name}, {"entries", l.entries}, {"dynamic", l.dynamic}, {"kappa", l.kappa}, {"flips", l.flips},
                      {"threshold", l.threshold}, {"zero_scores", l.zero_scores}, {"histogram", l.histogram}});
  return {{"iteration", it.iteration}, {"target_kappa", it.target_kappa}, {"achieved_kappa", it.achieved_kappa},
          {"threshold", it.threshold}, {"log10_lo", it.log10_lo}, {"log10_hi", it.log10_hi}, {"layers", layers},
          {"iterations", o.iterations}, {"scorer", o.scorer == ImpScorer::grad ? "grad" : o.scorer == ImpScorer::random ? "random" : "magnitude"},
          {"scope", o.scope == ImpScope::global ? "global" : "layer"}, {"schedule", o.schedule == ImpSchedule::exponential ? "exp" : "linear"},
          {"batches", o.batches}, {"step", step}};
}

}  // namespace cherry
