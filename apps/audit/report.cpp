#include "apps/audit/report.h"

#include <filesystem>
#include <fstream>

#include "apps/audit/report_sections.h"
#include "apps/common/atomic_file.h"

namespace cherry::audit {

namespace {

// Plain, printable styling; SVGs scale down on narrow screens.
const char* kStyle = R"(
body { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 1180px; margin: 0 auto; padding: 0 18px 40px; line-height: 1.45; }
h1 { margin-bottom: 4px; } h2 { border-bottom: 2px solid #4c78a8; padding-bottom: 3px; margin-top: 36px; }
h3 { margin: 18px 0 6px; font-size: 1.05em; }
code { background: #f1f1f1; padding: 0 3px; border-radius: 3px; }
.source { color: #555; margin-top: 0; word-break: break-all; }
nav ol { columns: 2; margin: 6px 0; }
.explain { background: #f5f8fc; border-left: 4px solid #4c78a8; padding: 8px 12px; margin: 10px 0; }
.warn { background: #fff4e5; border-left: 4px solid #e69500; padding: 8px 12px; margin: 10px 0; }
.skipped { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; margin: 8px 0; font-size: 0.92em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; }
th { background: #f0f0f0; } td.num, th.num { text-align: right; }
tbody tr:nth-child(even) { background: #fafafa; }
.grid { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
figure { margin: 6px 0; } figcaption { font-size: 0.88em; color: #555; max-width: 640px; }
svg { max-width: 100%; height: auto; }
details { margin: 8px 0; } summary { cursor: pointer; color: #4c78a8; }
footer { margin-top: 40px; color: #777; font-size: 0.85em; }
)";

std::vector<Section> build_sections(const AuditData& d) {
  std::vector<Section> out;
  auto add = [&](std::optional<Section> s) {
    if (s) out.push_back(std::move(*s));
  };
  if (!d.from_checkpoint) add(summary_section(d)), add(training_section(d));
  add(mask_density_section(d));
  add(scale_factor_section(d));
  if (!d.from_checkpoint) add(attention_section(d)), add(imp_section(d)), add(router_section(d));
  return out;
}

std::string checkpoint_header(const AuditData& d) {
  std::string h = "<p>A checkpoint holds the network's tensors, not its training history: this report reads the masks "
                  "(<code>&lt;layer&gt;.mask</code>), the scale-factor logits (<code>&lt;layer&gt;.phi</code>) and the temperatures, so "
                  "it shows mask density and scale factors only. Run <code>cherry_audit</code> on the run directory for the rest.</p>\n";
  std::vector<std::vector<std::string>> rows;
  if (d.checkpoint_step) rows.push_back({"step", count(*d.checkpoint_step)});
  for (const char* key : {"model", "dataset", "task", "conv", "kernels", "kappa", "imp_scorer", "imp_iters", "no_scale"})
    if (d.config.is_object() && d.config.contains(key)) rows.push_back({esc(key), esc(json_value_text(d.config[key]))});
  if (!rows.empty()) h += table({"from the checkpoint's metadata", ""}, rows);
  return h;
}

}  // namespace

std::string render_report(const AuditData& d, std::vector<std::string>* section_ids) {
  const std::vector<Section> sections = build_sections(d);
  if (section_ids)
    for (const Section& s : sections) section_ids->push_back(s.id);
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Cherry audit: " + esc(d.source) +
                  "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n";
  h += std::string("<h1>PAD-Net audit</h1>\n<p class=\"source\">") + (d.from_checkpoint ? "checkpoint " : "run directory ") +
       "<code>" + esc(d.source) + "</code></p>\n";
  if (d.from_checkpoint) h += checkpoint_header(d);
  h += "<nav><b>Contents</b><ol>\n";
  for (const Section& s : sections) h += "<li><a href=\"#" + s.id + "\">" + s.title + "</a></li>\n";
  h += "</ol></nav>\n";
  if (!d.skipped.empty()) {
    h += "<div class=\"skipped\"><b>Optional inputs not found</b> (their plots are left out):<ul>\n";
    for (const std::string& s : d.skipped) h += "<li>" + esc(s) + "</li>\n";
    h += "</ul></div>\n";
  }
  for (size_t i = 0; i < sections.size(); ++i)
    h += "<section id=\"" + sections[i].id + "\">\n<h2>" + std::to_string(i + 1) + ". " + sections[i].title + "</h2>\n" + sections[i].html +
         "</section>\n";
  h += "<footer>Written by cherry_audit (Cherry). Formulas and notation: docs/PADNET.md (PAD-Net, ACL 2023). "
       "Hover over a line, bar or legend entry to see its exact value or full name.</footer>\n</body>\n</html>\n";
  return h;
}

void write_report(const AuditData& data, const std::string& path) { write_file_atomic(path, render_report(data)); }

void check_report_output(const std::string& input, const std::string& output) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path in = fs::weakly_canonical(input, ec), out = fs::weakly_canonical(output, ec);
  CHERRY_CHECK(out != in, "audit", "-o ", output, " is the input ", input, ": refusing to overwrite it");
  if (fs::is_directory(in)) {
    const auto rel = out.lexically_relative(in);
    const bool inside = !rel.empty() && *rel.begin() != "..";
    CHERRY_CHECK(!inside || out.extension() == ".html", "audit", "-o ", output, " is inside the run directory ", input,
                 " and not an .html file: refusing to write among the run's records");
  }
  CHERRY_CHECK(!fs::is_directory(out), "audit", "-o ", output, " is a folder: name the report file");
  if (fs::exists(out)) {
    std::ifstream f(out, std::ios::binary);
    std::string head(15, '\0');
    f.read(head.data(), std::streamsize(head.size()));
    CHERRY_CHECK(head == "<!DOCTYPE html>", "audit", "-o ", output, " exists and is not an HTML report: refusing to overwrite it");
  }
}

}  // namespace cherry::audit
