#include "models/bert.h"

#include "autograd/ops.h"
#include "core/rng.h"

namespace cherry {

namespace {
// BERT's Linear init (Hugging Face _init_weights): weight N(0, std), bias 0.
std::shared_ptr<Linear> bert_linear(int64_t in, int64_t out, double std) {
  auto l = std::make_shared<Linear>(in, out);
  l->weight.set_data(normal({out, in}, 0.0, std));
  l->bias.set_data(zeros({out}));
  return l;
}

std::shared_ptr<Layer> make_ffn(const FfnLinearFactory& ffn, int64_t in, int64_t out, FfnRole role, int64_t layer_index) {
  auto l = ffn(in, out, role, layer_index);
  CHERRY_CHECK(l != nullptr, "BertLayer", "the FFN factory returned no layer for ", ffn_role_name(role), " of layer ", layer_index);
  return l;
}
}  // namespace

const char* ffn_role_name(FfnRole role) { return role == FfnRole::intermediate ? "intermediate" : "output"; }

FfnLinearFactory dense_ffn_factory(double init_std) {
  return [init_std](int64_t in, int64_t out, FfnRole, int64_t) -> std::shared_ptr<Layer> { return bert_linear(in, out, init_std); };
}

BertEmbeddings::BertEmbeddings(const BertConfig& c) {
  const double s = c.initializer_range;
  word_embeddings = register_module("word_embeddings", std::make_shared<Embedding>(c.vocab_size, c.hidden_size, c.pad_token_id, s));
  position_embeddings =
      register_module("position_embeddings", std::make_shared<Embedding>(c.max_position_embeddings, c.hidden_size, std::nullopt, s));
  token_type_embeddings =
      register_module("token_type_embeddings", std::make_shared<Embedding>(c.type_vocab_size, c.hidden_size, std::nullopt, s));
  layer_norm = register_module("LayerNorm", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.hidden_dropout_prob));
}

Tensor BertEmbeddings::forward(const Tensor& input_ids, const Tensor& token_type_ids) {
  CHERRY_CHECK(input_ids.dim() == 2, "BertEmbeddings", "input_ids must be (B, T), got ", input_ids.describe());
  const int64_t T = input_ids.size(1), max_t = position_embeddings->num_embeddings();
  CHERRY_CHECK(T <= max_t, "BertEmbeddings", "sequence length ", T, " exceeds max_position_embeddings ", max_t);
  // Positions and an all-zero token type are views of the tables, broadcast over the batch:
  // no index tensors, no gather.
  Tensor x = word_embeddings->forward(input_ids) + position_embeddings->weight.narrow(0, 0, T);
  if (token_type_ids.defined()) {
    CHERRY_CHECK(token_type_ids.shape() == input_ids.shape(), "BertEmbeddings", "token_type_ids ", token_type_ids.describe(),
                 " does not match input_ids ", input_ids.describe());
    x = x + token_type_embeddings->forward(token_type_ids);
  } else {
    x = x + token_type_embeddings->weight.select(0, 0);
  }
  return dropout->forward(layer_norm->forward(x));
}

BertSelfOutput::BertSelfOutput(const BertConfig& c) {
  dense = register_module("dense", bert_linear(c.hidden_size, c.hidden_size, c.initializer_range));
  layer_norm = register_module("LayerNorm", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.hidden_dropout_prob));
}

Tensor BertSelfOutput::forward(const Tensor& hidden, const Tensor& residual) {
  return layer_norm->forward(dropout->forward(dense->forward(hidden)) + residual);
}

BertAttention::BertAttention(const BertConfig& c) {
  self = register_module("self", std::make_shared<BertSelfAttention>(c.hidden_size, c.num_attention_heads, c.attention_probs_dropout_prob));
  for (auto* l : {self->query.get(), self->key.get(), self->value.get()}) {
    l->weight.set_data(normal(l->weight.shape(), 0.0, c.initializer_range));
    l->bias.set_data(zeros(l->bias.shape()));
  }
  output = register_module("output", std::make_shared<BertSelfOutput>(c));
}

Tensor BertAttention::forward(const Tensor& x, const Tensor& additive_mask) { return output->forward(self->forward(x, additive_mask), x); }

BertIntermediate::BertIntermediate(const BertConfig& c, const FfnLinearFactory& ffn, int64_t layer_index) : gelu_(c.hidden_act == "gelu") {
  CHERRY_CHECK(c.hidden_act == "gelu" || c.hidden_act == "relu", "BertIntermediate", "unsupported hidden_act '", c.hidden_act, "'");
  dense = register_module("dense", make_ffn(ffn, c.hidden_size, c.intermediate_size, FfnRole::intermediate, layer_index));
}

Tensor BertIntermediate::forward(const Tensor& x) {
  Tensor h = dense->forward(x);
  return gelu_ ? gelu(h) : relu(h);
}

