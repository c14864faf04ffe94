// The transformer layers BERT is built from: Embedding (init, padding_idx), the LayerNorm module,
// the additive padding mask and multi-head self-attention, and a whole BertLayer, each passing a
// float64 gradient check (input and every parameter, dropout on where the layer has it); padding
// must not leak into the tokens that are kept; the FFN factory sees every FFN linear.
#include <cmath>

#include "autograd/gradcheck.h"
#include "core/rng.h"
#include "layers/attention.h"
#include "layers/embedding.h"
#include "layers/layer_norm.h"
#include "models/bert.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

std::vector<Tensor> leaves_of(const Module& m, std::vector<Tensor> extra = {}) {
  for (auto& [name, p] : m.named_parameters()) extra.push_back(p);
  return extra;
}

double stddev(const Tensor& t) { return std::sqrt(var(t.to(DType::f64)).item<double>()); }

// (B=2, T=5): the second sequence has 2 padding positions.
Tensor padding_mask() { return from_vector<int64_t>({1, 1, 1, 1, 1, 1, 1, 1, 0, 0}, {2, 5}); }

BertConfig tiny_config() {
  BertConfig c;
  c.vocab_size = 11, c.hidden_size = 8, c.num_hidden_layers = 2, c.num_attention_heads = 2, c.intermediate_size = 12;
  c.max_position_embeddings = 6, c.layer_norm_eps = 1e-12;
  return c;
}

}  // namespace

TEST_CASE("Embedding: PyTorch's N(0,1) or BERT's N(0,0.02) init, and the padding_idx row starts at 0 and gets no gradient") {
  manual_seed(0);
  CHECK(std::abs(stddev(Embedding(1000, 16).weight) - 1.0) < 0.03);
  CHECK(std::abs(stddev(Embedding(1000, 16, std::nullopt, 0.02).weight) - 0.02) < 0.001);

  Embedding e(7, 3, 2);
  CHECK(sum(abs(e.weight.select(0, 2))).item<float>() == 0.0f);
  e.weight.detach().select(0, 2).fill_(0.5);  // a loaded checkpoint may hold any value there
  Tensor ids = from_vector<int64_t>({2, 4, 2, 0}, {2, 2});
  Tensor y = e.forward(ids);
  CHECK(y.shape() == Shape{2, 2, 3});
  CHECK_CLOSE(y.select(0, 0).select(0, 0), full({3}, 0.5), 0, 0);  // the padding row's value is returned
  (y * y).sum().backward();
  CHECK(sum(abs(e.weight.grad().select(0, 2))).item<float>() == 0.0f);
  CHECK_CLOSE(e.weight.grad().select(0, 4), 2 * e.weight.detach().select(0, 4), 1e-6, 0);
  CHECK_THROWS_AS(Embedding(7, 3, 7), Error);
  CHECK_THROWS_AS(e.forward(from_vector<int64_t>({9}, {1})), Error);
}

TEST_CASE("gradcheck: Embedding (repeated indices) and the LayerNorm module in float64") {
  manual_seed(1);
  // padding_idx deliberately cuts the gradient of its row, so the true derivative is checked on
  // the other rows (the padding row's zero gradient is the previous test's).
  Embedding e(6, 4, 0);
  e.to(DType::f64);
  Tensor ids = from_vector<int64_t>({2, 3, 5, 3, 1, 1}, {2, 3});
  GradcheckResult r = gradcheck_leaves([&] { return e.forward(ids); }, leaves_of(e));
  CHECK_MESSAGE(r.ok, r.message);

  LayerNorm ln(5, 1e-5);
  ln.to(DType::f64);
  Generator g(2);
  ln.weight.detach().copy_(randn({5}, DType::f64, kCPU, g));
  ln.bias.detach().copy_(randn({5}, DType::f64, kCPU, g));
  Tensor x = randn({3, 2, 5}, DType::f64, kCPU, g).set_requires_grad(true);
  r = gradcheck_leaves([&] { return ln.forward(x); }, leaves_of(ln, {x}));
  CHECK_MESSAGE(r.ok, r.message);
  CHECK(LayerNorm(5, 1e-12, false).named_parameters().empty());
}

TEST_CASE("additive attention mask: (B,1,1,T), 0 where kept, the dtype's lowest value where padded") {
  Tensor m = additive_attention_mask(padding_mask(), DType::f32);
  CHECK(m.shape() == Shape{2, 1, 1, 5});
  CHECK(m.at<float>({0, 0, 0, 4}) == 0.0f);
  CHECK(m.at<float>({1, 0, 0, 2}) == 0.0f);
  CHECK(m.at<float>({1, 0, 0, 3}) == std::numeric_limits<float>::lowest());
  CHECK(additive_attention_mask(padding_mask().to(DType::f32), DType::f64).at<double>({1, 0, 0, 4}) ==
        std::numeric_limits<double>::lowest());
}

