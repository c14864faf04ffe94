#include "apps/audit/report_html.h"

#include <cmath>
#include <cstdio>

namespace cherry::audit {

std::string fixed(double v, int decimals) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string fixed(std::optional<double> v, int decimals) { return v ? fixed(*v, decimals) : "-"; }

std::string count(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return (n < 0 ? "-" : "") + out;
}

std::string percent(double fraction, int decimals) { return fixed(100 * fraction, decimals) + "%"; }

std::string json_value_text(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_float()) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.6g", v.get<double>());
    return buf;
  }
  return v.dump();
}

std::string table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows) {
  std::string h = "<table>\n<thead><tr>";
  for (const std::string& c : header) h += "<th>" + c + "</th>";
  h += "</tr></thead>\n<tbody>\n";
  for (const auto& row : rows) {
    h += "<tr>";
    for (const std::string& c : row) h += "<td>" + c + "</td>";
    h += "</tr>\n";
  }
  return h + "</tbody>\n</table>\n";
}

std::string explain(const std::string& html) { return "<div class=\"explain\">" + html + "</div>\n"; }
std::string warning(const std::string& html) { return "<div class=\"warn\">" + html + "</div>\n"; }

std::string figure(const std::string& svg, const std::string& caption_html) {
  return "<figure>\n" + svg + (caption_html.empty() ? "" : "<figcaption>" + caption_html + "</figcaption>\n") + "</figure>\n";
}

std::string figure_grid(const std::vector<std::string>& figures) {
  std::string h = "<div class=\"grid\">\n";
  for (const std::string& f : figures) h += f;
  return h + "</div>\n";
}

}  // namespace cherry::audit
