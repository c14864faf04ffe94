// The audit report: one self-contained HTML page (inline CSS, inline SVG, no scripts) explaining
// a PAD-Net run with plots and short texts tying each plot to the formulas of docs/PADNET.md.
// Sections appear only when their inputs are there (attention only with attn_* keys, the router
// only with MoE router keys, IMP only with imp.jsonl); a checkpoint gives mask density and scale
// factors only.
#pragma once
#include <string>
#include <vector>

#include "apps/audit/audit_data.h"

namespace cherry::audit {

// The whole page; `section_ids`, when given, receives the ids of the sections shown, in page order
// ("summary", "training", "mask", "scale", "attention", "imp", "router").
std::string render_report(const AuditData& data, std::vector<std::string>* section_ids = nullptr);
// Refuses (Error) an output path that would replace an input or a record of the run: the input
// itself, a file inside the input run directory that is not .html, and any existing file that is not
// an HTML page (a checkpoint, metrics.jsonl, a user's file). An earlier report may be replaced.
void check_report_output(const std::string& input, const std::string& output);
// Renders and writes atomically.
void write_report(const AuditData& data, const std::string& path);

}  // namespace cherry::audit
