// Mixture-of-experts linear layer with a noisy top-k router (Shazeer et al. 2017; docs/PADNET.md §3),
// and its PAD form (§1): E single-linear experts W_1..W_E share one mask M with a static Ws.
//
//   clean logits h = x W_g; training adds eps * (softplus(x W_n) + 0.01), eps ~ N(0, 1)
//   gates G = softmax over the k largest logits (0 elsewhere), per token
//   y = sum_i G_i(x) (x [lambda_d M ⊙ W_i]^T + b_i) + x [lambda_s (1-M) ⊙ Ws]^T
//
// Only the chosen experts run: tokens are gathered per expert, one GEMM per expert, and the
// outputs scatter-added back. The load-balancing loss 0.01 (CV^2(importance) + CV^2(load)) of the
// last forward pass is kept for the caller to add to the task loss.
#pragma once
#include "layers/pad_layer.h"

namespace cherry {

struct MoeOptions {
  int64_t experts = 8;     // E
  int64_t top_k = 2;       // k
  PadOptions pad;          // dynamic (plain MoE) or pad
  double noise_epsilon = 0.01;
  bool noisy = true;       // noisy gating while training
  // Remedies for upcycling (issue 21): while the chosen experts are copies of one FFN the task
  // gradient reaching the router cancels, so only the balance loss would train it.
  double router_init_std = 0;  // w_gate ~ N(0, std^2) instead of zeros (Shazeer et al.'s choice)
  double upcycle_reinit = 0;   // drop-upcycling: per expert, re-draw this fraction of the hidden units
};

class MoeLinear : public PadLayer {
 public:
  MoeLinear(int64_t in_features, int64_t out_features, const MoeOptions& o);
  // "Upcycling": every expert (and Ws) a copy of a dense layer's weight and bias. With
  // MoeOptions::upcycle_reinit r, each expert then re-draws a random r of the FFN's hidden units from
  // N(mean, sd) of the dense weight (Drop-Upcycling, Nakamura et al. 2025): rows of the weight when the
  // hidden units are this layer's outputs (hidden_axis 0, the FFN's first linear), columns when they
  // are its inputs (1, the second). Ws stays the dense weight.
  void upcycle_from(const Tensor& weight, const Tensor& bias, int64_t hidden_axis = 0);
  Tensor forward(const Tensor& x) override;  // [..., in] -> [..., out]
  std::string type_name() const override { return "MoeLinear"; }
  int64_t training_only_values() const override { return w_noise.numel(); }  // noise is off at inference
  std::string extra_repr() const override;

  // CV^2(importance) + CV^2(load) of the last forward pass (unscaled; differentiable). Undefined
  // before the first pass.
  const Tensor& balance_loss() const { return balance_loss_; }

  // Routing of the last forward pass, for auditing (detached, CPU).
  struct Routing {
    std::vector<int64_t> tokens_per_expert;  // sums to tokens * k
    double router_entropy = 0;               // mean over tokens of H(softmax(clean logits)) / log E
    int64_t tokens = 0;
    Tensor gates;                            // [tokens, E], rows sum to 1
  };
  const Routing& last_routing() const { return routing_; }

  int64_t experts() const { return num_factors(); }
  int64_t top_k() const { return top_k_; }
  Tensor w_gate, w_noise, bias;  // [in, E], [in, E], [E, out]

 private:
  int64_t in_, out_, top_k_;
  double noise_epsilon_, upcycle_reinit_;
  bool noisy_;
  Tensor balance_loss_;
  Routing routing_;
};

// The router and the expert mixing, shared by MoeLinear and its folded deployment form.
struct MoeRoute {
  Tensor gates_k;       // [T, k]: softmax over each token's k largest logits
  Tensor top_idx;       // [T, k] i64: the chosen experts
  Tensor balance_loss;  // CV^2(importance) + CV^2(load), 0-dim
  Tensor gates;         // [T, E]: gates_k scattered to their experts, 0 elsewhere
  Tensor clean_logits;  // [T, E]: x @ w_gate, before noise
};
// Noisy top-k gating (noise only when `noisy`); x: [T, in], w_gate/w_noise: [in, E].
MoeRoute noisy_top_k(const Tensor& x, const Tensor& w_gate, const Tensor& w_noise, int64_t k, bool noisy, double noise_epsilon);
// sum over each token's chosen experts of gate * (x W_e^T + b_e): tokens gathered by expert, one
// GEMM per expert (grouped_linear), scatter-added back. weights: [E, out, in], bias: [E, out].
Tensor mix_experts(const Tensor& x, const MoeRoute& r, const Tensor& weights, const Tensor& bias,
                   std::vector<int64_t>* tokens_per_expert = nullptr);

// CV^2 = var / mean^2 (unbiased variance, eps in the denominator), 0 for a single expert.
Tensor cv_squared(const Tensor& x);

}  // namespace cherry
