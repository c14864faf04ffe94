// Multi-head self-attention with a padding mask, in Hugging Face BERT's shape: `query`, `key`,
// `value` projections and the attention itself. The output projection is not here: BERT keeps it
// with the residual LayerNorm in a sibling module (attention.output.dense), and the state-dict
// names must match.
#pragma once
#include "layers/linear.h"

namespace cherry {

// attention_mask:(B,T), 1 = token, 0 = padding (any dtype) -> (B,1,1,T) in `dtype`: 0 where kept,
// the dtype's lowest finite value where padded (Hugging Face's choice: exp underflows to exactly 0,
// and a row of padding alone still gives finite, uniform weights rather than NaN). Build it once per
// batch; every layer and head broadcasts it.
Tensor additive_attention_mask(const Tensor& attention_mask, DType dtype);

// q,k,v:(B,H,T,d), additive_mask:(B,1,1,T) or undefined -> (B,H,T,d).
// softmax(q k^T / sqrt(d) + mask) v, with dropout on the attention probabilities in training.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& additive_mask, double dropout_p = 0.0,
                                    bool training = false);

class MultiHeadSelfAttention : public Module {
 public:
  MultiHeadSelfAttention(int64_t hidden_size, int64_t num_heads, double attention_dropout = 0.0);
  // x:(B,T,D), additive_mask:(B,1,1,T) or undefined -> context (B,T,D), heads concatenated.
  Tensor forward(const Tensor& x, const Tensor& additive_mask);
  std::string type_name() const override { return "MultiHeadSelfAttention"; }
  std::string extra_repr() const override;
  int64_t num_heads() const { return heads_; }
  std::shared_ptr<Linear> query, key, value;

 private:
  int64_t hidden_, heads_;
  double dropout_;
};

}  // namespace cherry
