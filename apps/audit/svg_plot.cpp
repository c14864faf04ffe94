#include "apps/audit/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "core/error.h"

namespace cherry::audit {

std::string html_escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::vector<size_t> downsample_indices(size_t n, size_t max_points) {
  max_points = std::max<size_t>(max_points, 2);
  std::vector<size_t> idx;
  if (n <= max_points) {
    for (size_t i = 0; i < n; ++i) idx.push_back(i);
    return idx;
  }
  for (size_t k = 0; k < max_points; ++k) {
    const size_t i = size_t(std::llround(double(k) * double(n - 1) / double(max_points - 1)));
    if (idx.empty() || i != idx.back()) idx.push_back(i);
  }
  return idx;
}

std::vector<double> nice_ticks(double lo, double hi, int target_count) {
  if (!(hi > lo)) return {lo};
  // Heckbert's nice numbers: the step nearest the raw one among 1, 2, 5 times a power of ten.
  const double raw = (hi - lo) / std::max(1, target_count);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double r = raw / mag;
  const double step = (r < 1.5 ? 1.0 : r < 3 ? 2.0 : r < 7 ? 5.0 : 10.0) * mag;
  std::vector<double> ticks;
  const double first = std::floor(lo / step + 1e-9), last = std::ceil(hi / step - 1e-9);
  for (double k = first; k <= last + 0.5; k += 1) ticks.push_back(std::abs(k) < 1e-12 ? 0.0 : k * step);
  return ticks;
}

std::string format_tick(double v, double step) {
  char buf[40];
  if (v == 0) return "0";
  step = std::abs(step) > 0 ? std::abs(step) : std::abs(v);
  if (std::abs(v) >= 1e6 || std::abs(v) < 1e-3) {  // exponent form, with the digits that tell ticks apart
    const int digits = std::clamp(int(std::floor(std::log10(std::abs(v))) - std::floor(std::log10(step) + 1e-9)) + 1, 1, 10);
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
  }
  const int decimals = std::clamp(int(-std::floor(std::log10(step) + 1e-9)), 0, 12);
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  std::string s = buf;
  return s == "-0" ? "0" : s;
}

std::string series_colour(size_t i, size_t n) {
  static const char* kCategorical[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                       "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
  if (n <= 10) return kCategorical[i % 10];
  // A viridis-like ramp, stopping short of the yellow end (too pale on white).
  static const double kRamp[][3] = {{68, 1, 84}, {65, 68, 135}, {42, 120, 142}, {34, 168, 132}, {122, 209, 81}};
  const double t = double(i) / double(n - 1) * 4.0;
  const int a = std::min(3, int(t));
  const double f = t - a;
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x", int(kRamp[a][0] + f * (kRamp[a + 1][0] - kRamp[a][0])),
                int(kRamp[a][1] + f * (kRamp[a + 1][1] - kRamp[a][1])), int(kRamp[a][2] + f * (kRamp[a + 1][2] - kRamp[a][2])));
  return buf;
}

namespace {

std::string num(double v) {  // SVG coordinates: 0.1 px is plenty and keeps the file small
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

std::string value_text(double v) {  // tooltips
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// log10 tick labels: 1e-5 at whole decades, 3.2e-5 between them.
std::string log10_label(double v) {
  const double e = std::floor(v + 1e-9);
  const double m = std::pow(10.0, v - e);
  char buf[32];
  if (std::abs(m - 1) < 1e-6) std::snprintf(buf, sizeof buf, "1e%d", int(e));
  else std::snprintf(buf, sizeof buf, "%.1fe%d", m, int(e));
  return buf;
}

// Keeps the end of a long name: layer names differ at the end ("...layer.5.output.dense").
std::string shorten(const std::string& s, size_t max_chars) { return s.size() <= max_chars ? s : "~" + s.substr(s.size() - (max_chars - 1)); }

constexpr double kCharWidth = 6.0;  // average glyph width of 10-11 px sans-serif, for layout
constexpr double kLegendRow = 14.0;
// Reference-line labels get a white outline so they stay readable over bars and lines.
constexpr const char* kRefLabel = " fill=\"#c00\" stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\"";

// The plotting area and its data ranges; owns the SVG text being built.
struct Canvas {
  double width = 0, height = 0, left = 62, right = 16, top = 34, bottom = 46;
  double x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  std::string body;

  double plot_w() const { return width - left - right; }
  double plot_h() const { return height - top - bottom; }
  double px(double x) const { return left + (x - x0) / (x1 - x0) * plot_w(); }
  double py(double y) const { return top + (1 - (y - y0) / (y1 - y0)) * plot_h(); }

  void text(double x, double y, const std::string& s, const char* anchor = "middle", const std::string& extra = "") {
    body += "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\" text-anchor=\"" + anchor + "\"" + extra + ">" + html_escape(s) + "</text>\n";
  }
};

// Legend entries on the right; widens the right margin and, when needed, the height.
struct Legend {
  std::vector<std::pair<std::string, std::string>> entries;  // name, colour
  std::vector<bool> dashed;
  double width() const {
    if (entries.size() < 2) return 0;
    size_t longest = 0;
    for (const auto& e : entries) longest = std::max(longest, std::min<size_t>(e.first.size(), 28));
    return 30 + kCharWidth * double(longest);
  }
};

Canvas make_canvas(const ChartOptions& o, const Legend& legend, double extra_bottom = 0) {
  Canvas c;
  c.width = o.width;
  c.right += legend.width();
  c.bottom += extra_bottom;
  const double legend_h = legend.entries.size() >= 2 ? double(legend.entries.size()) * kLegendRow + 10 : 0;
  c.height = std::max<double>(o.height + extra_bottom, c.top + c.bottom + std::max(120.0, legend_h));
  c.width = std::max(c.width, c.left + c.right + 160);
  return c;
}

void draw_y_axis(Canvas& c, const std::vector<double>& ticks, double step) {
  for (double t : ticks) {
    if (t < c.y0 - 1e-9 * (c.y1 - c.y0) || t > c.y1 + 1e-9 * (c.y1 - c.y0)) continue;
    const double y = c.py(t);
    c.body += "<line x1=\"" + num(c.left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(c.left + c.plot_w()) + "\" y2=\"" + num(y) +
              "\" stroke=\"#e5e5e5\"/>\n";
    c.text(c.left - 6, y + 3.5, format_tick(t, step), "end");
  }
}

void draw_x_ticks(Canvas& c, const std::vector<double>& ticks, double step, bool log10) {
  for (double t : ticks) {
    if (t < c.x0 - 1e-9 * (c.x1 - c.x0) || t > c.x1 + 1e-9 * (c.x1 - c.x0)) continue;
    const double x = c.px(t), yb = c.top + c.plot_h();
    c.body += "<line x1=\"" + num(x) + "\" y1=\"" + num(yb) + "\" x2=\"" + num(x) + "\" y2=\"" + num(yb + 4) + "\" stroke=\"#444\"/>\n";
    c.text(x, yb + 15, log10 ? log10_label(t) : format_tick(t, step));
  }
}

void draw_frame_and_labels(Canvas& c, const ChartOptions& o) {
  const double yb = c.top + c.plot_h();
  c.body += "<line x1=\"" + num(c.left) + "\" y1=\"" + num(c.top) + "\" x2=\"" + num(c.left) + "\" y2=\"" + num(yb) + "\" stroke=\"#444\"/>\n";
  c.body += "<line x1=\"" + num(c.left) + "\" y1=\"" + num(yb) + "\" x2=\"" + num(c.left + c.plot_w()) + "\" y2=\"" + num(yb) +
            "\" stroke=\"#444\"/>\n";
  // A bold 13 px glyph is about 8 px wide; long titles of small panels keep their end.
  c.text(c.width / 2, 18, shorten(o.title, size_t(std::max(10.0, (c.width - 8) / 8.2))), "middle", " font-size=\"13\" font-weight=\"bold\"");
  if (!o.x_label.empty()) c.text(c.left + c.plot_w() / 2, c.height - 8, o.x_label);
  if (!o.y_label.empty()) {
    const double cy = c.top + c.plot_h() / 2;
    c.text(14, cy, o.y_label, "middle", " transform=\"rotate(-90 14 " + num(cy) + ")\"");
  }
}

void draw_ref_lines(Canvas& c, const ChartOptions& o) {
  for (const RefLine& h : o.h_lines) {
    if (h.value < c.y0 || h.value > c.y1) continue;
    const double y = c.py(h.value);
    c.body += "<line x1=\"" + num(c.left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(c.left + c.plot_w()) + "\" y2=\"" + num(y) +
              "\" stroke=\"#c00\" stroke-width=\"1.2\" stroke-dasharray=\"6 3\"/>\n";
    c.text(c.left + c.plot_w() - 4, y - 4, h.label, "end", kRefLabel);
  }
  for (const RefLine& v : o.v_lines) {
    if (v.value < c.x0 || v.value > c.x1) continue;
    const double x = c.px(v.value);
    c.body += "<line x1=\"" + num(x) + "\" y1=\"" + num(c.top) + "\" x2=\"" + num(x) + "\" y2=\"" + num(c.top + c.plot_h()) +
              "\" stroke=\"#c00\" stroke-width=\"1.2\" stroke-dasharray=\"6 3\"/>\n";
    const bool right_half = x > c.left + c.plot_w() * 0.6;
    c.text(right_half ? x - 4 : x + 4, c.top + 12, v.label, right_half ? "end" : "start", kRefLabel);
  }
}

void draw_legend(Canvas& c, const Legend& legend) {
  if (legend.entries.size() < 2) return;
  const double x = c.width - legend.width() + 6;
  for (size_t i = 0; i < legend.entries.size(); ++i) {
    const double y = c.top + 6 + kLegendRow * double(i);
    const bool dash = i < legend.dashed.size() && legend.dashed[i];
    c.body += "<line x1=\"" + num(x) + "\" y1=\"" + num(y) + "\" x2=\"" + num(x + 16) + "\" y2=\"" + num(y) + "\" stroke=\"" +
              legend.entries[i].second + "\" stroke-width=\"" + (dash ? "2\" stroke-dasharray=\"4 2\"" : "4\"") + "/>\n";
    c.body += "<text x=\"" + num(x + 21) + "\" y=\"" + num(y + 3.5) + "\" font-size=\"10\"><title>" + html_escape(legend.entries[i].first) +
              "</title>" + html_escape(shorten(legend.entries[i].first, 28)) + "</text>\n";
  }
}

std::string finish(const Canvas& c, const ChartOptions& o) {
  const std::string w = num(c.width), h = num(c.height);
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h + "\" viewBox=\"0 0 " + w + " " + h +
         "\" font-family=\"Helvetica, Arial, sans-serif\" font-size=\"11\" fill=\"#222\" role=\"img\">\n<title>" + html_escape(o.title) +
         "</title>\n<rect width=\"" + w + "\" height=\"" + h + "\" fill=\"#fff\"/>\n" + c.body + "</svg>\n";
}

// Data range -> axis range: exact when given, else widened to whole ticks; flat data gets a margin.
void axis_range(double lo, double hi, std::optional<double> fixed_lo, std::optional<double> fixed_hi, bool widen, double& out_lo,
                double& out_hi, std::vector<double>& ticks, double& step) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) lo = 0, hi = 1;
  if (fixed_lo) lo = *fixed_lo;
  if (fixed_hi) hi = *fixed_hi;
  if (hi - lo <= 1e-12 * std::max(1.0, std::abs(hi))) {
    const double pad = lo == 0 ? 1.0 : std::abs(lo) * 0.1;
    if (!fixed_lo) lo -= pad;
    if (!fixed_hi) hi += pad;
    if (!(hi > lo)) hi = lo + 1;
  }
  ticks = nice_ticks(lo, hi);
  step = ticks.size() > 1 ? ticks[1] - ticks[0] : 1;
  out_lo = widen && !fixed_lo ? ticks.front() : lo;
  out_hi = widen && !fixed_hi ? ticks.back() : hi;
}

// Steps, epochs, iterations, counts: whole-number axes get whole-number ticks (no tick at 1.5).
bool all_whole(const std::vector<std::vector<double>>& data) {
  for (const auto& v : data)
    for (double x : v)
      if (std::isfinite(x) && x != std::floor(x)) return false;
  return true;
}

void whole_ticks(double lo, double hi, std::vector<double>& ticks, double& step) {
  if (step >= 1) return;
  step = 1;
  ticks.clear();
  for (double t = std::ceil(lo); t <= hi; t += 1) ticks.push_back(t);
}

}  // namespace

std::string line_chart(const std::vector<Series>& series, const ChartOptions& o) {
  Legend legend;
  std::vector<Series> kept;  // downsampled
  // Many series (one per layer) share a budget, so a long run with 20+ layers stays a few hundred KB.
  const size_t per_series = std::min(o.max_points, std::max<size_t>(100, 4000 / std::max<size_t>(1, series.size())));
  double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
  for (size_t s = 0; s < series.size(); ++s) {
    CHERRY_CHECK(series[s].x.size() == series[s].y.size(), "svg", "series '", series[s].name, "' has ", series[s].x.size(), " x and ",
                 series[s].y.size(), " y values");
    Series k{series[s].name, {}, {}, series[s].markers, series[s].dashed};
    for (size_t i : downsample_indices(series[s].x.size(), per_series)) {
      k.x.push_back(series[s].x[i]), k.y.push_back(series[s].y[i]);
      if (std::isfinite(series[s].x[i]) && std::isfinite(series[s].y[i])) {
        xlo = std::min(xlo, series[s].x[i]), xhi = std::max(xhi, series[s].x[i]);
        ylo = std::min(ylo, series[s].y[i]), yhi = std::max(yhi, series[s].y[i]);
      }
    }
    legend.entries.emplace_back(series[s].name, series_colour(s, series.size()));
    legend.dashed.push_back(series[s].dashed);
    kept.push_back(std::move(k));
  }
  for (const RefLine& h : o.h_lines) ylo = std::min(ylo, h.value), yhi = std::max(yhi, h.value);
  Canvas c = make_canvas(o, legend);
  std::vector<double> xt, yt;
  double xstep = 1, ystep = 1;
  axis_range(xlo, xhi, o.x_min, o.x_max, false, c.x0, c.x1, xt, xstep);
  axis_range(ylo, yhi, o.y_min, o.y_max, true, c.y0, c.y1, yt, ystep);
  std::vector<std::vector<double>> xs;
  for (const Series& s : kept) xs.push_back(s.x);
  if (all_whole(xs)) whole_ticks(c.x0, c.x1, xt, xstep);  // steps, epochs, iterations
  if (o.whole_y) whole_ticks(c.y0, c.y1, yt, ystep);
  draw_y_axis(c, yt, ystep);
  draw_x_ticks(c, xt, xstep, o.x_log10);
  draw_ref_lines(c, o);
  for (size_t s = 0; s < kept.size(); ++s) {
    const std::string colour = legend.entries[s].second;
    const std::string title = "<title>" + html_escape(kept[s].name) + "</title>";
    std::string points;
    size_t run = 0;
    auto flush = [&] {
      if (run > 1)
        c.body += "<polyline fill=\"none\" stroke=\"" + colour + "\" stroke-width=\"1.6\"" +
                  (kept[s].dashed ? " stroke-dasharray=\"5 3\"" : "") + " points=\"" + points + "\">" + title + "</polyline>\n";
      points.clear(), run = 0;
    };
    for (size_t i = 0; i < kept[s].x.size(); ++i) {
      if (!std::isfinite(kept[s].x[i]) || !std::isfinite(kept[s].y[i])) {
        flush();
        continue;
      }
      if (run) points += ' ';
      points += num(c.px(kept[s].x[i]));
      points += ',';
      points += num(c.py(kept[s].y[i]));
      ++run;
    }
    flush();
    if (kept[s].markers || kept[s].x.size() <= 12)
      for (size_t i = 0; i < kept[s].x.size(); ++i)
        if (std::isfinite(kept[s].x[i]) && std::isfinite(kept[s].y[i]))
          c.body += "<circle cx=\"" + num(c.px(kept[s].x[i])) + "\" cy=\"" + num(c.py(kept[s].y[i])) + "\" r=\"3\" fill=\"" + colour +
                    "\"><title>" + html_escape(kept[s].name) + ": (" + value_text(kept[s].x[i]) + ", " + value_text(kept[s].y[i]) +
                    ")</title></circle>\n";
  }
  draw_frame_and_labels(c, o);
  draw_legend(c, legend);
  return finish(c, o);
}

std::string bar_chart(const std::vector<std::string>& categories, const std::vector<BarSeries>& series, const ChartOptions& o, bool stacked) {
  Legend legend;
  for (size_t s = 0; s < series.size(); ++s) {
    CHERRY_CHECK(series[s].values.size() == categories.size(), "svg", "bar series '", series[s].name, "' has ", series[s].values.size(),
                 " values for ", categories.size(), " categories");
    legend.entries.emplace_back(series[s].name, series_colour(s, series.size()));
  }
  // Category labels: horizontal when they fit, else rotated (the bottom margin grows to hold them).
  size_t longest = 0;
  for (const std::string& cat_name : categories) longest = std::max(longest, std::min<size_t>(cat_name.size(), 24));
  const double approx_band = (o.width - 62 - 16 - legend.width()) / std::max<double>(1, double(categories.size()));
  const bool rotate = double(longest) * kCharWidth > approx_band * 0.95;
  Canvas c = make_canvas(o, legend, rotate ? double(longest) * kCharWidth * 0.6 : 0);
  const double base0 = o.bar_base;
  double lo = base0, hi = base0;
  for (size_t k = 0; k < categories.size(); ++k) {
    double pos = base0, neg = base0;
    for (const BarSeries& s : series) {
      const double v = std::isfinite(s.values[k]) ? s.values[k] : 0;
      if (stacked) (v >= 0 ? pos : neg) += v;
      else hi = std::max(hi, v), lo = std::min(lo, v);
    }
    if (stacked) hi = std::max(hi, pos), lo = std::min(lo, neg);
  }
  for (const RefLine& h : o.h_lines) lo = std::min(lo, h.value), hi = std::max(hi, h.value);
  std::vector<double> yt;
  double ystep = 1;
  axis_range(lo, hi, o.y_min, o.y_max, true, c.y0, c.y1, yt, ystep);
  if (o.whole_y) whole_ticks(c.y0, c.y1, yt, ystep);
  draw_y_axis(c, yt, ystep);
  const double band = c.plot_w() / std::max<double>(1, double(categories.size()));
  const double inner = band * 0.8, bar_w = stacked || series.empty() ? inner : inner / double(series.size());
  const size_t label_every = std::max<size_t>(1, size_t(std::ceil(12.0 * double(categories.size()) / std::max(1.0, c.plot_w()))));
  for (size_t k = 0; k < categories.size(); ++k) {
    const double bx = c.left + band * double(k) + (band - inner) / 2;
    double pos = base0, neg = base0;
    for (size_t s = 0; s < series.size(); ++s) {
      const double v = series[s].values[k] - (stacked ? 0 : base0);  // the bar's signed length from its base
      if (!std::isfinite(v)) continue;
      double base = base0;
      if (stacked) {
        double& level = v >= 0 ? pos : neg;
        base = level;
        level += v;
      }
      const double x = stacked ? bx : bx + bar_w * double(s);
      const double ya = c.py(std::clamp(base + v, c.y0, c.y1)), yb = c.py(std::clamp(base, c.y0, c.y1));
      c.body += "<rect x=\"" + num(x) + "\" y=\"" + num(std::min(ya, yb)) + "\" width=\"" + num(std::max(0.5, bar_w - 0.5)) +
                "\" height=\"" + num(std::abs(yb - ya)) + "\" fill=\"" + legend.entries[s].second + "\"><title>" +
                html_escape(categories[k]) + (series.size() > 1 ? " / " + html_escape(series[s].name) : "") + ": " + value_text(series[s].values[k]) +
                "</title></rect>\n";
    }
    if (k % label_every != 0) continue;
    const double lx = c.left + band * (double(k) + 0.5), ly = c.top + c.plot_h() + 14;
    if (rotate)
      c.text(lx + 3, ly - 4, shorten(categories[k], 24), "end", " font-size=\"10\" transform=\"rotate(-45 " + num(lx + 3) + " " + num(ly - 4) + ")\"");
    else
      c.text(lx, ly, shorten(categories[k], 24));
  }
  draw_ref_lines(c, o);
  draw_frame_and_labels(c, o);
  draw_legend(c, legend);
  return finish(c, o);
}

std::string histogram_chart(double lo, double hi, const std::vector<int64_t>& counts, const ChartOptions& o) {
  CHERRY_CHECK(hi > lo, "svg", "histogram range [", lo, ", ", hi, "] is empty");
  Legend none;
  Canvas c = make_canvas(o, none);
  int64_t top = 1;
  for (int64_t n : counts) top = std::max(top, n);
  std::vector<double> xt, yt;
  double xstep = 1, ystep = 1;
  axis_range(lo, hi, lo, hi, false, c.x0, c.x1, xt, xstep);
  axis_range(0, double(top), o.y_min ? o.y_min : std::optional<double>(0.0), o.y_max, true, c.y0, c.y1, yt, ystep);
  whole_ticks(c.y0, c.y1, yt, ystep);  // counts
  draw_y_axis(c, yt, ystep);
  draw_x_ticks(c, xt, xstep, o.x_log10);
  const double w = (hi - lo) / double(std::max<size_t>(1, counts.size()));
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] == 0) continue;
    const double a = lo + w * double(i), b = a + w;
    const double x = c.px(a), y = c.py(double(counts[i]));
    c.body += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(std::max(0.5, c.px(b) - x - 0.5)) + "\" height=\"" +
              num(c.py(0) - y) + "\" fill=\"#4c78a8\"><title>" + (o.x_log10 ? log10_label(a) + " .. " + log10_label(b) : value_text(a) + " .. " + value_text(b)) +
              ": " + std::to_string(counts[i]) + "</title></rect>\n";
  }
  draw_ref_lines(c, o);
  draw_frame_and_labels(c, o);
  return finish(c, o);
}

}  // namespace cherry::audit
