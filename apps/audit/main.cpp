// cherry_audit: one self-contained HTML report (inline SVG plots, no scripts) of a run directory
// or a checkpoint. Errors (missing input, corrupt or inconsistent records) exit non-zero.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "apps/audit/report.h"
#include "apps/common/atomic_file.h"
#include "apps/common/build_info.h"
#include "core/error.h"

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
    cherry::audit::check_report_output(input, output);
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
