// Metric formulas written to reproduce sklearn's and scipy's values (same degenerate-case results:
// 0 for an undefined MCC or F1, NaN for a correlation with a constant input).
#include "datasets/glue_metrics.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>

#include "core/error.h"

namespace cherry {

namespace {

constexpr const char* kOp = "glue_metrics";

void check_same_size(std::span<const double> a, std::span<const double> b, const char* what) {
  CHERRY_CHECK(a.size() == b.size(), what, a.size(), " predictions but ", b.size(), " labels");
  CHERRY_CHECK(!a.empty(), what, "no predictions");
}

// Ranks from 1, ties sharing the mean of the ranks they span (scipy.stats.rankdata 'average').
std::vector<double> average_ranks(std::span<const double> v) {
  std::vector<size_t> order(v.size());
  std::iota(order.begin(), order.end(), size_t(0));
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (size_t i = 0; i < order.size();) {
    size_t j = i + 1;
    while (j < order.size() && v[order[j]] == v[order[i]]) ++j;
    const double r = 0.5 * double(i + 1 + j);  // mean of ranks i+1 .. j
    for (size_t k = i; k < j; ++k) rank[order[k]] = r;
    i = j;
  }
  return rank;
}

}  // namespace

double GlueMetrics::at(std::string_view key) const {
  for (const auto& [k, v] : values)
    if (k == key) return v;
  throw Error(kOp, cat("no metric '", key, "' (this task has ", values.size(), " metrics)"));
}

double accuracy(std::span<const double> predictions, std::span<const double> labels) {
  check_same_size(predictions, labels, "accuracy");
  size_t right = 0;
  for (size_t i = 0; i < labels.size(); ++i) right += predictions[i] == labels[i];
  return double(right) / double(labels.size());
}

double f1_binary(std::span<const double> predictions, std::span<const double> labels) {
  check_same_size(predictions, labels, "f1_binary");
  double tp = 0, fp = 0, fn = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    const bool p = predictions[i] == 1, t = labels[i] == 1;
    tp += p && t;
    fp += p && !t;
    fn += !p && t;
  }
  return tp == 0 ? 0.0 : 2 * tp / (2 * tp + fp + fn);
}

double matthews_corrcoef(std::span<const double> predictions, std::span<const double> labels) {
  check_same_size(predictions, labels, "matthews_corrcoef");
  // sklearn: from the confusion matrix C, with t = true counts per class and p = predicted counts.
  std::map<double, std::pair<int64_t, int64_t>> counts;  // class -> (true count, predicted count)
  int64_t correct = 0;
  for (size_t i = 0; i < labels.size(); ++i) {
    ++counts[labels[i]].first;
    ++counts[predictions[i]].second;
    correct += predictions[i] == labels[i];
  }
  const double n = double(labels.size());
  double tp_dot = 0, pp_dot = 0, tt_dot = 0;
  for (const auto& [cls, tp] : counts) {
    tp_dot += double(tp.first) * double(tp.second);
    pp_dot += double(tp.second) * double(tp.second);
    tt_dot += double(tp.first) * double(tp.first);
  }
  const double cov_tp = double(correct) * n - tp_dot, cov_pp = n * n - pp_dot, cov_tt = n * n - tt_dot;
  if (cov_pp * cov_tt == 0) return 0.0;
  return cov_tp / std::sqrt(cov_tt * cov_pp);
}

double pearson(std::span<const double> x, std::span<const double> y) {
  check_same_size(x, y, "pearson");
  const double n = double(x.size());
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / n, my = std::accumulate(y.begin(), y.end(), 0.0) / n;
  double sxy = 0, sxx = 0, syy = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) * (x[i] - mx);
    syy += (y[i] - my) * (y[i] - my);
  }
  if (sxx == 0 || syy == 0) return std::nan("");
  return std::clamp(sxy / std::sqrt(sxx * syy), -1.0, 1.0);
}

double spearman(std::span<const double> x, std::span<const double> y) {
  check_same_size(x, y, "spearman");
  const std::vector<double> rx = average_ranks(x), ry = average_ranks(y);
  return pearson(rx, ry);
}

GlueMetrics glue_metrics(GlueTask task, std::span<const double> predictions, std::span<const double> labels) {
  check_same_size(predictions, labels, kOp);
  const GlueTaskInfo& info = glue_task_info(task);
  GlueMetrics m;
  if (info.regression) {
    for (size_t i = 0; i < labels.size(); ++i)
      CHERRY_CHECK(std::isfinite(predictions[i]) && std::isfinite(labels[i]), kOp, info.folder, ": non-finite score at ", i);
    const double p = pearson(predictions, labels), s = spearman(predictions, labels);
    m.values = {{"pearson", p}, {"spearmanr", s}, {"combined_score", (p + s) / 2}};
    m.primary_key = "combined_score";
    return m;
  }
  const double k = double(info.num_labels());
  for (size_t i = 0; i < labels.size(); ++i)
    for (double v : {predictions[i], labels[i]})
      CHERRY_CHECK(v >= 0 && v < k && v == std::floor(v), kOp, info.folder, ": value ", v, " at ", i,
                   " is not a class id in [0, ", info.num_labels(), ")");
  switch (task) {
    case GlueTask::cola:
      m.values = {{"matthews_correlation", matthews_corrcoef(predictions, labels)}};
      break;
    case GlueTask::mrpc: {
      const double acc = accuracy(predictions, labels), f1 = f1_binary(predictions, labels);
      m.values = {{"accuracy", acc}, {"f1", f1}, {"combined_score", (acc + f1) / 2}};
      break;
    }
    default: m.values = {{"accuracy", accuracy(predictions, labels)}}; break;
  }
  // The GLUE leaderboard's score per task: MCC for CoLA, the F1/accuracy mean for MRPC.
  m.primary_key = m.values.back().first;
  return m;
}

}  // namespace cherry
