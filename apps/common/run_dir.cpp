#include "apps/common/run_dir.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <iterator>
#include <optional>
#include <sstream>

#include "apps/common/atomic_file.h"
#include "core/error.h"

namespace cherry {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> csv_cells(const std::string& row) {  // summary.csv holds no quoted commas
  std::vector<std::string> cells;
  std::stringstream ss(row);
  for (std::string c; std::getline(ss, c, ',');) cells.push_back(c);
  return cells;
}

}  // namespace

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
    std::string header;
    std::getline(in, header);
    summary_columns_ = csv_cells(header);
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

namespace {

// The file's complete lines: a last line without its newline was cut short by a kill and is left out.
std::vector<std::string> complete_lines(const std::string& path, int64_t& dropped) {
  std::ifstream in(path, std::ios::binary);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  size_t begin = 0;
  for (size_t end; (end = text.find('\n', begin)) != std::string::npos; begin = end + 1) lines.push_back(text.substr(begin, end - begin));
  if (begin < text.size()) ++dropped;
  return lines;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

std::optional<int64_t> integer(const std::string& s) {
  int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

int64_t RunDir::rewind(const std::function<bool(const std::string& file, int64_t step)>& keep) {
  jsonl_.clear();  // closed; reopened (appending) on next use
  summary_.close();
  int64_t dropped = 0;
  std::vector<fs::path> logs;  // listed first: rewriting a file while iterating the folder may list it twice
  for (const auto& entry : fs::directory_iterator(path_))
    if (entry.is_regular_file() && entry.path().extension() == ".jsonl") logs.push_back(entry.path());
  for (const fs::path& log : logs) {
    const std::string name = log.filename().string();
    std::vector<std::string> kept;
    for (const auto& line : complete_lines(log.string(), dropped)) {
      const auto j = nlohmann::json::parse(line, nullptr, false);
      const bool after = j.is_object() && j.contains("step") && j["step"].is_number_integer() && !keep(name, j["step"].get<int64_t>());
      if (j.is_object() && !after) kept.push_back(line);
      else ++dropped;
    }
    write_file_atomic(log.string(), joined(kept));
  }
  const std::string csv = file("summary.csv");
  std::vector<std::string> rows = complete_lines(csv, dropped), kept;
  const auto step_col = size_t(std::find(summary_columns_.begin(), summary_columns_.end(), "step") - summary_columns_.begin());
  for (size_t i = 0; i < rows.size(); ++i) {
    const std::vector<std::string> cells = csv_cells(rows[i]);
    if (i == 0 || step_col >= cells.size()) {  // the header, or a row without a step
      kept.push_back(rows[i]);
      continue;
    }
    const std::optional<int64_t> step = integer(cells[step_col]);
    if (step && keep("summary.csv", *step)) kept.push_back(rows[i]);
    else ++dropped;
  }
  if (fs::exists(csv)) write_file_atomic(csv, joined(kept));
  if (kept.empty()) summary_columns_.clear();  // the header is written again
  summary_.open(csv, std::ios::out | std::ios::app);
  CHERRY_CHECK(summary_.good(), "run-dir", "cannot write ", csv);
  return dropped;
}

}  // namespace cherry
