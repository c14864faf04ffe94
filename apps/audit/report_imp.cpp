// Section 6: Iterative Mode Partition, per iteration (imp.jsonl).
#include <cmath>

#include "apps/audit/report_sections.h"
#include "apps/common/choices.h"

namespace cherry::audit {

namespace {

// The ranking scope: recorded with the iterations since imp.jsonl carries the settings, else the run's config.
ImpScope scope_of(const AuditData& d) {
  if (const auto& s = d.imp.back().settings) return s->scope;
  const nlohmann::json& c = d.config;
  const bool named = c.is_object() && c.contains("imp_scope") && c["imp_scope"].is_string();
  return (named ? find_choice<ImpScope>(c["imp_scope"].get<std::string>()) : std::nullopt).value_or(ImpScope::global);
}

std::string histogram_figure(double lo, double hi, const std::vector<int64_t>& counts, double threshold, const std::string& threshold_label,
                             const std::string& title, int width, int height, int64_t zero_scores) {
  ChartOptions o = ChartOptions(title, "score S (log scale)", "entries", width, height).log10_x();
  if (threshold > 0) o.v_lines.push_back({std::log10(threshold), threshold_label});
  return figure(histogram_chart(lo, hi, counts, o), zero_scores > 0 ? count(zero_scores) + " scores are exactly 0 (not on the log axis)." : "");
}

}  // namespace

std::optional<Section> imp_section(const AuditData& d) {
  if (d.from_checkpoint || d.imp.empty()) return std::nullopt;
  const bool global_scope = scope_of(d) != ImpScope::layer;
  std::string h = explain(
      "IMP treats the mask as real-valued and scores entry <code>j</code> by <code>S<sub>j</sub> = |Σ<sub>batches</sub> ∂L/∂M<sub>j</sub>|</code>: "
      "to first order, how much the loss would change if the entry were made static. Starting from <code>M = 1</code>, iteration "
      "<code>t</code> of <code>T</code> keeps the top <code>κ<sub>t</sub></code> fraction of entries dynamic, <code>κ<sub>t</sub> = "
      "κ<sup>t/T</sup></code> (exponential) or <code>1 − (1 − κ)·t/T</code> (linear), ranked over all layers (global) or per layer. No "
      "weight changes between iterations, but the scores are taken with the current mask, so an entry made static can come back: each "
      "change of mode is a <em>flip</em>. The histograms show <code>log<sub>10</sub> S</code>; entries at or right of the dashed threshold "
      "(the smallest score kept dynamic) stay dynamic (docs/PADNET.md §4).");
  if (const auto step = d.imp.front().step)
    h += "<p>This run partitioned the mask " +
         (*step == 0 ? std::string("before training, on the freshly initialised network.")
                     : "after " + count(*step) + " training steps; until then the network was fully dynamic (κ = 1).") +
         "</p>\n";
  Series target{"target κ_t", {}, {}, true}, achieved{"achieved κ", {}, {}, true, true};
  std::vector<std::string> iters;
  BarSeries flips{"flips", {}};
  std::vector<std::vector<std::string>> rows;
  std::string warnings;
  for (const ImpRecord& r : d.imp) {
    target.x.push_back(double(r.iteration)), target.y.push_back(r.target_kappa);
    achieved.x.push_back(double(r.iteration)), achieved.y.push_back(r.achieved_kappa);
    iters.push_back("t = " + std::to_string(r.iteration));
    flips.values.push_back(double(r.total_flips()));
    int64_t entries = 0, dynamic = 0;
    for (const ImpLayerReport& l : r.layers) entries += l.entries, dynamic += l.dynamic;
    const double miss = double(dynamic) - r.target_kappa * double(entries);
    rows.push_back({count(r.iteration), fixed(r.target_kappa, 4), fixed(r.achieved_kappa, 4), count(dynamic) + " / " + count(entries),
                    fixed(miss, 1), count(r.total_flips()), fixed(r.threshold, 9), count(r.total_zero_scores())});
    // docs/PADNET.md §4: missing the target by more than one entry per layer is a bug.
    if (std::abs(miss) > double(r.layers.size()) + 0.5)
      warnings += warning("Iteration " + count(r.iteration) + " misses its target by " + fixed(miss, 1) + " entries, more than one per layer (" +
                          count(int64_t(r.layers.size())) + "): the partition code has a bug.");
  }
  std::vector<std::string> figs;
  figs.push_back(figure(line_chart({target, achieved}, ChartOptions("Dynamic ratio per IMP iteration", "iteration t", "κ", 560).y_range(0.0, 1.0))));
  figs.push_back(figure(bar_chart(iters, {flips}, ChartOptions("Mask flips per iteration", "iteration", "entries that changed mode", 560).counts()),
                        "Iteration 1 starts from M = 1, so it flips at least (1 − κ<sub>1</sub>)·N entries."));
  std::vector<Series> per_layer;
  for (size_t l = 0; l < d.imp.back().layers.size(); ++l) {
    Series s{d.imp.back().layers[l].name, {}, {}, true};
    for (const ImpRecord& r : d.imp)
      if (l < r.layers.size()) s.x.push_back(double(r.iteration)), s.y.push_back(r.layers[l].kappa);
    per_layer.push_back(std::move(s));
  }
  figs.push_back(figure(line_chart(per_layer, ChartOptions("κ per layer over IMP iterations", "iteration t", "κ_l", 760).y_range(0.0, 1.0))));
  h += warnings + figure_grid(figs);
  h += "<details><summary>Per-iteration values</summary>\n" +
       table({"t", "target κ<sub>t</sub>", "achieved κ", "dynamic / entries", "dynamic − target·N", "flips", "threshold", "zero scores"}, rows) +
       "</details>\n";

  h += "<h3>Score distribution, all layers, per iteration</h3>\n";
  std::vector<std::string> hists;
  for (const ImpRecord& r : d.imp)
    hists.push_back(histogram_figure(r.log10_lo, r.log10_hi, r.total_histogram(), global_scope ? r.threshold : 0, "threshold",
                                     "iteration " + std::to_string(r.iteration) + ": κ_t = " + fixed(r.target_kappa, 3), 380, 230,
                                     r.total_zero_scores()));
  h += figure_grid(hists);
  if (!global_scope) h += "<p>Per-layer ranking: each layer has its own threshold, marked in the per-layer histograms below.</p>\n";

  const ImpRecord& last = d.imp.back();
  h += "<h3>Score distribution per layer, last iteration (t = " + count(last.iteration) + ")</h3>\n";
  std::vector<std::string> small;
  for (const ImpLayerReport& l : last.layers)
    small.push_back(histogram_figure(last.log10_lo, last.log10_hi, l.histogram, l.threshold, "threshold", l.name + ": κ = " + fixed(l.kappa, 3),
                                     290, 190, l.zero_scores));
  h += "<p>All panels share the x range, so layers can be compared: a layer whose scores sit left of the others loses most of its "
       "dynamic entries under a global ranking.</p>\n" +
       figure_grid(small);
  return Section{"imp", "Iterative Mode Partition (IMP)", h};
}

}  // namespace cherry::audit
