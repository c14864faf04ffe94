// Iterative Mode Partition (docs/PADNET.md §4): decides which weight entries of the PAD layers stay
// dynamic. Start fully dynamic (M = 1); for t = 1..T score every entry, then keep the top
// kappa_t fraction dynamic (globally or per layer), kappa_t = kappa^(t/T) or 1 - (1-kappa) t/T.
// No weights change between iterations; entries may come back. The caller freezes M afterwards.
#pragma once
#include <array>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "layers/pad_layer.h"

namespace cherry {

enum class ImpSchedule { exponential, linear };
enum class ImpScope { global, layer };
enum class ImpScorer {
  grad,       // S_j = |sum over scoring batches of dL/dM_j| (M treated as real-valued)
  random,     // uniform random scores: the "is IMP needed" ablation
  magnitude,  // |mean_k W_k - Ws|: how far the (uniformly mixed) dynamic weight is from the static one (ours)
};
// Their names on the command line, in config.json and imp.jsonl (read by apps/common/choices.h).
constexpr std::array<std::pair<ImpSchedule, std::string_view>, 2> names_of(ImpSchedule) {
  return {{{ImpSchedule::exponential, "exp"}, {ImpSchedule::linear, "linear"}}};
}
constexpr std::array<std::pair<ImpScope, std::string_view>, 2> names_of(ImpScope) { return {{{ImpScope::global, "global"}, {ImpScope::layer, "layer"}}}; }
constexpr std::array<std::pair<ImpScorer, std::string_view>, 3> names_of(ImpScorer) {
  return {{{ImpScorer::grad, "grad"}, {ImpScorer::random, "random"}, {ImpScorer::magnitude, "magnitude"}}};
}

struct ImpOptions {
  double kappa = 0.3;        // target dynamic ratio
  int64_t iterations = 5;    // T (1 = one-shot)
  ImpSchedule schedule = ImpSchedule::exponential;
  ImpScope scope = ImpScope::global;
  ImpScorer scorer = ImpScorer::grad;
  int64_t batches = 10;      // scoring batches per iteration
  uint64_t seed = 0;         // random scorer
  // Ws from the factors (PadLayer::set_static_from_factors, before the first scoring pass, so the
  // mask gradient scores this switch): for an IMP after training has moved the factors (PAD-MoE
  // after warm-up), so the switch does not undo what training learnt.
  bool static_from_factors = false;
};

using NamedPadLayers = std::vector<std::pair<std::string, std::shared_ptr<PadLayer>>>;

struct ImpLayerReport {
  std::string name;
  int64_t entries = 0, dynamic = 0, flips = 0;  // flips: entries whose mode changed this iteration
  double kappa = 0, threshold = 0;              // threshold: the smallest score kept dynamic
  std::vector<int64_t> histogram;               // score counts over ImpIteration's log10 bins
  int64_t zero_scores = 0;                      // scores that are exactly 0 (no log)
};

struct ImpIteration {
  int64_t iteration = 0;
  double target_kappa = 0, achieved_kappa = 0, threshold = 0;  // threshold: global scope only
  double log10_lo = 0, log10_hi = 0;                           // histogram range, shared by all layers
  std::vector<ImpLayerReport> layers;
};

double imp_target_kappa(const ImpOptions& o, int64_t t);  // kappa_t, t = 1..T

// The scores of every PAD layer's entries (one f64 tensor per layer, shape S). `loss_of_batch(i)`
// runs the model on scoring batch i (the caller sets eval mode) and returns the scalar loss.
std::vector<Tensor> imp_scores(const NamedPadLayers& layers, const ImpOptions& o, int64_t iteration,
                               const std::function<Tensor(int64_t)>& loss_of_batch);

// Keeps the `keep` highest scores of `scores` (ties: the lower index wins, so it is deterministic).
// Returns the binary masks.
std::vector<Tensor> top_entries_mask(const std::vector<Tensor>& scores, int64_t keep);

// The whole schedule; returns one report per iteration. Leaves the final masks in the layers.
std::vector<ImpIteration> run_imp(const NamedPadLayers& layers, const ImpOptions& o, const std::function<Tensor(int64_t)>& loss_of_batch);

}  // namespace cherry
