// Sections 1 and 2: what was trained (parameters, FLOPs, accuracy) and how training went.
#include <algorithm>
#include <cmath>

#include "apps/audit/report_sections.h"

namespace cherry::audit {

namespace {

using json = nlohmann::json;

// The configuration keys that describe the dynamic layers, present or not depending on the app.
const char* kDynamicKeys[] = {"conv",       "kernels",  "kappa",      "imp_iters",   "imp_schedule", "imp_scope",
                              "imp_scorer", "imp_batches", "imp_after", "no_scale",   "attn_reduction", "temp_start",
                              "temp_end",   "temp_epochs", "experts",   "top_k",      "router",      "dyconv_impl"};
const char* kTrainingKeys[] = {"optimizer", "lr", "schedule", "weight_decay", "batch_size", "epochs", "max_steps", "seed", "synthetic"};

std::string config_items(const json& config, const char* const* keys, size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i)
    if (config.is_object() && config.contains(keys[i]))
      s += (s.empty() ? "" : ", ") + std::string("<code>") + esc(keys[i]) + " = " + esc(json_value_text(config[keys[i]])) + "</code>";
  return s.empty() ? "-" : s;
}

std::string parameters_table(const std::optional<ModelSummary>& summary) {
  if (!summary) return "";
  const ModelSummary& m = *summary;
  std::vector<std::vector<std::string>> rows;
  auto row = [&](std::optional<int64_t> v, const std::string& label, const std::string& note) {
    if (v) rows.push_back({label, count(*v), note});
  };
  row(m.trainable, "trainable", "every learnable tensor while training: K kernels, W<sub>s</sub>, φ, attention, BN, stem, head");
  row(m.stored, "stored (deployed)", "static + dynamic: what the folded model keeps (docs/PADNET.md §5)");
  row(m.static_, "static", "(1−κ)·N per PAD layer plus every tensor outside the PAD layers (attention, BN, stem, classifier)");
  row(m.dynamic, "dynamic", "K·κ·N per PAD layer");
  if (m.kappa) rows.push_back({"global κ", fixed(*m.kappa, 4), "Σ M / numel(M) over all PAD layers' mask entries"});
  if (m.dynamic_layers) rows.push_back({"dynamic layers", count(*m.dynamic_layers), ""});
  if (m.flops_per_image) rows.push_back({"FLOPs per image", fixed(double(*m.flops_per_image) / 1e6, 2) + " M", "one forward pass"});
  if (m.trainable && m.stored && *m.trainable > 0) rows.push_back({"stored / trainable", percent(double(*m.stored) / double(*m.trainable), 1), ""});
  return rows.empty() ? "" : table({"parameters", "count", "what it counts"}, rows);
}

std::string evaluation_table(const AuditData& d) {
  std::vector<std::vector<std::string>> rows;
  const json eval = d.eval_results ? json(*d.eval_results) : json();  // its keys, as eval_results.json has them
  if (eval.is_object())
    for (const auto& [key, v] : eval.items()) {
      std::string text = esc(json_value_text(v));
      const bool fraction = v.is_number() && (key.find("accuracy") != std::string::npos || key == "f1");
      if (fraction) text += " (" + percent(v.get<double>()) + ")";
      rows.push_back({esc(key), text});
    }
  std::optional<double> best;
  for (const EpochRow& e : d.epochs)
    if (e.eval_accuracy) best = std::max(best.value_or(-1), *e.eval_accuracy);
  if (best) rows.push_back({"best eval accuracy in summary.csv", percent(*best)});
  return rows.empty() ? "" : table({"evaluation (eval_results.json)", "value"}, rows);
}

std::string checks_list(const AuditData& d) {
  size_t layer_rows = 0;
  for (const DynamicRecord& r : d.dynamic) layer_rows += r.layers.size();
  std::string h = "<details><summary>What was checked while reading</summary><ul>\n";
  h += "<li>" + count(int64_t(d.metrics.size())) + " metrics records and " + count(int64_t(d.epochs.size())) + " epoch rows parsed.</li>\n";
  if (!d.dynamic.empty())
    h += "<li>" + count(int64_t(d.dynamic.size())) + " dynamic.jsonl records (" + count(int64_t(layer_rows)) +
         " layer rows): mean attention sums to 1 (within 1e-6), λ<sub>d</sub> + λ<sub>s</sub> = 2, dynamic ≤ entries, "
         "κ<sub>l</sub> = dynamic/entries and global κ = Σ dynamic / Σ entries; router token counts, where present, match "
         "dead_experts and tokens × top_k.</li>\n";
  if (!d.imp.empty())
    h += "<li>" + count(int64_t(d.imp.size())) + " IMP iterations: achieved κ = Σ dynamic / Σ entries, histogram counts + zero "
         "scores = entries in every layer, and the flips of each layer can produce its change in the dynamic count.</li>\n";
  return h + "</ul></details>\n";
}

}  // namespace

