#include "apps/common/run_dir.h"

#include <chrono>
#include <ctime>
#include <filesystem>
#include <sstream>

#include "apps/common/atomic_file.h"
#include "core/error.h"

namespace cherry {

namespace fs = std::filesystem;

std::string RunDir::default_path(const std::string& app) {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%d-%H%M%S", std::localtime(&t));
  return "runs/" + app + "-" + buf;
}

RunDir::RunDir(std::string path, Mode mode) : path_(std::move(path)) {
  std::error_code ec;
  const bool exists = fs::exists(path_, ec);
  if (exists && mode == Mode::fresh && !fs::is_empty(path_, ec))
    throw Error("run-dir", cat("'", path_, "' already exists and is not empty; pass --overwrite to replace it or --resume auto to continue it"));
  if (exists && mode == Mode::overwrite) fs::remove_all(path_, ec);
  CHERRY_CHECK(!ec, "run-dir", "cannot clear '", path_, "': ", ec.message());
  fs::create_directories(fs::path(path_) / "checkpoints", ec);
  CHERRY_CHECK(!ec, "run-dir", "cannot create '", path_, "': ", ec.message());
  const auto flags = mode == Mode::resume ? std::ios::app : std::ios::trunc;
  mode_ = mode;
  append_jsonl("metrics.jsonl", nullptr);  // created now, so an early failure leaves it in place
  const bool had_summary = mode == Mode::resume && fs::exists(file("summary.csv")) && fs::file_size(file("summary.csv")) > 0;
  summary_.open(file("summary.csv"), std::ios::out | flags);
  CHERRY_CHECK(summary_.good(), "run-dir", "cannot write ", file("summary.csv"));
  if (had_summary) {  // keep the existing header's column order
    std::ifstream in(file("summary.csv"));
    std::string header, col;
    std::getline(in, header);
    std::stringstream ss(header);
    while (std::getline(ss, col, ',')) summary_columns_.push_back(col);
  }
}

void RunDir::write_json(const std::string& name, const nlohmann::json& j) const { write_file_atomic(file(name), j.dump(2) + "\n"); }

void RunDir::append_jsonl(const std::string& name, const nlohmann::json& j) {
  auto it = jsonl_.find(name);
  if (it == jsonl_.end()) {
    it = jsonl_.emplace(name, std::ofstream(file(name), std::ios::out | (mode_ == Mode::resume ? std::ios::app : std::ios::trunc))).first;
    CHERRY_CHECK(it->second.good(), "run-dir", "cannot write ", file(name));
  }
  if (j.is_null()) return;
  it->second << j.dump() << "\n";
  it->second.flush();
}

void RunDir::append_summary(const std::vector<std::pair<std::string, std::string>>& row) {
  if (summary_columns_.empty()) {
    for (size_t i = 0; i < row.size(); ++i) {
      summary_columns_.push_back(row[i].first);
      summary_ << (i ? "," : "") << row[i].first;
    }
    summary_ << "\n";
  }
  for (size_t i = 0; i < summary_columns_.size(); ++i) {
    std::string v;
    for (const auto& [k, val] : row)
      if (k == summary_columns_[i]) v = val;
    summary_ << (i ? "," : "") << v;
  }
  summary_ << "\n";
  summary_.flush();
}

}  // namespace cherry
