#include "apps/audit/audit_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "apps/common/json_fields.h"
#include "core/error.h"
#include "core/safetensors.h"

namespace cherry::audit {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

[[noreturn]] void fail(const std::string& where, const std::string& what) { throw Error("audit", cat(where, ": ", what)); }

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

AuditData read_run_files(const std::string& dir) {
  if (!fs::is_directory(dir)) fail(dir, "not a directory");
  AuditData d;
  d.source = dir;
  const auto file = [&](const char* name) { return (fs::path(dir) / name).string(); };
  const auto present = [&](const char* name) { return fs::is_regular_file(file(name)); };
  const auto skip = [&](const char* name, const char* consequence) { d.skipped.push_back(cat(name, " is not there: ", consequence)); };
  // A whole-file record: errors name the file.
  const auto read_file = [&]<class T>(const char* name, std::optional<T>& out) { out = read_record<T>(read_json_file(file(name), "audit"), file(name)); };

  if (present("config.json")) d.config = read_json_file(file("config.json"), "audit");
  else skip("config.json", "the summary shows no configuration");
  if (present("model.json")) read_file("model.json", d.model);
  else skip("model.json", "no parameter counts or FLOPs");
  if (present("eval_results.json")) read_file("eval_results.json", d.eval_results);
  else skip("eval_results.json", "no final evaluation");
  if (present("deploy.json")) d.deploy = read_json_file(file("deploy.json"), "audit");
  else skip("deploy.json", "no deployment check (train_resnet and finetune_bert write it with --export-deploy)");

  if (present("metrics.jsonl"))
    for_each_jsonl(file("metrics.jsonl"), "audit", [&](const json& j, const std::string& w) {
      MetricPoint p = parse_metric_point(j, w);
      // The loop logs each step once, in order: a repeated or earlier step is two runs' logs mixed.
      CHERRY_CHECK(d.metrics.empty() || p.step > d.metrics.back().step, "audit", w, ": step ", p.step, " follows step ",
                   d.metrics.empty() ? 0 : d.metrics.back().step, " (a step recorded twice or out of order)");
      d.metrics.push_back(p);
    });
  else skip("metrics.jsonl", "no training curves");
  if (present("summary.csv")) d.epochs = read_summary_csv(file("summary.csv"));
  else skip("summary.csv", "no per-epoch accuracy");
  if (present("dynamic.jsonl")) d.dynamic = read_dynamic_jsonl(file("dynamic.jsonl"));
  else skip("dynamic.jsonl", "no dynamic layers over training (static convs write none)");
  if (present("dynamic_summary.json")) read_file("dynamic_summary.json", d.dynamic_summary);
  else skip("dynamic_summary.json", "final layer values are taken from the last dynamic.jsonl record");
  if (present("imp.jsonl")) d.imp = read_imp_jsonl(file("imp.jsonl"));
  else skip("imp.jsonl", "no IMP section (only PAD runs that partition the mask write it)");
  if (d.metrics.empty() && d.dynamic.empty() && d.imp.empty() && !d.dynamic_summary)
    fail(dir, "no records: metrics.jsonl, dynamic.jsonl and imp.jsonl are missing or empty. Is this a run directory "
              "(train_resnet --run-dir) of a run that took at least one step?");
  return d;
}

}  // namespace

const DynamicSnapshot* AuditData::final_dynamic() const {
  if (dynamic_summary) return &*dynamic_summary;
  return dynamic.empty() ? nullptr : &dynamic.back();
}

bool AuditData::has_attention() const {
  const DynamicSnapshot* f = final_dynamic();
  return f && std::any_of(f->layers.begin(), f->layers.end(), [](const LayerStats& l) { return l.has_attention(); });
}

bool AuditData::has_router() const {
  const DynamicSnapshot* f = final_dynamic();
  return f && std::any_of(f->layers.begin(), f->layers.end(), [](const LayerStats& l) { return l.has_router(); });
}

MetricPoint parse_metric_point(const json& j, const std::string& where) {
  MetricPoint m;
  m.step = need_integer(j, "step", where);
  m.epoch = opt_integer(j, "epoch", where).value_or(0);
  m.loss = opt_number(j, "loss", where), m.loss_avg = opt_number(j, "loss_avg", where), m.lr = opt_number(j, "lr", where);
  m.grad_norm = opt_number(j, "grad_norm", where), m.samples_per_s = opt_number(j, "samples_per_s", where);
  return m;
}

// The records' readers throw Error("record", "file:line: ..."); the audit's errors say "audit".
AuditData read_run_dir(const std::string& dir) {
  try {
    return read_run_files(dir);
  } catch (const Error& e) {
    if (e.op() != "record") throw;
    throw Error("audit", e.message());
  }
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
