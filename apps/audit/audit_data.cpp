#include "apps/audit/audit_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <cstdio>
#include <sstream>

#include "core/error.h"
#include "core/safetensors.h"

namespace cherry::audit {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// Tolerances of the invariants: attention means are f32 softmax rows averaged in f64; the other
// quantities are computed in f64 and written with round-trip precision.
constexpr double kAttentionSumTol = 1e-6;
constexpr double kExactTol = 1e-9;

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw Error("audit", cat(where, ": ", what)); }

std::string layer_where(const std::string& where, const std::string& name) { return cat(where, ": layer '", name, "'"); }

const json* find(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double as_number(const json& v, const char* key, const std::string& where) {
  if (!v.is_number()) fail(where, cat("'", key, "' must be a number, got ", v.dump()));
  return v.get<double>();
}

int64_t as_integer(const json& v, const char* key, const std::string& where) {
  const double d = as_number(v, key, where);
  if (d != std::floor(d) || std::abs(d) > 9e15) fail(where, cat("'", key, "' must be an integer, got ", v.dump()));
  return int64_t(d);
}

double need_number(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v) fail(where, cat("missing key '", key, "'"));
  return as_number(*v, key, where);
}

int64_t need_integer(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v) fail(where, cat("missing key '", key, "'"));
  return as_integer(*v, key, where);
}

std::optional<double> opt_number(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  return v ? std::optional<double>(as_number(*v, key, where)) : std::nullopt;
}

std::optional<int64_t> opt_integer(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  return v ? std::optional<int64_t>(as_integer(*v, key, where)) : std::nullopt;
}

template <class T> std::vector<T> opt_vector(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v) return {};
  if (!v->is_array()) fail(where, cat("'", key, "' must be an array, got ", v->dump()));
  std::vector<T> out;
  for (const json& e : *v) {
    if constexpr (std::is_integral_v<T>) out.push_back(as_integer(e, key, where));
    else out.push_back(as_number(e, key, where));
  }
  return out;
}

std::string need_string(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v || !v->is_string()) fail(where, cat("missing string '", key, "'"));
  return v->get<std::string>();
}

const json& need_array(const json& j, const char* key, const std::string& where) {
  const json* v = find(j, key);
  if (!v || !v->is_array()) fail(where, cat("missing array '", key, "'"));
  return *v;
}

