// imp.jsonl: one IMP iteration per line (run_imp's report, its settings, the step it ran at), and the
// checks made when reading it: each line on its own, then the sequence of lines.
#include <algorithm>
#include <cmath>

#include "apps/common/choices.h"
#include "apps/common/json_fields.h"
#include "apps/common/run_records.h"  // declares what this file defines (with run_records.cpp)

namespace cherry {

using json = nlohmann::json;

namespace {

template <class E> E need_choice(const json& j, const char* key) {
  const std::string name = need_string(j, key, "");
  if (auto e = find_choice<E>(name)) return *e;
  record_error("", cat("'", key, "' must be ", choice_names<E>(), ", got '", name, "'"));
}

// Iteration 1 starts from M = 1; each flip moves one entry, so between consecutive iterations the
// dynamic count changes by at most the flips, with the same parity.
void check_sequence(const std::vector<ImpRecord>& imp, const std::string& path, const std::string& op) {
  for (size_t t = 0; t < imp.size(); ++t) {
    const std::string where = cat(path, ": iteration ", imp[t].iteration);
    if (t > 0 && imp[t].iteration <= imp[t - 1].iteration) throw Error(op, cat(where, ": iterations are not increasing"));
    if (t > 0 && imp[t].layers.size() != imp[t - 1].layers.size()) throw Error(op, cat(where, ": the layer list changed between iterations"));
    for (size_t l = 0; l < imp[t].layers.size(); ++l) {
      const ImpLayerReport& cur = imp[t].layers[l];
      const int64_t before = t == 0 ? cur.entries : imp[t - 1].layers[l].dynamic;
      const int64_t moved = std::abs(cur.dynamic - before);
      if (cur.flips < moved || (cur.flips - moved) % 2 != 0)
        throw Error(op, cat(where, ": layer '", cur.name, "': ", cur.flips, " flips cannot take the dynamic count from ", before, " to ", cur.dynamic));
    }
  }
}

}  // namespace

ImpRecord imp_record(const ImpIteration& it, const ImpOptions& o, int64_t step) {
  return {it, step, ImpSettings{o.iterations, o.scorer, o.scope, o.schedule, o.batches}};
}

std::vector<int64_t> ImpRecord::total_histogram() const {
  std::vector<int64_t> total;
  for (const ImpLayerReport& l : layers) {
    total.resize(std::max(total.size(), l.histogram.size()), 0);
    for (size_t i = 0; i < l.histogram.size(); ++i) total[i] += l.histogram[i];
  }
  return total;
}

int64_t ImpRecord::total_flips() const {
  int64_t n = 0;
  for (const ImpLayerReport& l : layers) n += l.flips;
  return n;
}

int64_t ImpRecord::total_zero_scores() const {
  int64_t n = 0;
  for (const ImpLayerReport& l : layers) n += l.zero_scores;
  return n;
}

void to_json(json& j, const ImpLayerReport& l) {
  j = {{"name", l.name},           {"entries", l.entries},     {"dynamic", l.dynamic},     {"kappa", l.kappa},
       {"flips", l.flips},         {"threshold", l.threshold}, {"zero_scores", l.zero_scores}, {"histogram", l.histogram}};
}

void from_json(const json& j, ImpLayerReport& l) {
  if (!j.is_object()) record_error("", "a layer must be an object");
  l.name = need_string(j, "name", "");
  const std::string lw = cat("layer '", l.name, "'");
  l.entries = need_integer(j, "entries", lw), l.dynamic = need_integer(j, "dynamic", lw);
  l.flips = need_integer(j, "flips", lw), l.zero_scores = need_integer(j, "zero_scores", lw);
  l.kappa = need_number(j, "kappa", lw), l.threshold = need_number(j, "threshold", lw);
  l.histogram = opt_vector<int64_t>(j, "histogram", lw);
  if (l.entries <= 0) record_error(lw, cat("entries must be positive, got ", l.entries));
  if (l.dynamic < 0 || l.dynamic > l.entries) record_error(lw, cat("dynamic entries ", l.dynamic, " outside [0, entries = ", l.entries, "]"));
  if (std::abs(l.kappa - double(l.dynamic) / double(l.entries)) > kExactTol)
    record_error(lw, cat("kappa ", precise(l.kappa), " != dynamic/entries = ", precise(double(l.dynamic) / double(l.entries))));
  if (l.flips < 0 || l.flips > l.entries) record_error(lw, cat("flips ", l.flips, " outside [0, entries = ", l.entries, "]"));
  if (l.histogram.empty()) record_error(lw, "empty histogram");
  int64_t counted = l.zero_scores;
  for (int64_t c : l.histogram) {
    if (c < 0) record_error(lw, cat("negative histogram count ", c));
    counted += c;
  }
  if (counted != l.entries) record_error(lw, cat("histogram counts + zero_scores = ", counted, ", expected entries = ", l.entries));
}

void to_json(json& j, const ImpRecord& r) {
  j = {{"iteration", r.iteration}, {"target_kappa", r.target_kappa}, {"achieved_kappa", r.achieved_kappa}, {"threshold", r.threshold},
       {"log10_lo", r.log10_lo},   {"log10_hi", r.log10_hi},         {"layers", r.layers}};
  if (r.step) j["step"] = *r.step;
  if (const auto& s = r.settings) {
    j["iterations"] = s->iterations, j["scorer"] = to_string(s->scorer), j["scope"] = to_string(s->scope);
    j["schedule"] = to_string(s->schedule), j["batches"] = s->batches;
  }
}

void from_json(const json& j, ImpRecord& r) {
  r.iteration = need_integer(j, "iteration", "");
  r.step = opt_integer(j, "step", "");
  r.target_kappa = need_number(j, "target_kappa", "");
  r.achieved_kappa = need_number(j, "achieved_kappa", "");
  r.threshold = need_number(j, "threshold", "");
  r.log10_lo = need_number(j, "log10_lo", ""), r.log10_hi = need_number(j, "log10_hi", "");
  check_fraction(r.target_kappa, "target_kappa", "");
  check_fraction(r.achieved_kappa, "achieved_kappa", "");
  if (!(r.log10_lo < r.log10_hi)) record_error("", cat("histogram range log10_lo ", r.log10_lo, " must be below log10_hi ", r.log10_hi));
  r.settings.reset();
  if (find_field(j, "iterations"))
    r.settings = ImpSettings{need_integer(j, "iterations", ""), need_choice<ImpScorer>(j, "scorer"), need_choice<ImpScope>(j, "scope"),
                             need_choice<ImpSchedule>(j, "schedule"), need_integer(j, "batches", "")};
  const json& layers = need_array(j, "layers", "");
  if (layers.empty()) record_error("", "no layers");
  r.layers.clear();
  int64_t entries = 0, dynamic = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (!layers[i].is_object()) record_error("", cat("layers[", i, "] must be an object"));
    need_string(layers[i], "name", cat("layers[", i, "]"));  // names the index when the name is missing
    ImpLayerReport l = layers[i].get<ImpLayerReport>();
    if (i > 0 && l.histogram.size() != r.layers[0].histogram.size())
      record_error(cat("layer '", l.name, "'"), cat("histogram has ", l.histogram.size(), " bins, the first layer's has ", r.layers[0].histogram.size()));
    entries += l.entries, dynamic += l.dynamic;
    r.layers.push_back(std::move(l));
  }
  if (std::abs(r.achieved_kappa - double(dynamic) / double(entries)) > kExactTol)
    record_error("", cat("achieved_kappa ", precise(r.achieved_kappa), " != sum(dynamic)/sum(entries) = ", dynamic, "/", entries));
}

std::vector<ImpRecord> read_imp_jsonl(const std::string& path, const std::string& op) {
  std::vector<ImpRecord> records;
  for_each_jsonl(path, op, [&](const json& j, const std::string& where) { records.push_back(read_record<ImpRecord>(j, where, op)); });
  check_sequence(records, path, op);
  return records;
}

}  // namespace cherry
