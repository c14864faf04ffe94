#include "models/bert_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.h"

namespace cherry {

namespace {
using json = nlohmann::json;
constexpr const char* kOp = "BertConfig";

// Reads `key` into `out` when present (and not null); a wrong type names the file and the key.
template <class T>
void read(const json& j, const char* key, T& out, const std::string& source) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return;
  bool ok;
  if constexpr (std::is_same_v<T, std::string>)
    ok = it->is_string();
  else if constexpr (std::is_integral_v<T>)
    ok = it->is_number_integer();
  else
    ok = it->is_number();
  CHERRY_CHECK(ok, kOp, source, ": \"", key, "\" has the wrong type (", it->type_name(), ": ", it->dump(), ")");
  out = it->get<T>();
}
}  // namespace

void BertConfig::validate(const std::string& source) const {
  auto positive = [&](const char* field, int64_t v) { CHERRY_CHECK(v > 0, kOp, source, ": \"", field, "\" must be positive, got ", v); };
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("intermediate_size", intermediate_size);
  positive("max_position_embeddings", max_position_embeddings);
  positive("type_vocab_size", type_vocab_size);
  positive("num_labels", num_labels);
  CHERRY_CHECK(hidden_size % num_attention_heads == 0, kOp, source, ": \"hidden_size\" ", hidden_size,
               " is not a multiple of \"num_attention_heads\" ", num_attention_heads);
  CHERRY_CHECK(hidden_act == "gelu" || hidden_act == "relu", kOp, source, ": unsupported \"hidden_act\" \"", hidden_act,
               "\" (supported: \"gelu\" (exact erf), \"relu\")");
  auto probability = [&](const char* field, double p) {
    CHERRY_CHECK(p >= 0 && p < 1, kOp, source, ": \"", field, "\" must be in [0, 1), got ", p);
  };
  probability("hidden_dropout_prob", hidden_dropout_prob);
  probability("attention_probs_dropout_prob", attention_probs_dropout_prob);
  if (classifier_dropout) probability("classifier_dropout", *classifier_dropout);
  CHERRY_CHECK(layer_norm_eps > 0, kOp, source, ": \"layer_norm_eps\" must be positive, got ", layer_norm_eps);
  CHERRY_CHECK(initializer_range > 0, kOp, source, ": \"initializer_range\" must be positive, got ", initializer_range);
  CHERRY_CHECK(pad_token_id >= 0 && pad_token_id < vocab_size, kOp, source, ": \"pad_token_id\" ", pad_token_id,
               " is outside the vocabulary of ", vocab_size);
}

BertConfig BertConfig::from_json_text(const std::string& text, const std::string& source) {
  json j;
  try {
    j = json::parse(text);
  } catch (const json::exception& e) {
    throw Error(kOp, cat(source, ": not valid JSON: ", e.what()));
  }
  CHERRY_CHECK(j.is_object(), kOp, source, ": expected a JSON object, got ", j.type_name());
  if (auto it = j.find("model_type"); it != j.end() && it->is_string())
    CHERRY_CHECK(*it == "bert", kOp, source, ": \"model_type\" is \"", it->get<std::string>(), "\", expected \"bert\"");
  BertConfig c;
  read(j, "vocab_size", c.vocab_size, source);
  read(j, "hidden_size", c.hidden_size, source);
  read(j, "num_hidden_layers", c.num_hidden_layers, source);
  read(j, "num_attention_heads", c.num_attention_heads, source);
  read(j, "intermediate_size", c.intermediate_size, source);
  read(j, "hidden_act", c.hidden_act, source);
  read(j, "hidden_dropout_prob", c.hidden_dropout_prob, source);
  read(j, "attention_probs_dropout_prob", c.attention_probs_dropout_prob, source);
  read(j, "max_position_embeddings", c.max_position_embeddings, source);
  read(j, "type_vocab_size", c.type_vocab_size, source);
  read(j, "pad_token_id", c.pad_token_id, source);
  read(j, "layer_norm_eps", c.layer_norm_eps, source);
  read(j, "initializer_range", c.initializer_range, source);
  if (auto it = j.find("classifier_dropout"); it != j.end() && !it->is_null()) {
    double p = 0;
    read(j, "classifier_dropout", p, source);
    c.classifier_dropout = p;
  }
  if (auto it = j.find("id2label"); it != j.end() && it->is_object() && !it->empty()) c.num_labels = int64_t(it->size());
  read(j, "num_labels", c.num_labels, source);
  std::string problem;  // Hugging Face picks the loss from it; Cherry has cross-entropy and MSE
  read(j, "problem_type", problem, source);
  CHERRY_CHECK(problem.empty() || problem == "single_label_classification" || problem == "regression", kOp, source,
               ": unsupported \"problem_type\" \"", problem, "\" (supported: single_label_classification, regression)");
  std::string position = "absolute";
  read(j, "position_embedding_type", position, source);
  CHERRY_CHECK(position == "absolute", kOp, source, ": unsupported \"position_embedding_type\" \"", position,
               "\" (supported: \"absolute\")");
  c.validate(source);
  return c;
}

BertConfig BertConfig::from_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  CHERRY_CHECK(f, kOp, path, ": cannot open the config file");
  std::ostringstream ss;
  ss << f.rdbuf();
  return from_json_text(ss.str(), path);
}

}  // namespace cherry