std::string precise(double v) {  // enough digits to show why a check failed
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

void check_fraction(std::optional<double> v, const char* what, const std::string& where, double tol = kExactTol) {
  if (v && !(*v >= -tol && *v <= 1 + tol)) fail(where, cat(what, " must be in [0, 1], got ", precise(*v)));
}

// The invariants of one dynamic layer; `lw` names the file, line and layer.
void validate_layer(const LayerStats& l, const std::string& lw) {
  if (l.entries && *l.entries <= 0) fail(lw, cat("entries must be positive, got ", *l.entries));
  if (l.dynamic && (*l.dynamic < 0 || (l.entries && *l.dynamic > *l.entries)))
    fail(lw, cat("dynamic entries ", *l.dynamic, " outside [0, entries = ", l.entries.value_or(0), "]"));
  check_fraction(l.kappa, "kappa", lw);
  if (l.kappa && l.entries && l.dynamic) {
    const double expect = double(*l.dynamic) / double(*l.entries);
    if (std::abs(*l.kappa - expect) > kExactTol) fail(lw, cat("kappa ", precise(*l.kappa), " != dynamic/entries = ", precise(expect)));
  }
  if (l.lambda_d && !(*l.lambda_d >= 0 && *l.lambda_d <= 2)) fail(lw, cat("lambda_d = 2 sigmoid(phi) must be in [0, 2], got ", *l.lambda_d));
  if (l.lambda_d && l.lambda_s && std::abs(*l.lambda_d + *l.lambda_s - 2) > kExactTol)
    fail(lw, cat("lambda_d + lambda_s = ", precise(*l.lambda_d + *l.lambda_s), ", expected 2 (lambda_s = 2 - lambda_d)"));
  if (l.temperature && !(*l.temperature > 0)) fail(lw, cat("temperature must be positive, got ", *l.temperature));
  // The attention rows are f32: their entropy may exceed log K by rounding.
  check_fraction(l.attn_entropy, "normalised attention entropy", lw, kAttentionSumTol);
  check_fraction(l.attn_collapsed, "collapsed fraction", lw);
  if (!l.attn_mean.empty()) {
    if (l.kernels && int64_t(l.attn_mean.size()) != *l.kernels)
      fail(lw, cat("attn_mean has ", l.attn_mean.size(), " entries, K = ", *l.kernels));
    for (double a : l.attn_mean) check_fraction(a, "attention weight", lw, kAttentionSumTol);
    const double s = std::accumulate(l.attn_mean.begin(), l.attn_mean.end(), 0.0);
    if (std::abs(s - 1) > kAttentionSumTol) fail(lw, cat("mean attention sums to ", precise(s), ", expected 1 (within ", kAttentionSumTol, ")"));
  }
  if (!l.tokens_per_expert.empty()) {
    if (l.experts && int64_t(l.tokens_per_expert.size()) != *l.experts)
      fail(lw, cat("tokens_per_expert has ", l.tokens_per_expert.size(), " entries, experts = ", *l.experts));
    int64_t dead = 0;
    for (double t : l.tokens_per_expert) {
      if (t < 0) fail(lw, cat("negative token count ", t));
      dead += t == 0;
    }
    if (l.dead_experts && *l.dead_experts != dead)
      fail(lw, cat("dead_experts = ", *l.dead_experts, " but ", dead, " experts have no tokens in tokens_per_expert"));
    if (l.tokens && l.top_k) {
      const double routed = std::accumulate(l.tokens_per_expert.begin(), l.tokens_per_expert.end(), 0.0);
      if (std::abs(routed - double(*l.tokens * *l.top_k)) > 0.5)
        fail(lw, cat("tokens_per_expert sums to ", routed, ", expected tokens x top_k = ", *l.tokens, " x ", *l.top_k));
    }
  }
  if (l.top_k && (*l.top_k < 1 || (l.experts && *l.top_k > *l.experts))) fail(lw, cat("top_k ", *l.top_k, " outside [1, experts]"));
  check_fraction(l.router_entropy, "normalised router entropy", lw);
}

LayerStats parse_layer(const json& j, const std::string& where, size_t index) {
  LayerStats l;
  if (!j.is_object()) fail(where, cat("layers[", index, "] must be an object"));
  l.name = need_string(j, "name", cat(where, ": layers[", index, "]"));
  const std::string lw = layer_where(where, l.name);
  l.kernels = opt_integer(j, "K", lw), l.entries = opt_integer(j, "entries", lw), l.dynamic = opt_integer(j, "dynamic", lw);
  l.kappa = opt_number(j, "kappa", lw), l.lambda_d = opt_number(j, "lambda_d", lw), l.lambda_s = opt_number(j, "lambda_s", lw);
  l.temperature = opt_number(j, "temperature", lw);
  l.attn_entropy = opt_number(j, "attn_entropy", lw), l.attn_collapsed = opt_number(j, "attn_collapsed", lw);
  l.attn_mean = opt_vector<double>(j, "attn_mean", lw);
  l.experts = opt_integer(j, "experts", lw), l.top_k = opt_integer(j, "top_k", lw), l.dead_experts = opt_integer(j, "dead_experts", lw);
  l.tokens = opt_integer(j, "tokens", lw);
  l.tokens_per_expert = opt_vector<double>(j, "tokens_per_expert", lw);
  l.router_entropy = opt_number(j, "router_entropy", lw), l.balance_loss = opt_number(j, "balance_loss", lw);
  validate_layer(l, lw);
  return l;
}

// Calls fn(json, "file:line") for each non-blank line; a line that is not a JSON object is an error.
template <class Fn> void for_each_jsonl(const std::string& path, Fn fn) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot be read");
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = cat(path, ":", n);
    json j;
    try {
      j = json::parse(line);
    } catch (const json::parse_error& e) {
      const bool last_unterminated = in.eof();  // no newline after it: the writer may have been killed mid-line
      fail(where, cat("not valid JSON (", e.what(), ")", last_unterminated ? "; an unterminated last line: was the run killed while writing it?" : ""));
    }
    if (!j.is_object()) fail(where, "expected one JSON object per line");
    fn(j, where);
  }
}

