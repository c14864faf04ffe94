#include "models/bert_checkpoint.h"

#include <filesystem>
#include <map>
#include <set>

#include "core/safetensors.h"

namespace cherry {

namespace {
constexpr const char* kOp = "load_bert_weights";

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

bool is_body(const std::string& k) { return starts_with(k, "embeddings.") || starts_with(k, "encoder.") || starts_with(k, "pooler."); }

// One naming for the file and the model: the BERT body without "bert.", heads as they are.
std::string canonical(const std::string& key) {
  if (starts_with(key, "bert.") && is_body(key.substr(5))) return key.substr(5);
  return key;
}

// Old (TF-converted) checkpoints name LayerNorm parameters gamma/beta.
std::string modern_layer_norm_name(const std::string& key) {
  if (ends_with(key, "LayerNorm.gamma")) return key.substr(0, key.size() - 5) + "weight";
  if (ends_with(key, "LayerNorm.beta")) return key.substr(0, key.size() - 4) + "bias";
  return key;
}

// File keys with no model counterpart by design.
bool ignorable(const std::string& canon) {
  return canon == "embeddings.position_ids" || canon == "embeddings.token_type_ids" || starts_with(canon, "cls.");
}
// Model keys that may be absent from a file: a pretrained body has no task head, and some
// checkpoints (sentence-transformers, distilled ones) drop or never trained the pooler.
bool may_be_fresh(const std::string& canon) { return starts_with(canon, "pooler.") || !is_body(canon); }

void append(std::string& s, const char* what, const std::vector<std::string>& keys) {
  if (keys.empty()) return;
  s += cat("\n", what, " (", keys.size(), "):");
  for (const auto& k : keys) s += "\n  " + k;
}
}  // namespace

std::string BertLoadReport::str() const {
  std::string s = cat(file, ": loaded ", loaded, " tensors");
  if (legacy_renamed) s += cat(" (", legacy_renamed, " legacy LayerNorm gamma/beta names)");
  append(s, "newly initialised (not in the checkpoint)", fresh);
  append(s, "ignored checkpoint keys", ignored);
  append(s, "allowed missing keys", problems.missing);
  append(s, "allowed unexpected keys", problems.unexpected);
  append(s, "allowed mis-shaped keys (left as initialised)", problems.mismatched);
  return s;
}

BertLoadReport load_bert_weights(Module& model, const std::string& path, const BertLoadOptions& options) {
  BertLoadReport r;
  r.file = path;
  SafeTensorsFile file = SafeTensorsFile::open(path);

  std::map<std::string, std::string> file_key;  // canonical -> name in the file
  for (const auto& e : file.entries()) {
    const std::string modern = modern_layer_norm_name(e.name);
    const std::string canon = canonical(modern);
    if (ignorable(canon)) {
      r.ignored.push_back(e.name);
      continue;
    }
    if (modern != e.name) ++r.legacy_renamed;
    auto [it, fresh] = file_key.emplace(canon, e.name);
    CHERRY_CHECK(fresh, kOp, path, ": keys '", it->second, "' and '", e.name, "' name the same weight");
  }

  std::vector<std::string> missing, unexpected, mismatched;
  std::map<std::string, Tensor> to_load;  // model name -> tensor
  std::set<std::string> used;
  for (const auto& [name, t] : model.state_dict()) {
    const std::string canon = canonical(name);
    auto it = file_key.find(canon);
    if (it == file_key.end()) {
      (may_be_fresh(canon) ? r.fresh : missing).push_back(name);
      continue;
    }
    used.insert(canon);
    const SafeTensorEntry& e = file.entry(it->second);
    if (e.shape != t.shape()) {
      mismatched.push_back(cat(name, ": model ", shape_str(t.shape()), ", checkpoint '", e.name, "' ", shape_str(e.shape)));
      continue;
    }
    to_load.emplace(name, file.get(e.name));
  }
  for (const auto& [canon, name] : file_key)
    if (!used.count(canon)) unexpected.push_back(name);

  std::string fatal;
  if (!options.allow_missing) append(fatal, "missing keys (in the model, not in the checkpoint)", missing);
  if (!options.allow_unexpected) append(fatal, "unexpected keys (in the checkpoint, not in the model)", unexpected);
  if (!options.allow_mismatched) append(fatal, "mis-shaped keys", mismatched);
  CHERRY_CHECK(fatal.empty(), kOp, path, ": checkpoint does not match ", model.type_name(), ":", fatal,
               "\n(BertLoadOptions allow_missing / allow_unexpected / allow_mismatched accept these)");
  r.problems.missing = missing, r.problems.unexpected = unexpected, r.problems.mismatched = mismatched;

  model.load_state_dict(to_load, false);  // casts each tensor to the parameter's dtype
  r.loaded = to_load.size();
  return r;
}

namespace {
std::string weights_path(const std::string& dir) {
  const auto p = std::filesystem::path(dir) / "model.safetensors";
  CHERRY_CHECK(std::filesystem::is_regular_file(p), kOp, dir,
               ": no model.safetensors (a Hugging Face BERT folder holds config.json and model.safetensors;",
               " pytorch_model.bin must be converted first)");
  return p.string();
}
}  // namespace

std::shared_ptr<BertModel> load_bert_model(const std::string& dir, const BertLoadOptions& options, const FfnLinearFactory& ffn,
                                           BertLoadReport* report) {
  const BertConfig c = BertConfig::from_file((std::filesystem::path(dir) / "config.json").string());
  const std::string weights = weights_path(dir);
  auto m = std::make_shared<BertModel>(c, true, ffn);
  BertLoadReport r = load_bert_weights(*m, weights, options);
  if (report) *report = std::move(r);
  return m;
}

std::shared_ptr<BertForSequenceClassification> load_bert_for_sequence_classification(const std::string& dir, int64_t num_labels,
                                                                                     const BertLoadOptions& options,
                                                                                     const FfnLinearFactory& ffn, BertLoadReport* report) {
  BertConfig c = BertConfig::from_file((std::filesystem::path(dir) / "config.json").string());
  c.num_labels = num_labels;
  c.validate(dir + "/config.json with num_labels " + std::to_string(num_labels));
  const std::string weights = weights_path(dir);
  auto m = std::make_shared<BertForSequenceClassification>(c, ffn);
  BertLoadReport r = load_bert_weights(*m, weights, options);
  if (report) *report = std::move(r);
  return m;
}

}  // namespace cherry
