// The dynamic-layer records (dynamic.jsonl, dynamic_summary.json), model.json and eval_results.json:
// their JSON and the checks made when reading them. imp.jsonl is in imp_record.cpp.
#include "apps/common/run_records.h"

#include <cmath>
#include <map>
#include <numeric>

#include "apps/common/json_fields.h"

namespace cherry {

using json = nlohmann::json;

namespace {

// Attention means are f32 softmax rows averaged in f64; the other quantities are checked to kExactTol.
constexpr double kAttentionSumTol = 1e-6;

template <class T> void put(json& j, const char* key, const std::optional<T>& v) {
  if (v) j[key] = *v;
}

AttentionStats read_attention(const json& j, const std::string& where) {
  AttentionStats a;
  a.entropy = opt_number(j, "attn_entropy", where), a.collapsed = opt_number(j, "attn_collapsed", where);
  a.mean = opt_vector<double>(j, "attn_mean", where);
  return a;
}

RouterStats read_router(const json& j, const std::string& where) {
  RouterStats r;
  r.experts = opt_integer(j, "experts", where), r.top_k = opt_integer(j, "top_k", where), r.dead_experts = opt_integer(j, "dead_experts", where);
  r.tokens = opt_integer(j, "tokens", where);
  r.tokens_per_expert = opt_vector<int64_t>(j, "tokens_per_expert", where);
  r.entropy = opt_number(j, "router_entropy", where), r.balance_loss = opt_number(j, "balance_loss", where);
  return r;
}

void check_attention(const AttentionStats& a, std::optional<int64_t> kernels, const std::string& lw) {
  // The attention rows are f32: their entropy may exceed log K by rounding.
  check_fraction(a.entropy, "normalised attention entropy", lw, kAttentionSumTol);
  check_fraction(a.collapsed, "collapsed fraction", lw);
  if (a.mean.empty()) return;
  if (kernels && int64_t(a.mean.size()) != *kernels) record_error(lw, cat("attn_mean has ", a.mean.size(), " entries, K = ", *kernels));
  for (double p : a.mean) check_fraction(p, "attention weight", lw, kAttentionSumTol);
  const double s = std::accumulate(a.mean.begin(), a.mean.end(), 0.0);
  if (std::abs(s - 1) > kAttentionSumTol) record_error(lw, cat("mean attention sums to ", precise(s), ", expected 1 (within ", kAttentionSumTol, ")"));
}

void check_router(const RouterStats& r, const std::string& lw) {
  if (!r.tokens_per_expert.empty()) {
    if (r.experts && int64_t(r.tokens_per_expert.size()) != *r.experts)
      record_error(lw, cat("tokens_per_expert has ", r.tokens_per_expert.size(), " entries, experts = ", *r.experts));
    int64_t dead = 0;
    for (int64_t t : r.tokens_per_expert) {
      if (t < 0) record_error(lw, cat("negative token count ", t));
      dead += t == 0;
    }
    if (r.dead_experts && *r.dead_experts != dead)
      record_error(lw, cat("dead_experts = ", *r.dead_experts, " but ", dead, " experts have no tokens in tokens_per_expert"));
    const int64_t routed = std::accumulate(r.tokens_per_expert.begin(), r.tokens_per_expert.end(), int64_t(0));
    if (r.tokens && r.top_k && routed != *r.tokens * *r.top_k)
      record_error(lw, cat("tokens_per_expert sums to ", routed, ", expected tokens x top_k = ", *r.tokens, " x ", *r.top_k));
  }
  if (r.top_k && (*r.top_k < 1 || (r.experts && *r.top_k > *r.experts))) record_error(lw, cat("top_k ", *r.top_k, " outside [1, experts]"));
  check_fraction(r.entropy, "normalised router entropy", lw);
}

// The invariants of one dynamic layer; `lw` names the layer.
void check_layer(const LayerStats& l, const std::string& lw) {
  if (l.entries && *l.entries <= 0) record_error(lw, cat("entries must be positive, got ", *l.entries));
  if (l.dynamic && (*l.dynamic < 0 || (l.entries && *l.dynamic > *l.entries)))
    record_error(lw, cat("dynamic entries ", *l.dynamic, " outside [0, entries = ", l.entries.value_or(0), "]"));
  check_fraction(l.kappa, "kappa", lw);
  if (l.kappa && l.entries && l.dynamic) {
    const double expect = double(*l.dynamic) / double(*l.entries);
    if (std::abs(*l.kappa - expect) > kExactTol) record_error(lw, cat("kappa ", precise(*l.kappa), " != dynamic/entries = ", precise(expect)));
  }
  if (l.lambda_d && !(*l.lambda_d >= 0 && *l.lambda_d <= 2)) record_error(lw, cat("lambda_d = 2 sigmoid(phi) must be in [0, 2], got ", *l.lambda_d));
  if (l.lambda_d && l.lambda_s && std::abs(*l.lambda_d + *l.lambda_s - 2) > kExactTol)
    record_error(lw, cat("lambda_d + lambda_s = ", precise(*l.lambda_d + *l.lambda_s), ", expected 2 (lambda_s = 2 - lambda_d)"));
  if (l.temperature && !(*l.temperature > 0)) record_error(lw, cat("temperature must be positive, got ", *l.temperature));
  check_attention(l.attention, l.kernels, lw);
  check_router(l.router, lw);
}

}  // namespace

void to_json(json& j, const AttentionStats& a) {
  j = json::object();
  put(j, "attn_entropy", a.entropy), put(j, "attn_collapsed", a.collapsed);
  if (!a.mean.empty()) j["attn_mean"] = a.mean;
}
void from_json(const json& j, AttentionStats& a) { a = read_attention(j, ""); }

void to_json(json& j, const RouterStats& r) {
  j = json::object();
  put(j, "experts", r.experts), put(j, "top_k", r.top_k), put(j, "tokens", r.tokens);
  // A router that has not routed yet has an empty list; it is written all the same, as the apps always did.
  if (r.experts || !r.tokens_per_expert.empty()) j["tokens_per_expert"] = r.tokens_per_expert;
  put(j, "dead_experts", r.dead_experts), put(j, "router_entropy", r.entropy), put(j, "balance_loss", r.balance_loss);
}
void from_json(const json& j, RouterStats& r) { r = read_router(j, ""); }

void to_json(json& j, const LayerStats& l) {
  j = {{"name", l.name}};
  put(j, "K", l.kernels), put(j, "entries", l.entries), put(j, "dynamic", l.dynamic), put(j, "kappa", l.kappa);
  put(j, "lambda_d", l.lambda_d), put(j, "lambda_s", l.lambda_s), put(j, "temperature", l.temperature);
  j.update(json(l.attention));
  j.update(json(l.router));
}

void from_json(const json& j, LayerStats& l) {
  if (!j.is_object()) record_error("", "a layer must be an object");
  l.name = need_string(j, "name", "");
  const std::string lw = cat("layer '", l.name, "'");
  l.kernels = opt_integer(j, "K", lw), l.entries = opt_integer(j, "entries", lw), l.dynamic = opt_integer(j, "dynamic", lw);
  l.kappa = opt_number(j, "kappa", lw), l.lambda_d = opt_number(j, "lambda_d", lw), l.lambda_s = opt_number(j, "lambda_s", lw);
  l.temperature = opt_number(j, "temperature", lw);
  l.attention = read_attention(j, lw);
  l.router = read_router(j, lw);
  check_layer(l, lw);
}

void to_json(json& j, const DynamicSnapshot& s) {
  j = {{"layers", s.layers}};
  put(j, "kappa", s.kappa);
}

void from_json(const json& j, DynamicSnapshot& s) {
  s.kappa = opt_number(j, "kappa", "");
  const json& layers = need_array(j, "layers", "");
  if (layers.empty()) record_error("", "no layers (a record of the dynamic layers lists at least one)");
  s.layers.clear();
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].is_object()) record_error("", cat("layers[", i, "] must be an object"));
    need_string(layers[i], "name", cat("layers[", i, "]"));  // names the index when the name is missing
    s.layers.push_back(layers[i].get<LayerStats>());
  }
  check_fraction(s.kappa, "global kappa", "");
  int64_t entries = 0, dynamic = 0;
  bool counted = true;
  for (const LayerStats& l : s.layers) {
    counted = counted && l.entries && l.dynamic;
    if (counted) entries += *l.entries, dynamic += *l.dynamic;
  }
  if (s.kappa && counted && std::abs(*s.kappa - double(dynamic) / double(entries)) > kExactTol)
    record_error("", cat("global kappa ", precise(*s.kappa), " != sum(dynamic)/sum(entries) = ", dynamic, "/", entries));
}