json read_json_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot be read");
  try {
    return json::parse(in);
  } catch (const json::parse_error& e) {
    fail(path, cat("not valid JSON (", e.what(), ")"));
  }
}

std::vector<EpochRow> read_summary_csv(const std::string& path) {
  std::ifstream in(path);
  if (!in) fail(path, "cannot be read");
  auto split = [](const std::string& s) {
    std::vector<std::string> out;
    std::stringstream ss(s);
    std::string c;
    while (std::getline(ss, c, ',')) out.push_back(c);
    if (!s.empty() && s.back() == ',') out.push_back("");
    return out;
  };
  std::string line;
  if (!std::getline(in, line)) return {};
  const std::vector<std::string> header = split(line);
  std::vector<EpochRow> rows;
  for (int64_t n = 2; std::getline(in, line); ++n) {
    if (line.empty()) continue;
    const std::string where = cat(path, ":", n);
    const std::vector<std::string> cells = split(line);
    if (cells.size() != header.size()) fail(where, cat(cells.size(), " columns, the header has ", header.size()));
    json j = json::object();
    for (size_t c = 0; c < cells.size(); ++c) {
      if (cells[c].empty()) continue;
      char* end = nullptr;
      const double v = std::strtod(cells[c].c_str(), &end);
      if (end == cells[c].c_str() || *end != '\0') fail(where, cat("column '", header[c], "': not a number: '", cells[c], "'"));
      j[header[c]] = v;
    }
    EpochRow r;
    r.epoch = need_integer(j, "epoch", where);
    r.step = opt_integer(j, "step", where);
    r.train_loss = opt_number(j, "train_loss", where), r.train_accuracy = opt_number(j, "train_accuracy", where);
    r.eval_loss = opt_number(j, "eval_loss", where), r.eval_accuracy = opt_number(j, "eval_accuracy", where);
    r.lr = opt_number(j, "lr", where);
    rows.push_back(r);
  }
  return rows;
}

// Mask flips between consecutive IMP iterations change the dynamic count by at most the number of
// flips, with the same parity (each flip moves one entry). Iteration 1 starts from M = 1.
void validate_imp_sequence(const std::vector<ImpRecord>& imp, const std::string& path) {
  for (size_t t = 0; t < imp.size(); ++t) {
    const std::string where = cat(path, ": iteration ", imp[t].iteration);
    if (t > 0 && imp[t].iteration <= imp[t - 1].iteration) fail(where, "iterations are not increasing");
    if (t > 0 && imp[t].layers.size() != imp[t - 1].layers.size()) fail(where, "the layer list changed between iterations");
    for (size_t l = 0; l < imp[t].layers.size(); ++l) {
      const ImpLayer& cur = imp[t].layers[l];
      const int64_t before = t == 0 ? cur.entries : imp[t - 1].layers[l].dynamic;
      const int64_t moved = std::abs(cur.dynamic - before);
      if (cur.flips < moved || (cur.flips - moved) % 2 != 0)
        fail(layer_where(where, cur.name), cat(cur.flips, " flips cannot take the dynamic count from ", before, " to ", cur.dynamic));
    }
  }
}

}  // namespace

std::vector<int64_t> ImpRecord::total_histogram() const {
  std::vector<int64_t> total;
  for (const ImpLayer& l : layers) {
    total.resize(std::max(total.size(), l.histogram.size()), 0);
    for (size_t i = 0; i < l.histogram.size(); ++i) total[i] += l.histogram[i];
  }
  return total;
}

int64_t ImpRecord::total_flips() const {
  int64_t n = 0;
  for (const ImpLayer& l : layers) n += l.flips;
  return n;
}

int64_t ImpRecord::total_zero_scores() const {
  int64_t n = 0;
  for (const ImpLayer& l : layers) n += l.zero_scores;
  return n;
}

const DynamicRecord* AuditData::final_dynamic() const {
  if (dynamic_summary) return &*dynamic_summary;
  return dynamic.empty() ? nullptr : &dynamic.back();
}

