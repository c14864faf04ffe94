// What the audit report reads: a run directory written by the apps (train_resnet, later
// finetune_bert) or a single checkpoint. Reading validates the invariants the report relies on
// (attention rows sum to 1, lambda_d + lambda_s = 2, dynamic <= entries, kappa = sum(dynamic) /
// sum(entries), histogram counts + zero scores = entries, ...), because a plot of a buggy counter
// teaches the wrong thing: a violation is a cherry::Error naming file:line and the layer.
// Keys a record lacks stay empty (std::optional / empty vectors) and their plots are skipped.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace cherry::audit {

// One layer of a dynamic.jsonl record (or of dynamic_summary.json).
struct LayerStats {
  std::string name;
  std::optional<int64_t> kernels, entries, dynamic;  // K, numel(M), sum(M)
  std::optional<double> kappa, lambda_d, lambda_s, temperature;
  // DY-Conv kernel attention (attn_* keys)
  std::optional<double> attn_entropy, attn_collapsed;
  std::vector<double> attn_mean;  // [K]
  // MoE router keys
  std::optional<int64_t> experts, top_k, dead_experts, tokens;
  std::vector<double> tokens_per_expert;  // [E]
  std::optional<double> router_entropy, balance_loss;

  bool has_attention() const { return attn_entropy || attn_collapsed || !attn_mean.empty(); }
  bool has_router() const { return experts || !tokens_per_expert.empty() || router_entropy || dead_experts; }
};

// One dynamic.jsonl record: the dynamic layers at one logged step.
struct DynamicRecord {
  int64_t step = 0, epoch = 0;
  std::optional<double> kappa, balance_loss;
  std::vector<LayerStats> layers;
};

struct ImpLayer {
  std::string name;
  int64_t entries = 0, dynamic = 0, flips = 0, zero_scores = 0;
  double kappa = 0, threshold = 0;
  std::vector<int64_t> histogram;  // counts over the iteration's equal-width log10(score) bins
};

// One imp.jsonl record: one IMP iteration.
struct ImpRecord {
  int64_t iteration = 0;
  std::optional<int64_t> step;  // training steps done before it ran (absent in older runs)
  double target_kappa = 0, achieved_kappa = 0, threshold = 0, log10_lo = 0, log10_hi = 0;
  std::vector<ImpLayer> layers;
  std::vector<int64_t> total_histogram() const;  // summed over layers
  int64_t total_flips() const;
  int64_t total_zero_scores() const;
};

// One metrics.jsonl record.
struct MetricPoint {
  int64_t step = 0, epoch = 0;
  std::optional<double> loss, loss_avg, lr, grad_norm, samples_per_s;
};

// One summary.csv row (columns may be empty).
struct EpochRow {
  int64_t epoch = 0;
  std::optional<int64_t> step;
  std::optional<double> train_loss, train_accuracy, eval_loss, eval_accuracy, lr;
};

// A dynamic layer found in a checkpoint (<layer>.mask / .phi / .temperature / .weight).
struct CheckpointLayer {
  std::string name;
  int64_t kernels = 0, entries = 0, dynamic = 0;
  double kappa = 1, lambda_d = 1;
  std::optional<double> temperature;
  bool has_mask = false, has_phi = false;
};

struct AuditData {
  std::string source;  // the run directory or checkpoint path
  bool from_checkpoint = false;
  nlohmann::json config, model, eval_results, deploy;  // null when the file is absent
  std::vector<MetricPoint> metrics;
  std::vector<EpochRow> epochs;
  std::vector<DynamicRecord> dynamic;
  std::optional<DynamicRecord> dynamic_summary;
  std::vector<ImpRecord> imp;
  std::vector<CheckpointLayer> checkpoint_layers;
  std::optional<int64_t> checkpoint_step;
  std::vector<std::string> skipped;  // optional inputs that were absent and what that leaves out

  // The dynamic layers at the end of training: dynamic_summary.json, else the last record.
  const DynamicRecord* final_dynamic() const;
  bool has_attention() const;
  bool has_router() const;
};

// A run directory (a folder) or a checkpoint (a .safetensors file). Throws cherry::Error for a
// missing path, a corrupt or inconsistent record (file:line, layer) or a run with no records.
AuditData read_audit_input(const std::string& path);
AuditData read_run_dir(const std::string& dir);
AuditData read_checkpoint(const std::string& path);

// Record parsers, one object each; `where` is "file:line" for error messages.
DynamicRecord parse_dynamic_record(const nlohmann::json& j, const std::string& where);
ImpRecord parse_imp_record(const nlohmann::json& j, const std::string& where);
MetricPoint parse_metric_point(const nlohmann::json& j, const std::string& where);

}  // namespace cherry::audit
