// Section 7: mixture-of-experts routers (dynamic.jsonl layers with router keys).
#include <numeric>

#include "apps/audit/report_sections.h"

namespace cherry::audit {

std::optional<Section> router_section(const AuditData& d) {
  if (d.from_checkpoint || !d.has_router()) return std::nullopt;
  const DynamicSnapshot* f = d.final_dynamic();
  std::string h = explain(
      "Each token is sent to the top-k of E experts by a noisy router; the gates <code>G<sub>i</sub>(x)</code> are a softmax over the k "
      "chosen logits, so they sum to 1, and <code>y = Σ<sub>i</sub> G<sub>i</sub>(x) (x W<sub>i</sub><sup>T</sup> + b<sub>i</sub>)</code>. "
      "Tokens per expert counts routing decisions (it sums to tokens × k); an expert with none is <em>dead</em>: its parameters stop "
      "learning. The router entropy (normalised by log E) is 1 for uniform routing; the load-balancing term <code>CV²(importance) + "
      "CV²(load)</code> (plotted; the loss adds it times <code>--balance-coef</code>, 0.01 by default) pushes towards even use "
      "(docs/PADNET.md §3).");
  std::vector<std::string> small;
  std::vector<std::string> names;
  BarSeries dead{"dead experts", {}};
  for (const LayerStats& l : f->layers) {
    const RouterStats& r = l.router;
    if (r.tokens_per_expert.empty() && !r.dead_experts) continue;
    names.push_back(l.name);
    dead.values.push_back(r.dead_experts ? double(*r.dead_experts) : NAN);
    if (r.tokens_per_expert.empty()) continue;
    std::vector<std::string> experts;
    for (size_t e = 0; e < r.tokens_per_expert.size(); ++e) experts.push_back(std::to_string(e));
    const std::vector<double> tokens(r.tokens_per_expert.begin(), r.tokens_per_expert.end());
    const double total = std::accumulate(tokens.begin(), tokens.end(), 0.0);
    ChartOptions o = ChartOptions(l.name, "expert", "tokens", 300, 200).y_range(0.0, {}).counts();
    o.h_lines.push_back({total / double(tokens.size()), "uniform"});
    small.push_back(figure(bar_chart(experts, {BarSeries{"tokens", tokens}}, o)));
  }
  if (!small.empty()) h += "<h3>Tokens per expert (final record)</h3>\n" + figure_grid(small);
  std::vector<std::string> figs;
  if (!names.empty())
    figs.push_back(figure(bar_chart(names, {dead}, ChartOptions("Dead experts per layer (final)", "layer", "experts with no tokens", 980).y_range(0.0, {}).counts())));
  auto ent = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.router.entropy; });
  if (!ent.empty())
    figs.push_back(figure(line_chart(ent, ChartOptions("Router entropy / log E", "step", "normalised entropy", 560).y_range({}, 1.0))));
  Series total{"balance loss", {}, {}};
  for (const DynamicRecord& r : d.dynamic)
    if (r.balance_loss) total.x.push_back(double(r.step)), total.y.push_back(*r.balance_loss);
  if (!total.x.empty())
    figs.push_back(figure(line_chart({total}, ChartOptions("Load-balancing loss (sum over layers)", "step", "loss", 560).y_range(0.0, {}))));
  std::vector<Series> balance = per_layer_over_steps(d.dynamic, [](const LayerStats& l) { return l.router.balance_loss; });
  if (!balance.empty())
    figs.push_back(figure(line_chart(balance, ChartOptions("Load-balancing loss per layer", "step", "loss", 560).y_range(0.0, {}))));
  auto dead_over = per_layer_over_steps(d.dynamic, [](const LayerStats& l) {
    return l.router.dead_experts ? std::optional<double>(double(*l.router.dead_experts)) : std::nullopt;
  });
  if (!dead_over.empty())
    figs.push_back(figure(line_chart(dead_over, ChartOptions("Dead experts over training", "step", "dead experts", 560).y_range(0.0, {}).counts())));
  return Section{"router", "Routers (mixture of experts)", h + figure_grid(figs)};
}

}  // namespace cherry::audit