BertOutput::BertOutput(const BertConfig& c, const FfnLinearFactory& ffn, int64_t layer_index) {
  dense = register_module("dense", make_ffn(ffn, c.intermediate_size, c.hidden_size, FfnRole::output, layer_index));
  layer_norm = register_module("LayerNorm", std::make_shared<LayerNorm>(c.hidden_size, c.layer_norm_eps));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.hidden_dropout_prob));
}

Tensor BertOutput::forward(const Tensor& hidden, const Tensor& residual) {
  return layer_norm->forward(dropout->forward(dense->forward(hidden)) + residual);
}

BertLayer::BertLayer(const BertConfig& c, const FfnLinearFactory& ffn, int64_t layer_index) {
  attention = register_module("attention", std::make_shared<BertAttention>(c));
  intermediate = register_module("intermediate", std::make_shared<BertIntermediate>(c, ffn, layer_index));
  output = register_module("output", std::make_shared<BertOutput>(c, ffn, layer_index));
}

Tensor BertLayer::forward(const Tensor& x, const Tensor& additive_mask) {
  const int64_t B = x.size(0), T = x.size(1), D = x.size(2);
  // The FFN sees tokens as rows (N = B*T, D): a free view of the contiguous LayerNorm output.
  Tensor a = attention->forward(x, additive_mask).reshape({B * T, D});
  return output->forward(intermediate->forward(a), a).reshape({B, T, D});
}

BertEncoder::BertEncoder(const BertConfig& c, const FfnLinearFactory& ffn) {
  layer = register_module("layer", std::make_shared<ModuleList<BertLayer>>());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layer->push_back(std::make_shared<BertLayer>(c, ffn, i));
}

Tensor BertEncoder::forward(const Tensor& x, const Tensor& additive_mask) {
  Tensor h = x;
  for (const auto& l : layer->items()) h = l->forward(h, additive_mask);
  return h;
}

BertPooler::BertPooler(const BertConfig& c) {
  dense = register_module("dense", bert_linear(c.hidden_size, c.hidden_size, c.initializer_range));
}

Tensor BertPooler::forward(const Tensor& hidden) { return tanh(dense->forward(hidden.select(1, 0))); }

BertModel::BertModel(const BertConfig& c, bool add_pooling_layer, const FfnLinearFactory& ffn) : config_(c) {
  c.validate();
  embeddings = register_module("embeddings", std::make_shared<BertEmbeddings>(c));
  encoder = register_module("encoder", std::make_shared<BertEncoder>(c, ffn ? ffn : dense_ffn_factory(c.initializer_range)));
  if (add_pooling_layer) pooler = register_module("pooler", std::make_shared<BertPooler>(c));
}

BertModelOutput BertModel::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& token_type_ids) {
  Tensor x = embeddings->forward(input_ids, token_type_ids);
  Tensor mask;
  if (attention_mask.defined()) {
    CHERRY_CHECK(attention_mask.shape() == input_ids.shape(), "BertModel", "attention_mask ", attention_mask.describe(),
                 " does not match input_ids ", input_ids.describe());
    mask = additive_attention_mask(attention_mask, x.dtype());
  }
  BertModelOutput out;
  out.last_hidden_state = encoder->forward(x, mask);
  if (pooler) out.pooler_output = pooler->forward(out.last_hidden_state);
  return out;
}

BertForSequenceClassification::BertForSequenceClassification(const BertConfig& c, const FfnLinearFactory& ffn) {
  bert = register_module("bert", std::make_shared<BertModel>(c, true, ffn));
  dropout = register_module("dropout", std::make_shared<Dropout>(c.head_dropout()));
  classifier = register_module("classifier", bert_linear(c.hidden_size, c.num_labels, c.initializer_range));
}

Tensor BertForSequenceClassification::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& token_type_ids) {
  return classifier->forward(dropout->forward(bert->forward(input_ids, attention_mask, token_type_ids).pooler_output));
}

Tensor BertForSequenceClassification::loss(const Tensor& logits, const Tensor& labels) const {
  const int64_t n = config().num_labels;
  CHERRY_CHECK(logits.dim() == 2 && logits.size(1) == n && labels.dim() == 1 && labels.size(0) == logits.size(0),
               "BertForSequenceClassification", "logits ", logits.describe(), " and labels ", labels.describe(), " do not fit ", n,
               " labels");
  if (n == 1) return mse_loss(logits.squeeze(1), labels.dtype() == logits.dtype() ? labels : labels.to(logits.dtype()));
  CHERRY_CHECK(labels.dtype() == DType::i64, "BertForSequenceClassification", "class labels must be i64, got ", labels.describe());
  return cross_entropy(logits, labels);
}

}  // namespace cherry