void to_json(json& j, const DynamicRecord& r) {
  to_json(j, static_cast<const DynamicSnapshot&>(r));
  j["step"] = r.step, j["epoch"] = r.epoch;
  put(j, "balance_loss", r.balance_loss);
}

void from_json(const json& j, DynamicRecord& r) {
  r.step = need_integer(j, "step", "");
  r.epoch = opt_integer(j, "epoch", "").value_or(0);
  r.balance_loss = opt_number(j, "balance_loss", "");
  from_json(j, static_cast<DynamicSnapshot&>(r));
}

std::vector<DynamicRecord> read_dynamic_jsonl(const std::string& path, const std::string& op) {
  std::vector<DynamicRecord> records;
  std::map<int64_t, std::string> seen;  // step -> where it was recorded
  for_each_jsonl(path, op, [&](const json& j, const std::string& where) {
    DynamicRecord r = read_record<DynamicRecord>(j, where, op);
    if (auto [it, fresh] = seen.emplace(r.step, where); !fresh)
      throw Error(op, cat(where, ": step ", r.step, " is recorded twice (first at ", it->second, ")"));
    records.push_back(std::move(r));
  });
  return records;
}

ModelSummary model_summary(const ParameterCounts& c, int64_t dynamic_layers) {
  return {c.trainable, c.dynamic, c.static_, c.stored(), dynamic_layers, std::nullopt, c.kappa(), c.dynamic_entries, std::nullopt, std::nullopt};
}