bool AuditData::has_attention() const {
  const DynamicRecord* f = final_dynamic();
  return f && std::any_of(f->layers.begin(), f->layers.end(), [](const LayerStats& l) { return l.has_attention(); });
}

bool AuditData::has_router() const {
  const DynamicRecord* f = final_dynamic();
  return f && std::any_of(f->layers.begin(), f->layers.end(), [](const LayerStats& l) { return l.has_router(); });
}

DynamicRecord parse_dynamic_record(const json& j, const std::string& where) {
  DynamicRecord r;
  r.step = opt_integer(j, "step", where).value_or(0);
  r.epoch = opt_integer(j, "epoch", where).value_or(0);
  r.kappa = opt_number(j, "kappa", where);
  r.balance_loss = opt_number(j, "balance_loss", where);
  const json& layers = need_array(j, "layers", where);
  for (size_t i = 0; i < layers.size(); ++i) r.layers.push_back(parse_layer(layers[i], where, i));
  check_fraction(r.kappa, "global kappa", where);
  int64_t entries = 0, dynamic = 0;
  bool counted = !r.layers.empty();
  for (const LayerStats& l : r.layers) {
    counted = counted && l.entries && l.dynamic;
    if (counted) entries += *l.entries, dynamic += *l.dynamic;
  }
  if (r.kappa && counted && std::abs(*r.kappa - double(dynamic) / double(entries)) > kExactTol)
    fail(where, cat("global kappa ", precise(*r.kappa), " != sum(dynamic)/sum(entries) = ", dynamic, "/", entries));
  return r;
}

ImpRecord parse_imp_record(const json& j, const std::string& where) {
  ImpRecord r;
  r.iteration = need_integer(j, "iteration", where);
  r.step = opt_integer(j, "step", where);
  r.target_kappa = need_number(j, "target_kappa", where);
  r.achieved_kappa = need_number(j, "achieved_kappa", where);
  r.threshold = need_number(j, "threshold", where);
  r.log10_lo = need_number(j, "log10_lo", where), r.log10_hi = need_number(j, "log10_hi", where);
  check_fraction(r.target_kappa, "target_kappa", where);
  check_fraction(r.achieved_kappa, "achieved_kappa", where);
  if (!(r.log10_lo < r.log10_hi)) fail(where, cat("histogram range log10_lo ", r.log10_lo, " must be below log10_hi ", r.log10_hi));
  const json& layers = need_array(j, "layers", where);
  if (layers.empty()) fail(where, "no layers");
  int64_t entries = 0, dynamic = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].is_object()) fail(where, cat("layers[", i, "] must be an object"));
    ImpLayer l;
    l.name = need_string(layers[i], "name", cat(where, ": layers[", i, "]"));
    const std::string lw = layer_where(where, l.name);
    l.entries = need_integer(layers[i], "entries", lw), l.dynamic = need_integer(layers[i], "dynamic", lw);
    l.flips = need_integer(layers[i], "flips", lw), l.zero_scores = need_integer(layers[i], "zero_scores", lw);
    l.kappa = need_number(layers[i], "kappa", lw), l.threshold = need_number(layers[i], "threshold", lw);
    l.histogram = opt_vector<int64_t>(layers[i], "histogram", lw);
    if (l.entries <= 0) fail(lw, cat("entries must be positive, got ", l.entries));
    if (l.dynamic < 0 || l.dynamic > l.entries) fail(lw, cat("dynamic entries ", l.dynamic, " outside [0, entries = ", l.entries, "]"));
    if (std::abs(l.kappa - double(l.dynamic) / double(l.entries)) > kExactTol)
      fail(lw, cat("kappa ", precise(l.kappa), " != dynamic/entries = ", precise(double(l.dynamic) / double(l.entries))));
    if (l.flips < 0 || l.flips > l.entries) fail(lw, cat("flips ", l.flips, " outside [0, entries = ", l.entries, "]"));
    if (l.histogram.empty()) fail(lw, "empty histogram");
    if (i > 0 && l.histogram.size() != r.layers[0].histogram.size())
      fail(lw, cat("histogram has ", l.histogram.size(), " bins, the first layer's has ", r.layers[0].histogram.size()));
    int64_t counted = l.zero_scores;
    for (int64_t c : l.histogram) {
      if (c < 0) fail(lw, cat("negative histogram count ", c));
      counted += c;
    }
    if (counted != l.entries) fail(lw, cat("histogram counts + zero_scores = ", counted, ", expected entries = ", l.entries));
    entries += l.entries, dynamic += l.dynamic;
    r.layers.push_back(std::move(l));
  }
  if (std::abs(r.achieved_kappa - double(dynamic) / double(entries)) > kExactTol)
    fail(where, cat("achieved_kappa ", precise(r.achieved_kappa), " != sum(dynamic)/sum(entries) = ", dynamic, "/", entries));
  return r;
}

