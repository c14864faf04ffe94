// BertConfig: the architecture fields of a Hugging Face BERT config.json (names as there), read and
// validated with errors that name the file and the field. Unknown fields (tokenizer, architectures,
// transformers_version, ...) are ignored; values Cherry cannot honour (another hidden_act or
// position_embedding_type) are refused rather than silently approximated.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

namespace cherry {

struct BertConfig {
  int64_t vocab_size = 30522, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12, intermediate_size = 3072;
  std::string hidden_act = "gelu";  // "gelu" (exact, erf) or "relu"
  double hidden_dropout_prob = 0.1, attention_probs_dropout_prob = 0.1;
  int64_t max_position_embeddings = 512, type_vocab_size = 2, pad_token_id = 0;
  double layer_norm_eps = 1e-12, initializer_range = 0.02;
  std::optional<double> classifier_dropout;  // unset: hidden_dropout_prob (Hugging Face's rule)
  int64_t num_labels = 2;                    // from id2label/num_labels when the file has them

  void validate(const std::string& source = "BertConfig") const;  // throws naming source and field
  double head_dropout() const { return classifier_dropout.value_or(hidden_dropout_prob); }

  static BertConfig from_json_text(const std::string& text, const std::string& source = "config.json");
  static BertConfig from_file(const std::string& path);  // a config.json
};

}  // namespace cherry
