// A small SVG plotting helper for the audit report: line charts, bar charts (grouped or stacked)
// and histograms, each returned as one self-contained <svg> string with axes, tick labels, a
// title and a legend where there are several series. No scripts, no external fonts or styles, so
// the SVG renders the same inside the HTML report and on its own (rsvg-convert, browsers).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cherry::audit {

// &, <, >, " and ' as entities: for every string that comes from an input file (HTML and SVG).
std::string html_escape(std::string_view s);

struct Series {
  std::string name;
  std::vector<double> x, y;  // non-finite y values break the line
  bool markers = false;      // a dot at each point (also drawn automatically for short series)
  bool dashed = false;
};

struct RefLine {  // a labelled reference line across the plot
  double value = 0;
  std::string label;
};

struct ChartOptions {
  ChartOptions(std::string title_, std::string x_label_, std::string y_label_, int width_ = 640, int height_ = 300)
      : title(std::move(title_)), x_label(std::move(x_label_)), y_label(std::move(y_label_)), width(width_), height(height_) {}
  // Fluent setters, so a chart can be described inline: ChartOptions("t", "x", "y").y_range(0, 1).
  ChartOptions& y_range(std::optional<double> lo, std::optional<double> hi) { return y_min = lo, y_max = hi, *this; }
  ChartOptions& log10_x() { return x_log10 = true, *this; }
  ChartOptions& h_line(double value, std::string label) { return h_lines.push_back({value, std::move(label)}), *this; }
  ChartOptions& v_line(double value, std::string label) { return v_lines.push_back({value, std::move(label)}), *this; }
  ChartOptions& bars_from(double base) { return bar_base = base, *this; }
  ChartOptions& counts() { return whole_y = true, *this; }

  std::string title, x_label, y_label;
  int width = 640, height = 300;  // grows to fit a long legend or rotated category labels
  std::optional<double> x_min, x_max, y_min, y_max;
  bool x_log10 = false;  // x values are log10(v): tick labels show v
  bool whole_y = false;  // y is a count: whole-number ticks only (histograms always)
  std::vector<RefLine> h_lines, v_lines;
  size_t max_points = 400;  // per series, after downsampling
  double bar_base = 0;      // bars start here (1 for scale factors: bars show the change from the start)
};

// A line per series over shared axes. Long series are downsampled to max_points each, fewer
// (down to 100) when there are more than 10 series, to bound the size of the SVG.
std::string line_chart(const std::vector<Series>& series, const ChartOptions& o);

// One bar per category and series: side by side (grouped) or on top of each other (stacked).
struct BarSeries {
  std::string name;
  std::vector<double> values;  // one per category
};
std::string bar_chart(const std::vector<std::string>& categories, const std::vector<BarSeries>& series, const ChartOptions& o,
                      bool stacked = false);

// Equal-width bins over [lo, hi] on the x axis (h_lines/v_lines as in ChartOptions).
std::string histogram_chart(double lo, double hi, const std::vector<int64_t>& counts, const ChartOptions& o);

// Building blocks, exposed for the tests.
// Indices of at most max_points evenly spread points, always the first and the last: the points
// kept are real data points, not averages, so the curve never shows a value that was not logged.
std::vector<size_t> downsample_indices(size_t n, size_t max_points);
// "Nice" ticks (1, 2 or 5 times a power of ten) covering [lo, hi]; the first <= lo, the last >= hi.
std::vector<double> nice_ticks(double lo, double hi, int target_count = 5);
std::string format_tick(double v, double step);
// The i-th of n series colours: a categorical palette for up to 10, else a dark-to-light ramp
// (the series are layers in network order, so depth reads as colour).
std::string series_colour(size_t i, size_t n);

}  // namespace cherry::audit