MetricPoint parse_metric_point(const json& j, const std::string& where) {
  MetricPoint m;
  m.step = need_integer(j, "step", where);
  m.epoch = opt_integer(j, "epoch", where).value_or(0);
  m.loss = opt_number(j, "loss", where), m.loss_avg = opt_number(j, "loss_avg", where), m.lr = opt_number(j, "lr", where);
  m.grad_norm = opt_number(j, "grad_norm", where), m.samples_per_s = opt_number(j, "samples_per_s", where);
  return m;
}

AuditData read_run_dir(const std::string& dir) {
  if (!fs::is_directory(dir)) fail(dir, "not a directory");
  AuditData d;
  d.source = dir;
  const auto file = [&](const char* name) { return (fs::path(dir) / name).string(); };
  const auto present = [&](const char* name) { return fs::is_regular_file(file(name)); };
  const auto skip = [&](const char* name, const char* consequence) { d.skipped.push_back(cat(name, " is not there: ", consequence)); };

  if (present("config.json")) d.config = read_json_file(file("config.json"));
  else skip("config.json", "the summary shows no configuration");
  if (present("model.json")) {
    d.model = read_json_file(file("model.json"));
    const json* st = find(d.model, "stored_parameters");
    const json* sp = find(d.model, "static_parameters");
    const json* dp = find(d.model, "dynamic_parameters");
    if (st && sp && dp) {
      const std::string w = file("model.json");
      if (as_integer(*st, "stored_parameters", w) != as_integer(*sp, "static_parameters", w) + as_integer(*dp, "dynamic_parameters", w))
        fail(w, cat("stored_parameters ", st->dump(), " != static_parameters ", sp->dump(), " + dynamic_parameters ", dp->dump()));
    }
  }
  else skip("model.json", "no parameter counts or FLOPs");
  if (present("eval_results.json")) d.eval_results = read_json_file(file("eval_results.json"));
  else skip("eval_results.json", "no final evaluation");
  if (present("deploy.json")) d.deploy = read_json_file(file("deploy.json"));
  else skip("deploy.json", "no deployment check (train_resnet and finetune_bert write it with --export-deploy)");

  if (present("metrics.jsonl"))
    for_each_jsonl(file("metrics.jsonl"), [&](const json& j, const std::string& w) { d.metrics.push_back(parse_metric_point(j, w)); });
  else skip("metrics.jsonl", "no training curves");
  if (present("summary.csv")) d.epochs = read_summary_csv(file("summary.csv"));
  else skip("summary.csv", "no per-epoch accuracy");
  if (present("dynamic.jsonl"))
    for_each_jsonl(file("dynamic.jsonl"), [&](const json& j, const std::string& w) { d.dynamic.push_back(parse_dynamic_record(j, w)); });
  else skip("dynamic.jsonl", "no dynamic layers over training (static convs write none)");
  if (present("dynamic_summary.json")) d.dynamic_summary = parse_dynamic_record(read_json_file(file("dynamic_summary.json")), file("dynamic_summary.json"));
  else skip("dynamic_summary.json", "final layer values are taken from the last dynamic.jsonl record");
  if (present("imp.jsonl")) {
    for_each_jsonl(file("imp.jsonl"), [&](const json& j, const std::string& w) { d.imp.push_back(parse_imp_record(j, w)); });
    validate_imp_sequence(d.imp, file("imp.jsonl"));
  } else {
    skip("imp.jsonl", "no IMP section (only PAD runs that partition the mask write it)");
  }
  if (d.metrics.empty() && d.dynamic.empty() && d.imp.empty() && !d.dynamic_summary)
    fail(dir, "no records: metrics.jsonl, dynamic.jsonl and imp.jsonl are missing or empty. Is this a run directory "
              "(train_resnet --run-dir) of a run that took at least one step?");
  return d;
}

