// BERT against Hugging Face transformers (scripts/make_bert_fixture.py): a tiny random
// BertForSequenceClassification loaded from a Hugging Face folder matches logits, loss and every
// parameter gradient, for cross-entropy and regression heads; the real all-MiniLM-L6-v2 checkpoint
// (scripts/fetch_bert.py) matches transformers' hidden states and pooled output, or is skipped when
// not fetched. Also: config.json parsing and its errors, and the loader's name handling (prefix,
// legacy gamma/beta, ignored buffers and heads, fresh heads, one error listing every bad key).
#include <bit>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "core/safetensors.h"
#include "models/bert_checkpoint.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

namespace fs = std::filesystem;
using Fixture = std::map<std::string, Tensor>;

const std::string kTinyDir = std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny";
Fixture tiny_fixture() { return load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_bert_tiny.safetensors"); }
Fixture tiny_weights() { return load_safetensors(kTinyDir + "/model.safetensors"); }

// Writes config.json + model.safetensors (tensors in the given order) into `dir`.
void write_bert_dir(const fs::path& dir, const std::vector<std::pair<std::string, Tensor>>& tensors) {
  fs::create_directories(dir);
  fs::copy_file(kTinyDir + "/config.json", dir / "config.json", fs::copy_options::overwrite_existing);
  save_safetensors((dir / "model.safetensors").string(), tensors);
}

std::vector<std::pair<std::string, Tensor>> renamed(const Fixture& sd, const std::function<std::string(const std::string&)>& rename) {
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [k, v] : sd) {
    std::string n = rename(k);
    if (!n.empty()) out.emplace_back(n, v);
  }
  return out;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// max |a - b| and max |a - b| / |b| over elements with |b| > 1e-3.
std::pair<double, double> max_errors(const Tensor& a, const Tensor& b) {
  auto x = a.to(DType::f64).contiguous().to_vector<double>(), y = b.to(DType::f64).contiguous().to_vector<double>();
  double abs_err = 0, rel_err = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    abs_err = std::max(abs_err, std::abs(x[i] - y[i]));
    if (std::abs(y[i]) > 1e-3) rel_err = std::max(rel_err, std::abs(x[i] - y[i]) / std::abs(y[i]));
  }
  return {abs_err, rel_err};
}

void check_grads(const Module& m, const Fixture& f, const std::string& prefix) {
  double worst_rel = 0;
  for (const auto& [name, p] : m.named_parameters()) {
    const std::string tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    REQUIRE(f.count(prefix + name));
    REQUIRE(p.grad().defined());
    CHECK_CLOSE(p.grad(), f.at(prefix + name), 1e-4, 1e-6);
    worst_rel = std::max(worst_rel, max_errors(p.grad(), f.at(prefix + name)).second);
  }
  MESSAGE(prefix, "*: ", m.named_parameters().size(), " gradients, max relative error ", worst_rel);
}

