// A trained PAD-MoE (or MoE) layer folded for deployment (docs/PADNET.md §5): the static dense part
// lambda_s (1-M) ⊙ Ws, one shared index list of the dynamic positions and E value arrays
// lambda_d W_e there. Routing is the trained router's clean gate (no noise, so no w_noise); each
// chosen expert's weight is rebuilt from its values, so outputs equal the trained layer's in eval mode.
#pragma once
#include "layers/moe_linear.h"

namespace cherry {

class DeployedMoeLinear : public Layer {
 public:
  explicit DeployedMoeLinear(const MoeLinear& trained);
  Tensor forward(const Tensor& x) override;  // [..., in] -> [..., out]
  std::string type_name() const override { return "DeployedMoeLinear"; }
  std::string extra_repr() const override;
  int64_t stored_values() const;  // folded values + router gate + biases (the noise weights are training-only)

 private:
  int64_t in_, out_, top_k_;
  FoldedPad folded_;
  Tensor w_gate_, bias_;
};

}  // namespace cherry