AuditData read_checkpoint(const std::string& path) {
  SafeTensorsFile f = SafeTensorsFile::open(path);
  AuditData d;
  d.source = path;
  d.from_checkpoint = true;
  const auto& meta = f.metadata();
  try {
    if (auto it = meta.find("cherry.state"); it != meta.end()) d.checkpoint_step = json::parse(it->second).at("step").get<int64_t>();
    if (auto it = meta.find("cherry.config"); it != meta.end()) d.config = json::parse(it->second);
  } catch (const json::exception& e) {
    fail(path, cat("metadata 'cherry.state' or 'cherry.config' is not valid: ", e.what()));
  }
  // A dynamic layer is a prefix with a mask (PAD) or a temperature (DY-Conv); the state dict order
  // (the order of the tensors in the file) is the network's order.
  std::vector<std::string> prefixes;
  for (const SafeTensorEntry& e : f.entries()) {
    if (e.name.starts_with("optim.")) continue;
    for (const char* suffix : {".mask", ".temperature"})
      if (e.name.ends_with(suffix)) {
        const std::string p = e.name.substr(0, e.name.size() - std::string(suffix).size());
        if (std::find(prefixes.begin(), prefixes.end(), p) == prefixes.end()) prefixes.push_back(p);
      }
  }
  if (prefixes.empty()) fail(path, "no dynamic layers (no '<layer>.mask' or '<layer>.temperature' tensors): a static model?");
  auto scalar = [&](const std::string& name) {
    const Tensor t = f.get(name);
    if (t.numel() != 1) fail(path, cat("'", name, "' must hold one value, has shape ", shape_str(t.shape())));
    return t.to(DType::f64).contiguous().to_vector<double>()[0];
  };
  for (const std::string& p : prefixes) {
    CheckpointLayer l;
    l.name = p;
    const std::string lw = cat(path, ": layer '", p, "'");
    Shape kernel_shape;
    if (f.contains(p + ".weight")) {
      const Shape ws = f.entry(p + ".weight").shape;
      if (ws.size() < 2) fail(lw, cat("weight must be [K, ...], has shape ", shape_str(ws)));
      l.kernels = ws[0];
      kernel_shape.assign(ws.begin() + 1, ws.end());
      l.entries = numel_of(kernel_shape);
    }
    if (f.contains(p + ".mask")) {
      const Tensor m = f.get(p + ".mask");
      if (l.kernels && m.shape() != kernel_shape)
        fail(lw, cat("mask shape ", shape_str(m.shape()), " != one kernel's shape ", shape_str(kernel_shape)));
      l.entries = m.numel();
      for (double v : m.to(DType::f64).contiguous().to_vector<double>()) {
        if (v != 0 && v != 1) fail(lw, cat("mask holds ", v, ": a mask is binary (1 = dynamic)"));
        l.dynamic += v == 1;
      }
      l.has_mask = true;
    } else {
      l.dynamic = l.entries;  // fully dynamic
    }
    if (l.entries <= 0) fail(lw, "neither a weight [K, ...] nor a mask tells how many entries the layer has");
    l.kappa = double(l.dynamic) / double(l.entries);
    if (f.contains(p + ".phi")) l.lambda_d = 2.0 / (1.0 + std::exp(-scalar(p + ".phi"))), l.has_phi = true;
    if (f.contains(p + ".temperature")) l.temperature = scalar(p + ".temperature");
    d.checkpoint_layers.push_back(l);
  }
  return d;
}

AuditData read_audit_input(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) fail(path, "no such file or directory (expected a run directory or a .safetensors checkpoint)");
  if (fs::is_directory(path, ec)) return read_run_dir(path);
  if (path.ends_with(".safetensors")) return read_checkpoint(path);
  try {
    return read_checkpoint(path);
  } catch (const Error& e) {
    fail(path, cat("is neither a run directory nor a readable .safetensors checkpoint (", e.message(), ")"));
  }
}

}  // namespace cherry::audit
