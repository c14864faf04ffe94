// BERT (Devlin et al. 2019) with Hugging Face's module names, so state-dict keys match
// transformers' BertModel / BertForSequenceClassification ("bert.encoder.layer.0.attention.self.query.weight").
// The two FFN linears of every layer (intermediate.dense, output.dense) are built through an
// FfnLinearFactory, so MoE / PAD-MoE layers can replace them without touching this file.
// Loading Hugging Face folders: models/bert_checkpoint.h.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "layers/attention.h"
#include "layers/basic.h"
#include "layers/embedding.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/module_list.h"
#include "models/bert_config.h"

namespace cherry {

// Which FFN linear of a layer the factory is asked for: intermediate.dense (hidden -> intermediate,
// followed by the activation) or output.dense (intermediate -> hidden, followed by residual + LayerNorm).
enum class FfnRole { intermediate, output };
const char* ffn_role_name(FfnRole role);

// Builds the FFN linear of encoder layer `layer_index` (0-based) mapping `in` -> `out` features.
// Contract of the returned Layer: input is a 2-D token matrix (N, in) with N = batch * sequence
// length (padding positions included; rows are tokens, so per-token routing needs no reshape),
// output (N, out). Its parameters appear under "...intermediate.dense." / "...output.dense.".
using FfnLinearFactory = std::function<std::shared_ptr<Layer>(int64_t in, int64_t out, FfnRole role, int64_t layer_index)>;
// Plain Linear with BERT's initialisation: weight N(0, init_std), bias 0.
FfnLinearFactory dense_ffn_factory(double init_std = 0.02);

// Hugging Face's BertSelfAttention is exactly the query/key/value attention of layers/.
using BertSelfAttention = MultiHeadSelfAttention;

class BertEmbeddings : public Module {
 public:
  explicit BertEmbeddings(const BertConfig& c);
  // input_ids, token_type_ids:(B,T) i64; token_type_ids undefined = all 0 -> (B,T,D). Positions 0..T-1.
  Tensor forward(const Tensor& input_ids, const Tensor& token_type_ids = {});
  std::string type_name() const override { return "BertEmbeddings"; }
  std::shared_ptr<Embedding> word_embeddings, position_embeddings, token_type_embeddings;
  std::shared_ptr<LayerNorm> layer_norm;  // "LayerNorm"
  std::shared_ptr<Dropout> dropout;
};

// attention.output: dense + dropout, residual, LayerNorm.
class BertSelfOutput : public Module {
 public:
  explicit BertSelfOutput(const BertConfig& c);
  Tensor forward(const Tensor& hidden, const Tensor& residual);
  std::string type_name() const override { return "BertSelfOutput"; }
  std::shared_ptr<Linear> dense;
  std::shared_ptr<LayerNorm> layer_norm;  // "LayerNorm"
  std::shared_ptr<Dropout> dropout;
};

class BertAttention : public Module {
 public:
  explicit BertAttention(const BertConfig& c);
  Tensor forward(const Tensor& x, const Tensor& additive_mask);  // (B,T,D) -> (B,T,D)
  std::string type_name() const override { return "BertAttention"; }
  std::shared_ptr<BertSelfAttention> self;
  std::shared_ptr<BertSelfOutput> output;
};

class BertIntermediate : public Module {
 public:
  BertIntermediate(const BertConfig& c, const FfnLinearFactory& ffn, int64_t layer_index);
  Tensor forward(const Tensor& x);  // (N,D) -> (N,I)
  std::string type_name() const override { return "BertIntermediate"; }
  std::shared_ptr<Layer> dense;

 private:
  bool gelu_;
};

// The FFN's second half: dense + dropout, residual, LayerNorm (Hugging Face calls it BertOutput).
class BertOutput : public Module {
 public:
  BertOutput(const BertConfig& c, const FfnLinearFactory& ffn, int64_t layer_index);
  Tensor forward(const Tensor& hidden, const Tensor& residual);  // (N,I), (N,D) -> (N,D)
  std::string type_name() const override { return "BertOutput"; }
  std::shared_ptr<Layer> dense;
  std::shared_ptr<LayerNorm> layer_norm;  // "LayerNorm"
  std::shared_ptr<Dropout> dropout;
};

class BertLayer : public Module {
 public:
  BertLayer(const BertConfig& c, const FfnLinearFactory& ffn, int64_t layer_index);
  Tensor forward(const Tensor& x, const Tensor& additive_mask);  // (B,T,D) -> (B,T,D)
  std::string type_name() const override { return "BertLayer"; }
  std::shared_ptr<BertAttention> attention;
  std::shared_ptr<BertIntermediate> intermediate;
  std::shared_ptr<BertOutput> output;
};

class BertEncoder : public Module {
 public:
  BertEncoder(const BertConfig& c, const FfnLinearFactory& ffn);
  Tensor forward(const Tensor& x, const Tensor& additive_mask);
  std::string type_name() const override { return "BertEncoder"; }
  std::shared_ptr<ModuleList<BertLayer>> layer;
};

// tanh(dense(hidden[:, 0])): the [CLS] token's summary.
class BertPooler : public Layer {
 public:
  explicit BertPooler(const BertConfig& c);
  Tensor forward(const Tensor& hidden) override;  // (B,T,D) -> (B,D)
  std::string type_name() const override { return "BertPooler"; }
  std::shared_ptr<Linear> dense;
};

struct BertModelOutput {
  Tensor last_hidden_state;  // (B,T,D)
  Tensor pooler_output;      // (B,D); undefined without a pooler
};

class BertModel : public Module {
 public:
  // ffn empty: dense_ffn_factory(c.initializer_range). Weights follow BERT's init (normal(0,
  // initializer_range) for linears and embeddings, the padding row 0; LayerNorm 1/0).
  explicit BertModel(const BertConfig& c, bool add_pooling_layer = true, const FfnLinearFactory& ffn = {});
  // input_ids:(B,T) i64; attention_mask:(B,T) 1 = token, 0 = padding (any dtype; undefined = no
  // padding); token_type_ids:(B,T) i64 or undefined.
  BertModelOutput forward(const Tensor& input_ids, const Tensor& attention_mask = {}, const Tensor& token_type_ids = {});
  std::string type_name() const override { return "BertModel"; }
  const BertConfig& config() const { return config_; }
  std::shared_ptr<BertEmbeddings> embeddings;
  std::shared_ptr<BertEncoder> encoder;
  std::shared_ptr<BertPooler> pooler;  // null without a pooling layer

 private:
  BertConfig config_;
};

// BertModel + dropout + classifier on the pooled output. num_labels (config) 1 = regression (MSE
// on a float target), otherwise classification (cross-entropy on i64 labels), as in Hugging Face.
class BertForSequenceClassification : public Module {
 public:
  explicit BertForSequenceClassification(const BertConfig& c, const FfnLinearFactory& ffn = {});
  Tensor forward(const Tensor& input_ids, const Tensor& attention_mask = {}, const Tensor& token_type_ids = {});  // (B, num_labels)
  // labels:(B); i64 classes, or float targets when num_labels == 1. Mean over the batch.
  Tensor loss(const Tensor& logits, const Tensor& labels) const;
  std::string type_name() const override { return "BertForSequenceClassification"; }
  const BertConfig& config() const { return bert->config(); }
  std::shared_ptr<BertModel> bert;
  std::shared_ptr<Dropout> dropout;
  std::shared_ptr<Linear> classifier;
};

}  // namespace cherry
