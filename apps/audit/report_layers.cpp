// Sections 3-5: mask density, scale factors and kernel attention, per dynamic layer.
#include <algorithm>
#include <cmath>

#include "apps/audit/report_sections.h"
#include "apps/common/choices.h"

namespace cherry::audit {

namespace {

// One dynamic layer's final values, from whichever input has them.
struct LayerRow {
  std::string name;
  std::optional<int64_t> kernels, entries, dynamic;
  std::optional<double> kappa, lambda_d, lambda_s, temperature;
};

std::vector<LayerRow> final_layers(const AuditData& d) {
  std::vector<LayerRow> rows;
  if (d.from_checkpoint) {
    for (const CheckpointLayer& l : d.checkpoint_layers)
      rows.push_back({l.name, l.kernels ? std::optional<int64_t>(l.kernels) : std::nullopt, l.entries, l.dynamic, l.kappa, l.lambda_d,
                      2 - l.lambda_d, l.temperature});
  } else if (const DynamicSnapshot* f = d.final_dynamic()) {
    for (const LayerStats& l : f->layers) rows.push_back({l.name, l.kernels, l.entries, l.dynamic, l.kappa, l.lambda_d, l.lambda_s, l.temperature});
  } else if (!d.imp.empty()) {  // a run stopped before its first logged step still has its mask
    for (const ImpLayerReport& l : d.imp.back().layers) rows.push_back({l.name, std::nullopt, l.entries, l.dynamic, l.kappa, {}, {}, {}});
  }
  return rows;
}

std::optional<double> global_kappa(const AuditData& d, const std::vector<LayerRow>& rows) {
  if (!d.from_checkpoint)
    if (const DynamicSnapshot* f = d.final_dynamic(); f && f->kappa) return f->kappa;
  int64_t entries = 0, dynamic = 0;
  for (const LayerRow& r : rows) {
    if (!r.entries || !r.dynamic) return std::nullopt;
    entries += *r.entries, dynamic += *r.dynamic;
  }
  return entries ? std::optional<double>(double(dynamic) / double(entries)) : std::nullopt;
}

// The requested kappa, for PAD runs (a fully dynamic run's config also has a kappa flag, unused).
std::optional<double> target_kappa(const AuditData& d) {
  const auto& c = d.config;
  if (!c.is_object() || !c.contains("kappa") || !c["kappa"].is_number()) return std::nullopt;
  if (c.contains("conv") && c["conv"] != to_string(ConvKind::pad)) return std::nullopt;
  return c["kappa"].get<double>();
}

std::vector<std::string> names_of(const std::vector<LayerRow>& rows) {
  std::vector<std::string> n;
  for (const LayerRow& r : rows) n.push_back(r.name);
  return n;
}

std::string opt_count(std::optional<int64_t> v) { return v ? count(*v) : "-"; }

}  // namespace

std::optional<Section> mask_density_section(const AuditData& d) {
  const std::vector<LayerRow> rows = final_layers(d);
  if (rows.empty()) return std::nullopt;
  BarSeries kappas{"κ", {}};
  for (const LayerRow& r : rows) kappas.values.push_back(r.kappa.value_or(NAN));
  ChartOptions o = ChartOptions("Mask density κ per layer (final)", "layer (network order)", "κ = Σ M / numel(M)", 980, 320).y_range(0.0, 1.0);
  const std::optional<double> global = global_kappa(d, rows), target = target_kappa(d);
  if (global) o.h_lines.push_back({*global, "global κ = " + fixed(*global, 4) + (target ? " (target " + fixed(*target, 4) + ")" : "")});
  std::string h = explain(
      "<code>M</code> is a binary mask with the shape of one kernel, shared by all K kernels: entry <code>j</code> is dynamic "
      "(<code>M<sub>j</sub> = 1</code>, its value <code>λ<sub>d</sub>·Σ<sub>k</sub> π<sub>k</sub>(x) W<sub>k,j</sub></code> changes with the "
      "input) or static (<code>M<sub>j</sub> = 0</code>, value <code>λ<sub>s</sub>·W<sub>s,j</sub></code>). A layer's κ is the fraction of "
      "its entries left dynamic. IMP ranks entries over all layers at once by default, so only the global κ is fixed by the target; how "
      "it spreads over the layers is what the method finds: a layer near κ = 0 is in effect static, one near 1 fully dynamic.");
  h += figure(bar_chart(names_of(rows), {kappas}, o));
  std::vector<std::vector<std::string>> t;
  for (const LayerRow& r : rows)
    t.push_back({esc(r.name), r.kernels ? count(*r.kernels) : "-", opt_count(r.entries), opt_count(r.dynamic), fixed(r.kappa, 4),
                 fixed(r.lambda_d, 4), fixed(r.lambda_s, 4), fixed(r.temperature, 3)});
  h += "<details><summary>Per-layer values</summary>\n" +
       table({"layer", "K", "entries N", "dynamic Σ M", "κ", "λ<sub>d</sub>", "λ<sub>s</sub>", "τ"}, t) + "</details>\n";
  return Section{"mask", "Mask density per layer", h};
}

std::optional<Section> scale_factor_section(const AuditData& d) {
  const std::vector<LayerRow> rows = final_layers(d);
  if (std::none_of(rows.begin(), rows.end(), [](const LayerRow& r) { return r.lambda_d.has_value(); })) return std::nullopt;
  std::string h = explain(
      "<code>Θ(x) = λ<sub>d</sub> (M ⊙ W<sub>d</sub>(x)) + λ<sub>s</sub> ((1 − M) ⊙ W<sub>s</sub>)</code> with "
      "<code>λ<sub>d</sub> = 2 σ(φ)</code> and <code>λ<sub>s</sub> = 2 − λ<sub>d</sub></code>: one learnable scalar φ per layer, starting "
      "at 0, so both factors start at 1 and always sum to 2 (checked while reading). λ<sub>d</sub> above 1 means the layer learned to "
      "weight its dynamic part more than its static part. Fully dynamic layers and runs without scale factors (<code>--no-scale</code>) "
      "have no φ: both stay at 1.");
  const bool all_one = std::all_of(rows.begin(), rows.end(), [](const LayerRow& r) { return !r.lambda_d || *r.lambda_d == 1.0; });
  if (all_one && std::all_of(d.dynamic.begin(), d.dynamic.end(), [](const DynamicRecord& r) {
        return std::all_of(r.layers.begin(), r.layers.end(), [](const LayerStats& l) { return !l.lambda_d || *l.lambda_d == 1.0; });
      }))
    return Section{"scale", "Scale factors λ<sub>d</sub>, λ<sub>s</sub>",
                   h + "<p>Every λ<sub>d</sub> and λ<sub>s</sub> is exactly 1 throughout: these layers have no φ (fully dynamic "
                       "layers, or PAD with <code>--no-scale</code>), so there is nothing to plot.</p>\n"};
  std::vector<std::string> figs;
  if (!d.from_checkpoint) {
    auto ld = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.lambda_d; });
    auto ls = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.lambda_s; });
    if (!ld.empty()) figs.push_back(figure(line_chart(ld, ChartOptions("λ_d = 2 σ(φ) per layer", "step", "λ_d", 560))));
    if (!ls.empty()) figs.push_back(figure(line_chart(ls, ChartOptions("λ_s = 2 − λ_d per layer", "step", "λ_s", 560))));
  }
  BarSeries bd{"λ_d", {}}, bs{"λ_s", {}};
  for (const LayerRow& r : rows) bd.values.push_back(r.lambda_d.value_or(NAN)), bs.values.push_back(r.lambda_s.value_or(NAN));
  // Bars start at 1, the value at φ = 0: λ_s mirrors λ_d around it.
  figs.push_back(figure(bar_chart(names_of(rows), {bd, bs},
                                  ChartOptions("Final scale factors per layer (bars from 1, the start)", "layer (network order)", "λ", 980, 320)
                                      .bars_from(1.0)),
                        "λ<sub>d</sub> above 1 (and λ<sub>s</sub> below, by the same amount): the layer favours its dynamic part."));
  if (d.from_checkpoint && std::none_of(d.checkpoint_layers.begin(), d.checkpoint_layers.end(), [](const CheckpointLayer& l) { return l.has_phi; }))
    h += warning("No <code>&lt;layer&gt;.phi</code> tensor in this checkpoint: scale factors are off (or the layers are fully dynamic), "
                 "so λ<sub>d</sub> = λ<sub>s</sub> = 1.");
  return Section{"scale", "Scale factors λ<sub>d</sub>, λ<sub>s</sub>", h + figure_grid(figs)};
}

