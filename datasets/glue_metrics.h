// GLUE evaluation metrics under Hugging Face's names and in the order run_glue.py writes them:
// CoLA matthews_correlation; SST-2 and RTE accuracy; MRPC accuracy, f1, combined_score; STS-B
// pearson, spearmanr, combined_score (combined_score: the mean of the others, as run_glue adds it).
// Values follow sklearn (matthews_corrcoef, f1_score) and scipy (pearsonr, spearmanr with average
// ranks for ties). Not here: producing predictions (the app), reading labels (glue.h).
#pragma once
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "datasets/glue.h"

namespace cherry {

struct GlueMetrics {
  std::vector<std::pair<std::string, double>> values;  // in HF's order
  double at(std::string_view key) const;               // throws for a key not computed
  std::string primary_key;                             // the one to select the best checkpoint by
  double primary() const { return at(primary_key); }
};

// Classification tasks take class ids (integral values, e.g. the argmax of the logits); STS-B takes
// predicted and gold scores. Both spans must be equally long and not empty.
GlueMetrics glue_metrics(GlueTask task, std::span<const double> predictions, std::span<const double> labels);

double accuracy(std::span<const double> predictions, std::span<const double> labels);
// Binary F1 of class 1 (sklearn's default pos_label); 0 when there is no true or predicted positive.
double f1_binary(std::span<const double> predictions, std::span<const double> labels);
// Matthews correlation over any number of classes (sklearn's formula); 0 when undefined.
double matthews_corrcoef(std::span<const double> predictions, std::span<const double> labels);
// Pearson's r; NaN when either input is constant (scipy returns NaN there too).
double pearson(std::span<const double> x, std::span<const double> y);
// Spearman's rho: Pearson's r of the ranks, tied values sharing their average rank.
double spearman(std::span<const double> x, std::span<const double> y);

}  // namespace cherry
