#include "layers/attention.h"

#include <cmath>
#include <limits>

#include "autograd/ops.h"

namespace cherry {

Tensor additive_attention_mask(const Tensor& attention_mask, DType dtype) {
  CHERRY_CHECK(attention_mask.dim() == 2, "additive_attention_mask", "attention_mask must be (B, T), got ", attention_mask.describe());
  CHERRY_CHECK(is_floating(dtype), "additive_attention_mask", "mask dtype must be floating, got ", dtype_name(dtype));
  const double lowest = dtype == DType::f32 ? double(std::numeric_limits<float>::lowest()) : std::numeric_limits<double>::lowest();
  NoGradGuard ng;
  Tensor padded = eq(attention_mask, zeros({}, attention_mask.dtype(), attention_mask.device()));
  Tensor mask = masked_fill(zeros(attention_mask.shape(), dtype, attention_mask.device()), padded, lowest);
  return mask.unsqueeze(1).unsqueeze(1);
}

Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& additive_mask, double dropout_p,
                                    bool training) {
  CHERRY_CHECK(q.dim() == 4 && k.shape() == q.shape() && v.shape() == q.shape(), "scaled_dot_product_attention",
               "q, k, v must be (B, H, T, d) of one shape, got ", q.describe(), ", ", k.describe(), ", ", v.describe());
  // Scaling q (T*d elements) is cheaper than scaling the scores (T*T), and its output is contiguous,
  // which spares matmul a copy of the permuted q. Hugging Face scales the scores; the two differ by
  // rounding only.
  Tensor scores = matmul(q * (1.0 / std::sqrt(double(q.size(-1)))), k.transpose(-1, -2));
  if (additive_mask.defined()) scores = scores + additive_mask;
  Tensor probs = dropout(softmax(scores, -1), dropout_p, training);
  return matmul(probs, v);
}

MultiHeadSelfAttention::MultiHeadSelfAttention(int64_t hidden_size, int64_t num_heads, double attention_dropout)
    : hidden_(hidden_size), heads_(num_heads), dropout_(attention_dropout) {
  CHERRY_CHECK(hidden_size > 0 && num_heads > 0 && hidden_size % num_heads == 0, "MultiHeadSelfAttention", "hidden size ", hidden_size,
               " is not a multiple of ", num_heads, " heads");
  query = register_module("query", std::make_shared<Linear>(hidden_size, hidden_size));
  key = register_module("key", std::make_shared<Linear>(hidden_size, hidden_size));
  value = register_module("value", std::make_shared<Linear>(hidden_size, hidden_size));
}

Tensor MultiHeadSelfAttention::forward(const Tensor& x, const Tensor& additive_mask) {
  CHERRY_CHECK(x.dim() == 3 && x.size(2) == hidden_, "MultiHeadSelfAttention", "expected (B, T, ", hidden_, "), got ", x.describe());
  const int64_t B = x.size(0), T = x.size(1), d = hidden_ / heads_;
  // (B,T,D) -> (B,H,T,d) as views; k and v are copied once by matmul to fold (B,H) into one batch dim.
  auto heads = [&](const Tensor& t) { return t.view({B, T, heads_, d}).permute({0, 2, 1, 3}); };
  Tensor context = scaled_dot_product_attention(heads(query->forward(x)), heads(key->forward(x)), heads(value->forward(x)), additive_mask,
                                                dropout_, training());
  return context.permute({0, 2, 1, 3}).reshape({B, T, hidden_});
}

std::string MultiHeadSelfAttention::extra_repr() const {
  return cat("hidden_size=", hidden_, ", num_heads=", heads_, ", dropout=", dropout_);
}

}  // namespace cherry