std::optional<Section> attention_section(const AuditData& d) {
  if (d.from_checkpoint || !d.has_attention()) return std::nullopt;
  std::vector<std::string> figs;
  auto ent = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.attention.entropy; });
  auto col = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.attention.collapsed; });
  if (!ent.empty())
    figs.push_back(figure(line_chart(ent, ChartOptions("Attention entropy H(π) / log K", "step", "normalised entropy", 560).y_range({}, 1.0))));
  if (!col.empty())
    figs.push_back(figure(line_chart(col, ChartOptions("Collapsed samples (max π > 0.99)", "step", "fraction of batch", 560).y_range(0.0, 1.0))));
  const DynamicSnapshot* f = d.final_dynamic();
  size_t k_max = 0;
  std::vector<std::string> names;
  for (const LayerStats& l : f->layers)
    if (!l.attention.mean.empty()) k_max = std::max(k_max, l.attention.mean.size()), names.push_back(l.name);
  if (k_max > 0) {
    std::vector<BarSeries> kernels(k_max);
    for (size_t k = 0; k < k_max; ++k) kernels[k].name = "kernel " + std::to_string(k + 1);
    for (const LayerStats& l : f->layers)
      if (!l.attention.mean.empty())
        for (size_t k = 0; k < k_max; ++k) kernels[k].values.push_back(k < l.attention.mean.size() ? l.attention.mean[k] : 0.0);
    figs.push_back(figure(bar_chart(names, kernels, ChartOptions("Mean attention per kernel (final, stacked)", "layer (network order)", "mean π_k over the batch", 980, 320)
                                        .y_range(0.0, 1.0),
                                    true),
                          "Each bar sums to 1. Equal slices (1/K each) mean the kernels are used evenly on average; one dominant "
                          "slice means the layer mostly uses one kernel."));
  }
  std::string h = explain(
      "For sample <code>b</code> the attention <code>π<sub>b</sub> = softmax(z<sub>b</sub> / τ)</code> mixes the kernels: "
      "<code>W<sub>d</sub>(x<sub>b</sub>) = Σ<sub>k</sub> π<sub>bk</sub> W<sub>k</sub></code>. The normalised entropy "
      "<code>H(π<sub>b</sub>) / log K</code>, averaged over the batch, is 1 when the mixture is uniform (the layer acts like a static "
      "conv with the mean kernel) and 0 when it is one-hot; a sample is counted as collapsed when its largest weight exceeds 0.99. "
      "Each point describes one training batch (the batch of that logged step), so the curves are noisy; a high temperature τ keeps "
      "the mixture near uniform by construction.");
  return Section{"attention", "Kernel attention", h + figure_grid(figs)};
}

}  // namespace cherry::audit
