// The records the apps write into a run directory and cherry_audit reads back, one struct per kind,
// each with nlohmann's to_json / from_json (found by ADL, so `json j = record` and
// `read_record<T>(j, "file:line")` work):
//   dynamic.jsonl         DynamicRecord: the dynamic layers at a logged step (LayerStats, with the
//                         DY-Conv AttentionStats or the MoE RouterStats of the layer's last pass)
//   dynamic_summary.json  DynamicSnapshot: the same at the end of training
//   imp.jsonl             ImpRecord: one IMP iteration as run_imp reports it, with settings and step
//   model.json            ModelSummary: parameter counts (and FLOPs)
//   eval_results.json     EvalResult: the latest evaluation
// to_json writes only what is set, under the key names old run directories use. from_json checks the
// invariants the audit report relies on (attention rows sum to 1, lambda_d + lambda_s = 2, dynamic <=
// entries, kappa = sum(dynamic) / sum(entries), histogram counts + zero scores = entries, ...), since
// a plot of a buggy counter teaches the wrong thing; optional keys a record lacks stay empty.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "layers/imp.h"
#include "models/padnet.h"

namespace cherry {

// DY-Conv kernel attention of a layer's last forward pass (the attn_* keys).
struct AttentionStats {
  std::optional<double> entropy{}, collapsed{};  // mean H(pi) / log K; fraction of samples with max pi > 0.99
  std::vector<double> mean{};                    // mean pi over the batch, [K]
  bool present() const { return entropy || collapsed || !mean.empty(); }
};
void to_json(nlohmann::json& j, const AttentionStats& a);
void from_json(const nlohmann::json& j, AttentionStats& a);

// MoE routing of a layer's last forward pass.
struct RouterStats {
  std::optional<int64_t> experts{}, top_k{}, tokens{}, dead_experts{};
  std::vector<int64_t> tokens_per_expert{};       // [E], sums to tokens x top_k
  std::optional<double> entropy{}, balance_loss{};  // router_entropy (normalised by log E); the layer's CV^2 term
  bool present() const { return experts || !tokens_per_expert.empty() || entropy || dead_experts; }
};
void to_json(nlohmann::json& j, const RouterStats& r);
void from_json(const nlohmann::json& j, RouterStats& r);

// One dynamic layer in a dynamic.jsonl record or dynamic_summary.json.
struct LayerStats {
  std::string name{};
  std::optional<int64_t> kernels{}, entries{}, dynamic{};  // K, numel(M), sum(M)
  std::optional<double> kappa{}, lambda_d{}, lambda_s{}, temperature{};
  AttentionStats attention{};
  RouterStats router{};
  bool has_attention() const { return attention.present(); }
  bool has_router() const { return router.present(); }
};
void to_json(nlohmann::json& j, const LayerStats& l);
void from_json(const nlohmann::json& j, LayerStats& l);

// The dynamic layers at one moment; kappa is the global sum(dynamic) / sum(entries).
struct DynamicSnapshot {
  std::optional<double> kappa;
  std::vector<LayerStats> layers;  // at least one
};
void to_json(nlohmann::json& j, const DynamicSnapshot& s);
void from_json(const nlohmann::json& j, DynamicSnapshot& s);

// One dynamic.jsonl line: the snapshot at a logged step.
struct DynamicRecord : DynamicSnapshot {
  int64_t step = 0, epoch = 0;         // epoch: absent reads as 0
  std::optional<double> balance_loss;  // MoE: the load-balancing loss summed over layers
};
void to_json(nlohmann::json& j, const DynamicRecord& r);
void from_json(const nlohmann::json& j, DynamicRecord& r);

// The IMP settings an imp.jsonl line records (lines written before they were recorded lack them).
struct ImpSettings {
  int64_t iterations = 0;
  ImpScorer scorer = ImpScorer::grad;
  ImpScope scope = ImpScope::global;
  ImpSchedule schedule = ImpSchedule::exponential;
  int64_t batches = 0;
};

// One imp.jsonl line: what run_imp reports for an iteration, with the settings that produced it and
// the number of training steps done before it ran.
struct ImpRecord : ImpIteration {
  std::optional<int64_t> step;  // absent in older runs
  std::optional<ImpSettings> settings;
  std::vector<int64_t> total_histogram() const;  // summed over layers
  int64_t total_flips() const;
  int64_t total_zero_scores() const;
};
ImpRecord imp_record(const ImpIteration& it, const ImpOptions& o, int64_t step);
void to_json(nlohmann::json& j, const ImpLayerReport& l);
void from_json(const nlohmann::json& j, ImpLayerReport& l);
void to_json(nlohmann::json& j, const ImpRecord& r);
void from_json(const nlohmann::json& j, ImpRecord& r);

// model.json. Every key is optional when read; both apps write all but flops_per_image (train_resnet only).
struct ModelSummary {
  std::optional<int64_t> trainable, dynamic, static_, stored, dynamic_layers, flops_per_image;
  std::optional<double> kappa;
  // The deployed (folded) form's cost: its index lists (one entry per dynamic position, the price of
  // the partition), the bytes of all its tensors as saved, and FLOPs measured on it.
  std::optional<int64_t> index_entries, deployed_bytes, deployed_flops_per_image;
};
ModelSummary model_summary(const ParameterCounts& c, int64_t dynamic_layers);
void to_json(nlohmann::json& j, const ModelSummary& m);
void from_json(const nlohmann::json& j, ModelSummary& m);

// eval_results.json. The metrics, loss and samples carry the prefix ("eval_" in finetune_bert, after
// Hugging Face); best is "best_<primary metric>": the best value of the run so far.
struct EvalResult {
  std::string prefix;
  std::vector<std::pair<std::string, double>> metrics;  // unprefixed names
  std::optional<double> loss;
  std::optional<int64_t> samples, epoch, step;
  std::optional<std::pair<std::string, double>> best;
};
void to_json(nlohmann::json& j, const EvalResult& e);
void from_json(const nlohmann::json& j, EvalResult& e);


// Whole files, every error naming the file, the line and the field (cherry::Error with `op`).
// dynamic.jsonl: no step recorded twice. imp.jsonl: iterations increase, the layer list stays, and
// each layer's flips can explain the change of its dynamic count.
std::vector<DynamicRecord> read_dynamic_jsonl(const std::string& path, const std::string& op = "record");
std::vector<ImpRecord> read_imp_jsonl(const std::string& path, const std::string& op = "record");

}  // namespace cherry
