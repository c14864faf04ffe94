// What the apps record about their dynamic layers, for the run directory and the audit report: the
// statistics of dynamic.jsonl and dynamic_summary.json (per layer: kappa, lambda_s/lambda_d, and the
// attention entropy and collapse of a DY-Conv or the routing of an MoE layer), measured on the layers
// themselves. The records and their JSON are apps/common/run_records.h's.
#pragma once
#include "apps/common/run_records.h"
#include "layers/imp.h"

namespace cherry {

// Mean over samples of H(pi_b) / log K for attention rows pi [B, K] (1 = uniform, 0 = one-hot).
double normalised_attention_entropy(const Tensor& pi);
// Fraction of samples whose largest attention weight exceeds `threshold` (a collapsed mixture).
double collapsed_fraction(const Tensor& pi, double threshold = 0.99);
inline constexpr double kCollapseThreshold = 0.99;

// The global kappa and every layer's statistics, with the attention (DY-Conv) or routing statistics
// (MoE: tokens per expert, dead experts, router entropy, balance loss) of its last forward pass.
DynamicSnapshot dynamic_layer_stats(const NamedPadLayers& layers);

}  // namespace cherry
