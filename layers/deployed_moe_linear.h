// A trained PAD-MoE (or MoE) layer folded for deployment (PADNET.md §5): the static dense part
// lambda_s (1-M) ⊙ Ws, one shared index list of the dynamic positions and E value arrays
// lambda_d W_e there. Routing is the trained router's (no noise); each chosen expert's weight is
// rebuilt from its values, so outputs equal the trained layer's in eval mode.
#pragma once
#include "layers/moe_linear.h"

namespace cherry {

class DeployedMoeLinear : public Layer {
 public:
  explicit DeployedMoeLinear(const MoeLinear& trained);
  Tensor forward(const Tensor& x) override;  // [..., in] -> [..., out]
  std::string type_name() const override { return "DeployedMoeLinear"; }
  std::string extra_repr() const override;
  int64_t stored_values() const;  // folded values + router + biases

 private:
  int64_t in_, out_, top_k_;
  double noise_epsilon_;
  FoldedPad folded_;
  Tensor w_gate_, w_noise_, bias_;
};

}  // namespace cherry
