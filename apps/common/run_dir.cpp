#include "apps/common/run_dir.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
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

// write_file_atomic's "NAME.tmp.PID" and save_safetensors' ".NAME.tmp-PID-N".
bool is_temporary(const std::string& n) {
  return n.find(".tmp.") != std::string::npos || (n.starts_with(".") && n.find(".tmp-") != std::string::npos);
}

// The files an app writes into its run directory (and their temporaries): what --overwrite may delete.
bool ours(const fs::path& p, bool in_checkpoints) {
  const std::string n = p.filename().string();
  if (is_temporary(n)) return true;
  if (in_checkpoints)
    return n.ends_with(".safetensors") &&
           (n.starts_with("step-") || n.starts_with("crash-step-") || n == "last.safetensors" || n == "best.safetensors");
  return n == "config.json" || n == "summary.csv" || n == "eval_results.json" || n == "model.json" || n == "deploy.json" ||
         n == "dynamic_summary.json" || n == "audit.html" || n.ends_with(".jsonl") ||
         (n.starts_with("predict_results_") && n.ends_with(".txt"));
}

// A folder one of the apps made: its config.json is ours ("app" names the app; runs older than that
// marker are recognised by the keys every app has always written).
bool is_run_dir(const fs::path& dir) {
  std::ifstream in(dir / "config.json");
  if (!in) return false;
  const auto j = nlohmann::json::parse(in, nullptr, false);
  if (!j.is_object()) return false;
  return j.contains("app") || (j.contains("run_dir") && j.contains("seed") && j.contains("epochs") && j.contains("threads"));
}

// The entries of run directory `dir` that are not the apps' own files (checkpoints/ and eval_only/
// looked into); with `remove`, deletes the apps' own files and leaves the rest.
std::vector<std::string> foreign_entries(const fs::path& dir, bool remove) {
  std::vector<std::string> foreign;
  for (const fs::path& sub : {dir / "checkpoints", dir / "eval_only"}) {
    if (!fs::is_directory(sub)) continue;
    for (const auto& e : fs::directory_iterator(sub))
      if (!e.is_regular_file() || !ours(e.path(), sub.filename() == "checkpoints"))
        foreign.push_back(e.path().string());
      else if (remove)
        fs::remove(e.path());
    std::error_code ec;
    if (remove) fs::remove(sub, ec);  // only if now empty
  }
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename() == "checkpoints" || e.path().filename() == "eval_only") continue;
    if (!e.is_regular_file() || !ours(e.path(), false))
      foreign.push_back(e.path().string());
    else if (remove)
      fs::remove(e.path());
  }
  return foreign;
}

// Temporaries of a write that a kill interrupted (ours by their naming); a resumed run removes them.
int remove_stale_temporaries(const fs::path& dir) {
  int removed = 0;
  for (const fs::path& sub : {dir, dir / "checkpoints"}) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(sub, ec)) {
      if (is_temporary(e.path().filename().string()) && e.is_regular_file() && fs::remove(e.path(), ec)) ++removed;
    }
  }
  return removed;
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
  CHERRY_CHECK(!exists || fs::is_directory(path_), "run-dir", "'", path_, "' is a file, not a folder; choose another --run-dir");
  if (exists && mode == Mode::eval) foreign_entries(path_, true);  // a previous --eval-only's record
  if (exists && mode == Mode::overwrite && !fs::is_empty(path_, ec)) {
    // A run that failed before writing config.json left only the apps' own files: also ours to clear.
    CHERRY_CHECK(is_run_dir(path_) || foreign_entries(path_, false).empty(), "run-dir", "'", path_,
                 "' is not empty and not a Cherry run directory (no config.json written by an app), so --overwrite will not "
                 "delete anything in it; choose another --run-dir");
    try {
      const std::vector<std::string> left = foreign_entries(path_, true);
      if (!left.empty())
        std::printf("--overwrite: removed the previous run's files; kept %zu entries that are not Cherry's (e.g. %s)\n", left.size(),
                    left[0].c_str());
    } catch (const fs::filesystem_error& e) {
      throw Error("run-dir", cat("cannot clear the previous run in '", path_, "': ", e.what()));
    }
  }
  if (exists && mode == Mode::resume)
    if (const int n = remove_stale_temporaries(path_))
      std::printf("removed %d temporary file(s) an interrupted write left in %s\n", n, path_.c_str());
  fs::create_directories(mode == Mode::eval ? fs::path(path_) : fs::path(path_) / "checkpoints", ec);
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
