// What the audit report reads: a run directory written by the apps (train_resnet, finetune_bert)
// or a single checkpoint. The run records and the invariants checked when reading them are
// apps/common/run_records.h's (a plot of a buggy counter teaches the wrong thing): a violation is a
// cherry::Error naming file:line, the layer and the field. Keys a record lacks stay empty
// (std::optional / empty vectors) and their plots are skipped.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "apps/common/run_records.h"

namespace cherry::audit {

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
  nlohmann::json config, deploy;  // null when the file is absent
  std::optional<ModelSummary> model;
  std::optional<EvalResult> eval_results;
  std::vector<MetricPoint> metrics;
  std::vector<EpochRow> epochs;
  std::vector<DynamicRecord> dynamic;
  std::optional<DynamicSnapshot> dynamic_summary;
  std::vector<ImpRecord> imp;
  std::vector<CheckpointLayer> checkpoint_layers;
  std::optional<int64_t> checkpoint_step;
  std::vector<std::string> skipped;  // optional inputs that were absent and what that leaves out

  // The dynamic layers at the end of training: dynamic_summary.json, else the last record.
  const DynamicSnapshot* final_dynamic() const;
  bool has_attention() const;
  bool has_router() const;
};

// A run directory (a folder) or a checkpoint (a .safetensors file). Throws cherry::Error for a
// missing path, a corrupt or inconsistent record (file:line, layer) or a run with no records.
AuditData read_audit_input(const std::string& path);
AuditData read_run_dir(const std::string& dir);
AuditData read_checkpoint(const std::string& path);

// One metrics.jsonl object; `where` is "file:line" for error messages.
MetricPoint parse_metric_point(const nlohmann::json& j, const std::string& where);

}  // namespace cherry::audit