TEST_CASE("self-attention: padded keys get zero weight, so kept tokens ignore what padding holds") {
  manual_seed(3);
  MultiHeadSelfAttention att(8, 2);
  Tensor mask = additive_attention_mask(padding_mask(), DType::f32);
  Tensor x = randn({2, 5, 8});
  Tensor y = att.forward(x, mask);
  CHECK(y.shape() == Shape{2, 5, 8});
  Tensor x2 = x.clone();
  x2.select(0, 1).narrow(0, 3, 2).copy_(randn({2, 8}) * 100.0);  // change the padding positions only
  Tensor y2 = att.forward(x2, mask);
  CHECK_CLOSE(y2.select(0, 1).narrow(0, 0, 3), y.select(0, 1).narrow(0, 0, 3), 1e-5, 1e-6);
  CHECK_CLOSE(y2.select(0, 0), y.select(0, 0), 0, 0);
  // Per head, the result is softmax(q k^T / sqrt(d) + mask) v over the kept keys only.
  Tensor q = att.query->forward(x).view({2, 5, 2, 4}).select(0, 1).select(1, 1).narrow(0, 0, 3);  // (3, 4) kept tokens, head 1
  Tensor k = att.key->forward(x).view({2, 5, 2, 4}).select(0, 1).select(1, 1).narrow(0, 0, 3);
  Tensor v = att.value->forward(x).view({2, 5, 2, 4}).select(0, 1).select(1, 1).narrow(0, 0, 3);
  Tensor expect = matmul(softmax(matmul(q, k.transpose(0, 1)) / 2.0, -1), v);
  CHECK_CLOSE(y.select(0, 1).narrow(0, 0, 3).narrow(1, 4, 4), expect, 1e-5, 1e-6);
  CHECK_THROWS_AS(MultiHeadSelfAttention(10, 3), Error);
}

TEST_CASE("gradcheck: multi-head self-attention with a padding mask and attention dropout, float64") {
  manual_seed(4);
  MultiHeadSelfAttention att(6, 3, 0.2);  // training mode: dropout on the probabilities (reseeded per evaluation)
  att.to(DType::f64);
  Generator g(5);
  Tensor x = randn({2, 5, 6}, DType::f64, kCPU, g).set_requires_grad(true);
  Tensor mask = additive_attention_mask(padding_mask(), DType::f64);
  GradcheckResult r = gradcheck_leaves([&] { return att.forward(x, mask); }, leaves_of(att, {x}));
  CHECK_MESSAGE(r.ok, r.message);
}

TEST_CASE("gradcheck: a whole BertLayer (attention, residuals, LayerNorms, GELU FFN, dropout) with padding, float64") {
  manual_seed(6);
  BertConfig c = tiny_config();
  BertLayer layer(c, dense_ffn_factory(0.3), 0);
  layer.to(DType::f64);
  Generator g(7);
  for (auto& [name, p] : layer.named_parameters())  // O(1) weights, so every path carries gradient
    p.detach().copy_(randn(p.shape(), DType::f64, kCPU, g) * (name.find("LayerNorm.weight") != std::string::npos ? 0.2 : 0.4) +
                     (name.find("LayerNorm.weight") != std::string::npos ? 1.0 : 0.0));
  Tensor x = randn({2, 5, 8}, DType::f64, kCPU, g).set_requires_grad(true);
  Tensor mask = additive_attention_mask(padding_mask(), DType::f64);
  GradcheckResult r = gradcheck_leaves([&] { return layer.forward(x, mask); }, leaves_of(layer, {x}));
  CHECK_MESSAGE(r.ok, r.message);
  CHECK(layer.named_parameters().size() == 16);
}

TEST_CASE("FFN factory: called for both FFN linears of every layer, with sizes, role and index, and its layer gets (N, in) tokens") {
  struct TokenRowsLinear : Layer {  // a stand-in for an MoE layer, asserting the documented contract
    std::shared_ptr<Linear> inner;
    TokenRowsLinear(int64_t in, int64_t out) { inner = register_module("inner", std::make_shared<Linear>(in, out)); }
    Tensor forward(const Tensor& x) override {
      CHERRY_CHECK(x.dim() == 2, "TokenRowsLinear", "expected (N, in), got ", x.describe());
      return inner->forward(x);
    }
    std::string type_name() const override { return "TokenRowsLinear"; }
  };
  std::vector<std::string> calls;
  FfnLinearFactory ffn = [&](int64_t in, int64_t out, FfnRole role, int64_t layer) -> std::shared_ptr<Layer> {
    calls.push_back(cat(layer, ":", ffn_role_name(role), ":", in, "->", out));
    return std::make_shared<TokenRowsLinear>(in, out);
  };
  BertConfig c = tiny_config();
  BertModel m(c, true, ffn);
  CHECK(calls == std::vector<std::string>{"0:intermediate:8->12", "0:output:12->8", "1:intermediate:8->12", "1:output:12->8"});
  bool found = false;
  for (auto& [name, t] : m.state_dict()) found |= name == "encoder.layer.1.output.dense.inner.weight";
  CHECK(found);
  Tensor ids = from_vector<int64_t>({1, 4, 5, 2, 0, 1, 3, 2, 0, 0}, {2, 5});
  BertModelOutput o = m.forward(ids, padding_mask());
  CHECK(o.last_hidden_state.shape() == Shape{2, 5, 8});
  CHECK(o.pooler_output.shape() == Shape{2, 8});
}

}  // namespace cherry