std::optional<Section> summary_section(const AuditData& d) {
  std::string h = explain(
      "A PAD layer keeps, after training, <code>K·κ·N</code> dynamic values (the K kernels or experts, only at the positions where "
      "the mask <code>M = 1</code>) plus <code>(1−κ)·N</code> static values (<code>W<sub>s</sub></code> where <code>M = 0</code>); a "
      "fully dynamic layer keeps <code>K·N</code>. So <em>stored</em> parameters fall with κ while <em>trainable</em> ones do not: "
      "training still updates every W<sub>k</sub> and W<sub>s</sub>. κ is counted globally over all PAD layers' mask entries; "
      "attention or router weights, normalisation, stem and classifier are not part of it (docs/PADNET.md §1).");
  std::vector<std::vector<std::string>> run;
  const json& c = d.config;
  std::string model = c.is_object() && c.contains("model") ? esc(json_value_text(c["model"])) : "-";
  for (const char* key : {"dataset", "task"})
    if (c.is_object() && c.contains(key)) model += " on " + esc(json_value_text(c[key]));
  run.push_back({"model", model});
  run.push_back({"dynamic layers", config_items(c, kDynamicKeys, std::size(kDynamicKeys))});
  run.push_back({"training", config_items(c, kTrainingKeys, std::size(kTrainingKeys))});
  if (!d.metrics.empty())
    run.push_back({"logged steps", count(int64_t(d.metrics.size())) + " records, last step " + count(d.metrics.back().step) + ", epoch " +
                                       count(d.metrics.back().epoch)});
  h += table({"run", ""}, run);
  h += parameters_table(d.model);
  h += evaluation_table(d);
  if (d.deploy.is_object()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, v] : d.deploy.items()) rows.push_back({esc(key), esc(json_value_text(v))});
    h += "<h3>Deployment form (deploy.json)</h3>\n" +
         explain("The folded model stores <code>S<sub>l</sub> = λ<sub>s</sub>(1−M) ⊙ W<sub>s</sub></code> densely and "
                 "<code>λ<sub>d</sub> M ⊙ W<sub>k</sub></code> only at the dynamic positions; <code>max_abs_output_diff</code> compares "
                 "its outputs with the training-time form on real inputs and should be at rounding level (docs/PADNET.md §5).") +
         table({"key", "value"}, rows);
  }
  if (c.is_object()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& [key, v] : c.items()) rows.push_back({esc(key), esc(json_value_text(v))});
    h += "<details><summary>Full configuration (config.json)</summary>\n" + table({"key", "value"}, rows) + "</details>\n";
  }
  h += checks_list(d);
  return Section{"summary", "Summary", h};
}

std::optional<Section> training_section(const AuditData& d) {
  if (d.metrics.empty() && d.epochs.empty()) return std::nullopt;
  std::vector<std::string> figs;
  Series loss{"loss (batch)", {}, {}}, avg{"running mean", {}, {}}, lr{"lr", {}, {}};
  for (const MetricPoint& m : d.metrics) {
    if (m.loss) loss.x.push_back(double(m.step)), loss.y.push_back(*m.loss);
    if (m.loss_avg) avg.x.push_back(double(m.step)), avg.y.push_back(*m.loss_avg);
    if (m.lr) lr.x.push_back(double(m.step)), lr.y.push_back(*m.lr);
  }
  std::vector<Series> losses;
  for (Series* s : {&loss, &avg})
    if (!s->x.empty()) losses.push_back(*s);
  if (!losses.empty()) figs.push_back(figure(line_chart(losses, ChartOptions("Training loss", "step", "loss", 560))));
  Series eval_acc{"eval accuracy", {}, {}}, train_acc{"train accuracy", {}, {}};
  for (const EpochRow& e : d.epochs) {
    if (e.eval_accuracy) eval_acc.x.push_back(double(e.epoch)), eval_acc.y.push_back(*e.eval_accuracy);
    if (e.train_accuracy) train_acc.x.push_back(double(e.epoch)), train_acc.y.push_back(*e.train_accuracy);
  }
  std::vector<Series> accs;
  for (Series* s : {&eval_acc, &train_acc})
    if (!s->x.empty()) s->markers = true, accs.push_back(*s);
  if (!accs.empty())
    figs.push_back(figure(line_chart(accs, ChartOptions("Accuracy per epoch", "epoch", "accuracy", 560).y_range(0.0, {})),
                          d.epochs.size() == 1 ? "One epoch so far: one point per curve." : ""));
  if (!lr.x.empty()) figs.push_back(figure(line_chart({lr}, ChartOptions("Learning rate", "step", "lr", 560))));
  // The temperature is set for all layers at once; one curve unless the layers disagree.
  std::vector<Series> taus = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.temperature; });
  bool shared = !taus.empty();
  for (const Series& s : taus) shared = shared && s.y == taus[0].y && s.x == taus[0].x;
  if (shared) taus.resize(1), taus[0].name = "τ (all layers)";
  if (!taus.empty())
    figs.push_back(figure(line_chart(taus, ChartOptions("Attention temperature τ", "step", "τ", 560).y_range(0.0, {}))));
  std::string h = explain(
      "The loss is the cross-entropy of each logged training batch (noisy) and its running mean. The learning-rate schedule is "
      "evaluated per step. The temperature τ divides the attention logits, <code>π = softmax(z / τ)</code>; it falls linearly per "
      "iteration from 30 to 1 over the first 10 epochs (docs/PADNET.md §2), so early on all K kernels get nearly equal weight (the "
      "layer behaves like a static conv with the mean kernel) and only later can the attention become selective.");
  return Section{"training", "Training curves", h + figure_grid(figs)};
}

}  // namespace cherry::audit