void to_json(json& j, const ModelSummary& m) {
  j = json::object();
  put(j, "trainable_parameters", m.trainable), put(j, "dynamic_parameters", m.dynamic), put(j, "static_parameters", m.static_);
  put(j, "stored_parameters", m.stored), put(j, "kappa", m.kappa), put(j, "dynamic_layers", m.dynamic_layers);
  put(j, "flops_per_image", m.flops_per_image);
  put(j, "index_entries", m.index_entries), put(j, "deployed_bytes", m.deployed_bytes);
  put(j, "deployed_flops_per_image", m.deployed_flops_per_image);
}

void from_json(const json& j, ModelSummary& m) {
  m.trainable = opt_integer(j, "trainable_parameters", ""), m.dynamic = opt_integer(j, "dynamic_parameters", "");
  m.static_ = opt_integer(j, "static_parameters", ""), m.stored = opt_integer(j, "stored_parameters", "");
  m.kappa = opt_number(j, "kappa", ""), m.dynamic_layers = opt_integer(j, "dynamic_layers", "");
  m.flops_per_image = opt_integer(j, "flops_per_image", "");
  m.index_entries = opt_integer(j, "index_entries", ""), m.deployed_bytes = opt_integer(j, "deployed_bytes", "");
  m.deployed_flops_per_image = opt_integer(j, "deployed_flops_per_image", "");
  check_fraction(m.kappa, "kappa", "");
  if (m.stored && m.static_ && m.dynamic && *m.stored != *m.static_ + *m.dynamic)
    record_error("", cat("stored_parameters ", *m.stored, " != static_parameters ", *m.static_, " + dynamic_parameters ", *m.dynamic));
}

void to_json(json& j, const EvalResult& e) {
  j = json::object();
  for (const auto& [k, v] : e.metrics) j[e.prefix + k] = v;
  if (e.loss) j[e.prefix + "loss"] = *e.loss;
  if (e.samples) j[e.prefix + "samples"] = *e.samples;
  put(j, "epoch", e.epoch), put(j, "step", e.step);
  if (e.best) j["best_" + e.best->first] = e.best->second;
}

// The keys are not fixed (the task's metrics), so every number that is not epoch, step, best_* or
// the loss and sample count is a metric.
void from_json(const json& j, EvalResult& e) {
  if (!j.is_object()) record_error("", "expected a JSON object");
  e = EvalResult{};
  e.prefix = j.contains("eval_loss") ? "eval_" : "";
  e.epoch = opt_integer(j, "epoch", ""), e.step = opt_integer(j, "step", "");
  e.samples = opt_integer(j, (e.prefix + "samples").c_str(), "");
  for (const auto& [key, v] : j.items()) {
    if (key == "epoch" || key == "step" || key == e.prefix + "samples") continue;
    const double x = as_number(v, key.c_str(), "");
    if (key.starts_with("best_")) e.best = {{key.substr(5), x}};
    else if (key == e.prefix + "loss") e.loss = x;
    else e.metrics.emplace_back(key.starts_with(e.prefix) ? key.substr(e.prefix.size()) : key, x);
  }
}

}  // namespace cherry
