// Small HTML building blocks shared by the report sections. Cells and captions are HTML: callers
// pass every string that comes from an input file through esc() first.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apps/audit/audit_data.h"
#include "apps/audit/svg_plot.h"

namespace cherry::audit {

inline std::string esc(const std::string& s) { return html_escape(s); }

std::string fixed(double v, int decimals);
std::string fixed(std::optional<double> v, int decimals);  // "-" when absent
std::string count(int64_t n);                              // 1,234,567
std::string percent(double fraction, int decimals = 2);    // 0.1234 -> 12.34%
std::string json_value_text(const nlohmann::json& v);      // scalars as text, others compact JSON

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);
std::string explain(const std::string& html);  // the teaching paragraph of a section
std::string warning(const std::string& html);
std::string figure(const std::string& svg, const std::string& caption_html = "");
std::string figure_grid(const std::vector<std::string>& figures);  // side by side, wrapping

struct Section {
  std::string id, title, html;
};

// One series per layer (in first-seen order) of a per-layer value over logged steps.
template <class Get> std::vector<Series> per_layer_over_steps(const std::vector<DynamicRecord>& records, Get get) {
  std::vector<Series> out;
  for (const DynamicRecord& r : records)
    for (const LayerStats& l : r.layers) {
      const std::optional<double> v = get(l);
      if (!v) continue;
      size_t s = 0;
      while (s < out.size() && out[s].name != l.name) ++s;
      if (s == out.size()) out.push_back(Series{l.name, {}, {}});
      out[s].x.push_back(double(r.step)), out[s].y.push_back(*v);
    }
  return out;
}

}  // namespace cherry::audit