// f32 -> the nearest bfloat16 (ties to even), as torch's .to(torch.bfloat16); no NaNs here.
uint16_t to_bf16(float x) {
  const uint32_t bits = std::bit_cast<uint32_t>(x);
  return uint16_t((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

// A safetensors file of BF16 tensors, written by hand (Cherry writes only its own dtypes).
void write_bf16_safetensors(const fs::path& path, const Fixture& tensors) {
  nlohmann::json header = nlohmann::json::object();
  std::string data;
  for (const auto& [name, t] : tensors) {
    header[name] = {{"dtype", "BF16"}, {"shape", t.shape()}, {"data_offsets", {data.size(), data.size() + 2 * size_t(t.numel())}}};
    for (float x : t.contiguous().to_vector<float>()) {
      const uint16_t b = to_bf16(x);
      data += char(b & 0xFF), data += char(b >> 8);
    }
  }
  const std::string h = header.dump();
  std::string len(8, '\0');
  for (int i = 0; i < 8; ++i) len[size_t(i)] = char(uint8_t(uint64_t(h.size()) >> (8 * i)));
  std::ofstream(path, std::ios::binary) << len << h << data;
}

}  // namespace

TEST_CASE("BertConfig: reads Hugging Face config.json, and wrong values name the file and the field") {
  BertConfig c = BertConfig::from_file(kTinyDir + "/config.json");
  CHECK(c.vocab_size == 100);
  CHECK(c.hidden_size == 32);
  CHECK(c.num_hidden_layers == 2);
  CHECK(c.num_attention_heads == 4);
  CHECK(c.intermediate_size == 64);
  CHECK(c.max_position_embeddings == 16);
  CHECK(c.layer_norm_eps == 1e-12);
  CHECK(c.num_labels == 3);  // from id2label
  CHECK(!c.classifier_dropout);
  CHECK(c.head_dropout() == 0.1);

  CHECK(has(error_of([] { BertConfig::from_json_text(R"({"hidden_act": "gelu_new"})", "x/config.json"); }),
            "x/config.json: unsupported \"hidden_act\" \"gelu_new\""));
  CHECK(has(error_of([] { BertConfig::from_json_text(R"({"hidden_size": "384"})", "c.json"); }),
            "c.json: \"hidden_size\" has the wrong type"));
  CHECK(has(error_of([] { BertConfig::from_json_text(R"({"hidden_size": 30})", "c.json"); }),
            "not a multiple of \"num_attention_heads\" 12"));
  CHECK(has(error_of([] { BertConfig::from_json_text(R"({"position_embedding_type": "relative_key"})", "c.json"); }),
            "position_embedding_type"));
  CHECK(has(error_of([] { BertConfig::from_json_text(R"({"model_type": "gpt2"})", "c.json"); }), "expected \"bert\""));
  CHECK(has(error_of([] { BertConfig::from_json_text(R"({"problem_type": "multi_label_classification"})", "c.json"); }), "problem_type"));
  CHECK(has(error_of([] { BertConfig::from_json_text("{oops", "c.json"); }), "c.json: not valid JSON"));
  CHECK(has(error_of([] { BertConfig::from_file("/nonexistent/config.json"); }), "/nonexistent/config.json: cannot open"));
  CHECK(BertConfig::from_json_text(R"({"hidden_act": "relu", "classifier_dropout": 0.3})").head_dropout() == 0.3);
}

TEST_CASE("BERT state-dict names and order equal transformers' BertForSequenceClassification") {
  SafeTensorsFile f = SafeTensorsFile::open(kTinyDir + "/model.safetensors");
  std::set<std::string> hf;
  for (const auto& e : f.entries()) hf.insert(e.name);
  BertForSequenceClassification model(BertConfig::from_file(kTinyDir + "/config.json"));
  std::set<std::string> ours;
  for (const auto& [name, t] : model.state_dict()) {
    const std::string tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    CHECK(f.contains(name));
    if (f.contains(name)) CHECK(f.entry(name).shape == t.shape());
    ours.insert(name);
  }
  CHECK(ours == hf);
}

TEST_CASE("golden: tiny BertForSequenceClassification (cross-entropy) matches transformers: logits, loss, every gradient") {
  Fixture f = tiny_fixture();
  BertLoadReport report;
  auto model = load_bert_for_sequence_classification(kTinyDir, 3, {}, {}, &report);
  CHECK(report.loaded == 41);
  CHECK(report.fresh.empty());
  CHECK(report.ignored.empty());
  model->eval();  // dropout off, as in the fixture
  Tensor logits = model->forward(f.at("input_ids"), f.at("attention_mask"), f.at("token_type_ids"));
  Tensor loss = model->loss(logits, f.at("ce.labels"));
  CHECK_CLOSE(logits, f.at("ce.logits"), 1e-4, 1e-6);
  CHECK_CLOSE(loss, f.at("ce.loss"), 1e-4, 1e-6);
  loss.backward();
  check_grads(*model, f, "ce.grad.");
  // transformers' padding_idx: the [PAD] row of the word embeddings receives no gradient.
  CHECK(sum(abs(model->bert->embeddings->word_embeddings->weight.grad().select(0, 0))).item<float>() == 0.0f);
}

TEST_CASE("golden: tiny BERT with a regression head (num_labels 1, MSE) matches transformers") {
  Fixture f = tiny_fixture();
  // The folder's 3-label classifier does not fit a 1-label head: fatal unless allowed.
  const std::string err = error_of([] { load_bert_for_sequence_classification(kTinyDir, 1); });
  CHECK(has(err, kTinyDir + "/model.safetensors"));
  CHECK(has(err, "classifier.weight: model [1, 32], checkpoint 'classifier.weight' [3, 32]"));
  CHECK(has(err, "classifier.bias"));
  BertLoadOptions allow;
  allow.allow_mismatched = true;
  BertLoadReport report;
  auto model = load_bert_for_sequence_classification(kTinyDir, 1, allow, {}, &report);
  CHECK(report.problems.mismatched.size() == 2);
  CHECK(report.loaded == 39);
  model->classifier->weight.detach().copy_(f.at("reg.classifier.weight"));
  model->classifier->bias.detach().copy_(f.at("reg.classifier.bias"));
  model->eval();
  Tensor logits = model->forward(f.at("input_ids"), f.at("attention_mask"), f.at("token_type_ids"));
  Tensor loss = model->loss(logits, f.at("reg.targets"));
  CHECK_CLOSE(logits, f.at("reg.logits"), 1e-4, 1e-6);
  CHECK_CLOSE(loss, f.at("reg.loss"), 1e-4, 1e-6);
  loss.backward();
  check_grads(*model, f, "reg.grad.");
}

TEST_CASE("BERT loader: no 'bert.' prefix, legacy gamma/beta, ignored buffers and pretraining heads, a fresh classifier") {
  test::TempDir tmp;
  Fixture f = tiny_fixture(), w = tiny_weights();
  // sentence-transformers style: no prefix, no classifier; an old TF conversion's LayerNorm names;
  // HF's position_ids buffer and an MLM head, which fine-tuning does not use.
  auto files = renamed(w, [](const std::string& k) -> std::string {
    if (k.starts_with("classifier.")) return "";
    std::string n = k.substr(5);  // drop "bert."
    if (n.ends_with("LayerNorm.weight")) n = n.substr(0, n.size() - 6) + "gamma";
    if (n.ends_with("LayerNorm.bias")) n = n.substr(0, n.size() - 4) + "beta";
    return n;
  });
  files.emplace_back("embeddings.position_ids", arange(16).unsqueeze(0));
  files.emplace_back("cls.predictions.bias", zeros({100}));
  write_bert_dir(tmp.path / "st", files);

  BertLoadReport report;
  auto model = load_bert_for_sequence_classification((tmp.path / "st").string(), 3, {}, {}, &report);
  CHECK(report.loaded == 39);
  CHECK(report.legacy_renamed == 10);  // 5 LayerNorms x (gamma, beta)
  CHECK(report.fresh == std::vector<std::string>{"classifier.weight", "classifier.bias"});
  CHECK(report.ignored == std::vector<std::string>{"embeddings.position_ids", "cls.predictions.bias"});
  CHECK(has(report.str(), "newly initialised"));
  // Same body as the reference: with the fixture's classifier the logits match.
  model->classifier->weight.detach().copy_(w.at("classifier.weight"));
  model->classifier->bias.detach().copy_(w.at("classifier.bias"));
  model->eval();
  NoGradGuard ng;
  CHECK_CLOSE(model->forward(f.at("input_ids"), f.at("attention_mask"), f.at("token_type_ids")), f.at("ce.logits"), 1e-4, 1e-6);

  // A bare BertModel takes the prefixed file's body; the classifier there has no place in it.
  const std::string err = error_of([&] { load_bert_model(kTinyDir); });
  CHECK(has(err, "unexpected keys (in the checkpoint, not in the model) (2)"));
  BertLoadOptions allow;
  allow.allow_unexpected = true;
  auto body = load_bert_model(kTinyDir, allow, {}, &report);
  CHECK(report.loaded == 39);
  CHECK(report.problems.unexpected == std::vector<std::string>{"classifier.bias", "classifier.weight"});
}

TEST_CASE("BERT loader: missing, unexpected and mis-shaped keys are listed together in one error naming the file") {
  test::TempDir tmp;
  auto files =
      renamed(tiny_weights(), [](const std::string& k) -> std::string { return k == "bert.encoder.layer.1.output.dense.bias" ? "" : k; });
  for (auto& [k, v] : files)
    if (k == "bert.embeddings.token_type_embeddings.weight") v = zeros({3, 32});
  files.emplace_back("bert.encoder.layer.2.output.dense.bias", zeros({32}));
  files.emplace_back("bert.encoder.layer.0.attention.self.query.weight.extra", zeros({1}));
  write_bert_dir(tmp.path / "bad", files);
  const std::string path = (tmp.path / "bad" / "model.safetensors").string();

  const std::string err = error_of([&] { load_bert_for_sequence_classification((tmp.path / "bad").string(), 3); });
  CHECK(has(err, path + ": checkpoint does not match BertForSequenceClassification"));
  CHECK(has(err, "missing keys (in the model, not in the checkpoint) (1):\n  bert.encoder.layer.1.output.dense.bias"));
  CHECK(has(err, "bert.encoder.layer.2.output.dense.bias"));
  CHECK(has(err, "bert.encoder.layer.0.attention.self.query.weight.extra"));
  CHECK(has(
      err,
      "bert.embeddings.token_type_embeddings.weight: model [2, 32], checkpoint 'bert.embeddings.token_type_embeddings.weight' [3, 32]"));

  BertLoadOptions all;
  all.allow_missing = all.allow_unexpected = all.allow_mismatched = true;
  BertLoadReport r;
  load_bert_for_sequence_classification((tmp.path / "bad").string(), 3, all, {}, &r);
  CHECK(r.problems.missing.size() == 1);
  CHECK(r.problems.unexpected.size() == 2);
  CHECK(r.problems.mismatched.size() == 1);
  CHECK(r.loaded == 39);

  CHECK(has(error_of([&] { load_bert_model(tmp.path.string()); }), "config.json: cannot open"));
  fs::remove(tmp.path / "bad" / "model.safetensors");
  CHECK(has(error_of([&] { load_bert_model((tmp.path / "bad").string()); }), "no model.safetensors"));
}

TEST_CASE("golden: the real all-MiniLM-L6-v2 checkpoint matches transformers' BertModel (hidden states, pooled output)") {
  const char* env_dir = std::getenv("CHERRY_BERT_DIR");
  const char* cache = std::getenv("CHERRY_MODEL_CACHE");
  const char* home = std::getenv("HOME");
  const fs::path dir = env_dir ? fs::path(env_dir)
                       : cache ? fs::path(cache) / "all-MiniLM-L6-v2"
                               : fs::path(home ? home : "/root") / ".cache/cherry/models/all-MiniLM-L6-v2";
  if (!fs::exists(dir / "model.safetensors")) {
    MESSAGE("skipped: no checkpoint at ", dir.string(), " (run python3 scripts/fetch_bert.py, or set CHERRY_BERT_DIR)");
    return;
  }
  Fixture f = load_safetensors(std::string(CHERRY_FIXTURES_DIR) + "/golden_bert_minilm.safetensors");
  BertLoadReport report;
  auto model = load_bert_model(dir.string(), {}, {}, &report);
  CHECK(report.loaded == 103);
  CHECK(report.fresh.empty());
  CHECK(report.ignored == std::vector<std::string>{"embeddings.position_ids"});
  model->eval();
  NoGradGuard ng;
  BertModelOutput o = model->forward(f.at("input_ids"), f.at("attention_mask"), f.at("token_type_ids"));
  CHECK_CLOSE(o.last_hidden_state, f.at("last_hidden_state"), 1e-4, 1e-4);
  CHECK_CLOSE(o.pooler_output, f.at("pooler_output"), 1e-4, 1e-4);
  auto [h_abs, h_rel] = max_errors(o.last_hidden_state, f.at("last_hidden_state"));
  auto [p_abs, p_rel] = max_errors(o.pooler_output, f.at("pooler_output"));
  MESSAGE("all-MiniLM-L6-v2 vs transformers: last_hidden_state max abs ", h_abs, " rel ", h_rel, "; pooler_output max abs ", p_abs, " rel ",
          p_rel);
}

TEST_CASE("BERT loader: a BF16 checkpoint is widened to f32, each weight the exact bfloat16 value") {
  test::TempDir tmp;
  Fixture w = tiny_weights();
  fs::create_directories(tmp.path / "bf16");
  fs::copy_file(kTinyDir + "/config.json", tmp.path / "bf16" / "config.json");
  write_bf16_safetensors(tmp.path / "bf16" / "model.safetensors", w);
  BertLoadReport report;
  auto model = load_bert_for_sequence_classification((tmp.path / "bf16").string(), 3, {}, {}, &report);
  CHECK(report.loaded == 41);
  for (const auto& [name, p] : model->state_dict()) {
    const std::string tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    CHECK(p.dtype() == DType::f32);
    std::vector<float> expect;
    for (float x : w.at(name).contiguous().to_vector<float>()) expect.push_back(std::bit_cast<float>(uint32_t(to_bf16(x)) << 16));
    CHECK_CLOSE(p, from_vector<float>(expect, p.shape()), 0, 0);
  }
}

}  // namespace cherry
