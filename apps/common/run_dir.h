// The run directory every app writes: config.json, metrics.jsonl (one object per logged step),
// summary.csv (one row per epoch), eval_results.json, checkpoints/. Created fresh (timestamped by
// default), refusing to reuse a non-empty folder unless overwriting or resuming. --overwrite deletes
// only a Cherry run directory, and in it only the apps' own files; anything else is refused or kept.
#pragma once
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace cherry {

class RunDir {
 public:
  // eval: the record of an --eval-only of an existing run (RUN/eval_only), replacing the previous one.
  enum class Mode { fresh, overwrite, resume, eval };
  RunDir(std::string path, Mode mode);
  static std::string default_path(const std::string& app);  // runs/<app>-YYYYmmdd-HHMMSS

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::string checkpoints() const { return file("checkpoints"); }

  void write_json(const std::string& name, const nlohmann::json& j) const;  // atomic
  void append_metrics(const nlohmann::json& j) { append_jsonl("metrics.jsonl", j); }
  // One JSON object per line, flushed; the file is truncated on first use unless resuming.
  void append_jsonl(const std::string& name, const nlohmann::json& j);
  // summary.csv: the header is written once; rows keep the header's column order.
  void append_summary(const std::vector<std::pair<std::string, std::string>>& row);
  // Resuming: drops the records a killed run wrote after the checkpoint being resumed, so the logs
  // read as one uninterrupted run. Each *.jsonl record and summary.csv row with a "step" is kept
  // when keep(file name, step) says so; records without one are kept; lines cut short by the kill
  // go. Returns how many records went.
  int64_t rewind(const std::function<bool(const std::string& file, int64_t step)>& keep);

 private:
  std::string path_;
  Mode mode_;
  std::map<std::string, std::ofstream> jsonl_;
  std::ofstream summary_;
  std::vector<std::string> summary_columns_;
};

}  // namespace cherry
