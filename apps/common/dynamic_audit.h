// What the apps record about dynamic layers, for the run directory and the audit report:
// dynamic.jsonl (per logged step: kappa, lambda_s/lambda_d, attention entropy and collapse,
// temperature, per layer) and imp.jsonl (per IMP iteration: kappa, flips, score histograms).
#pragma once
#include <nlohmann/json.hpp>

#include "layers/imp.h"

namespace cherry {

// Mean over samples of H(pi_b) / log K for attention rows pi [B, K] (1 = uniform, 0 = one-hot).
double normalised_attention_entropy(const Tensor& pi);
// Fraction of samples whose largest attention weight exceeds `threshold` (a collapsed mixture).
double collapsed_fraction(const Tensor& pi, double threshold = 0.99);
inline constexpr double kCollapseThreshold = 0.99;

// One object: {"kappa": global, "layers": [{name, kappa, lambda_d, lambda_s, K, entries, ...}]},
// with the attention statistics (DY-Conv) or routing statistics (MoE: tokens per expert, dead
// experts, router entropy, balance loss) of each layer's last forward pass.
nlohmann::json dynamic_layer_stats(const NamedPadLayers& layers);
// With the settings that produced it and the number of training steps done before it ran.
nlohmann::json imp_iteration_json(const ImpIteration& it, const ImpOptions& o, int64_t step);

}  // namespace cherry
