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

DynamicSnapshot dynamic_layer_stats(const NamedPadLayers& layers) {
  DynamicSnapshot out;
  int64_t entries = 0, dynamic = 0;
  for (const auto& [name, l] : layers) {
    LayerStats s{.name = name,
                 .kernels = l->num_factors(),
                 .entries = l->weight_numel(),
                 .dynamic = l->dynamic_entries(),
                 .kappa = l->kappa(),
                 .lambda_d = l->lambda_d_value(),
                 .lambda_s = l->lambda_s_value()};
    if (auto conv = std::dynamic_pointer_cast<DynamicConv2d>(l)) {
      s.temperature = conv->temperature_value();
      if (conv->last_attention().defined()) {
        s.attention.entropy = normalised_attention_entropy(conv->last_attention());
        s.attention.collapsed = collapsed_fraction(conv->last_attention(), kCollapseThreshold);
        s.attention.mean = mean(conv->last_attention().to(DType::f64), {0}).to_vector<double>();
      }
    }
    if (auto moe = std::dynamic_pointer_cast<MoeLinear>(l)) {
      const auto& r = moe->last_routing();
      int64_t dead = 0;
      for (auto n : r.tokens_per_expert) dead += n == 0;
      s.router = RouterStats{.experts = moe->experts(),
                             .top_k = moe->top_k(),
                             .tokens = r.tokens,
                             .dead_experts = dead,
                             .tokens_per_expert = r.tokens_per_expert,
                             .entropy = r.router_entropy};
      if (moe->balance_loss().defined()) s.router.balance_loss = moe->balance_loss().item<float>();
    }
    entries += l->weight_numel(), dynamic += l->dynamic_entries();
    out.layers.push_back(std::move(s));
  }
  out.kappa = entries ? double(dynamic) / double(entries) : 0.0;
  return out;
}

}  // namespace cherry
