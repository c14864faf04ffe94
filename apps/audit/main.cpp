// cherry_audit: one self-contained HTML report (inline SVG plots, no scripts) of a run directory
// or a checkpoint. Errors (missing input, corrupt or inconsistent records) exit non-zero.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "apps/audit/report.h"
#include "apps/common/atomic_file.h"
#include "apps/common/build_info.h"
#include "core/error.h"

namespace {
namespace fs = std::filesystem;

// The report may replace an earlier report, never an input or a record of the run: refuses the input
// itself, a file inside the input run directory that is not .html, and any existing file that is not
// an HTML page (a checkpoint, metrics.jsonl, a user's file).
void check_output(const std::string& input, const std::string& output) {
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

}  // namespace

int main(int argc, char** argv) {
  std::string input, output;
  CLI::App app{"cherry_audit: render an HTML report (plots and explanations) of a PAD-Net run directory or checkpoint"};
  app.set_version_flag("--version", cherry::version_string("cherry_audit"));
  app.add_option("input", input, "a run directory (train_resnet --run-dir) or a .safetensors checkpoint")->required();
  app.add_option("-o,--output", output, "the report to write (default: RUN_DIR/audit.html, or the checkpoint's path with .html)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    const cherry::audit::AuditData data = cherry::audit::read_audit_input(input);
    if (output.empty())
      output = data.from_checkpoint ? std::filesystem::path(input).replace_extension(".html").string()
                                    : (std::filesystem::path(input) / "audit.html").string();
    check_output(input, output);
    std::vector<std::string> ids;
    const std::string html = cherry::audit::render_report(data, &ids);
    cherry::write_file_atomic(output, html);
    std::string sections;
    for (const std::string& id : ids) sections += (sections.empty() ? "" : ", ") + id;
    std::printf("wrote %s (%.0f KB): %s\n", output.c_str(), double(html.size()) / 1024.0, sections.c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
