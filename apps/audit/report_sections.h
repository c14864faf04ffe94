// The report's sections, one function each; a section that has nothing to show returns nullopt.
#pragma once
#include <optional>

#include "apps/audit/report_html.h"

namespace cherry::audit {

std::optional<Section> summary_section(const AuditData& d);          // report_summary.cpp
std::optional<Section> training_section(const AuditData& d);         // report_summary.cpp
std::optional<Section> mask_density_section(const AuditData& d);     // report_layers.cpp
std::optional<Section> scale_factor_section(const AuditData& d);     // report_layers.cpp
std::optional<Section> attention_section(const AuditData& d);        // report_layers.cpp
std::optional<Section> imp_section(const AuditData& d);              // report_imp.cpp
std::optional<Section> router_section(const AuditData& d);           // report_router.cpp

}  // namespace cherry::audit
