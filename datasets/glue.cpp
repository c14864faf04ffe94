// GLUE TSV parsing: one column layout per (task, split), a strict line splitter, and HF's label ids.
// The layouts and counts are those of the official GLUE release (checked against ../shared/data/glue
// and the GLUE paper's table 1; HF's datasets glue builder has the same counts).
#include "datasets/glue.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/unicode_text.h"

namespace cherry {

namespace {

constexpr const char* kOp = "read_glue";

const GlueTaskInfo kTasks[] = {
    {GlueTask::cola, "cola", "CoLA", false, false, {"0", "1"}, {8551, 1043, 1063}},
    {GlueTask::sst2, "sst2", "SST-2", false, false, {"0", "1"}, {67349, 872, 1821}},
    {GlueTask::mrpc, "mrpc", "MRPC", true, false, {"0", "1"}, {3668, 408, 1725}},
    {GlueTask::stsb, "stsb", "STS-B", true, true, {}, {5749, 1500, 1379}},
    {GlueTask::rte, "rte", "RTE", true, false, {"entailment", "not_entailment"}, {2490, 277, 3000}},
};

// Where each field sits in a row; -1: not in this file.
struct Layout {
  std::vector<std::string_view> header;  // empty: the file has none (CoLA train/dev)
  size_t columns;
  int index, text_a, text_b, label;
};

Layout layout_of(GlueTask task, GlueSplit split) {
  const bool test = split == GlueSplit::test;
  switch (task) {
    case GlueTask::cola:  // source, label, original annotation, sentence
      return test ? Layout{{"index", "sentence"}, 2, 0, 1, -1, -1} : Layout{{}, 4, -1, 3, -1, 1};
    case GlueTask::sst2:
      return test ? Layout{{"index", "sentence"}, 2, 0, 1, -1, -1} : Layout{{"sentence", "label"}, 2, -1, 0, -1, 1};
    case GlueTask::mrpc:
      return test ? Layout{{"index", "#1 ID", "#2 ID", "#1 String", "#2 String"}, 5, 0, 3, 4, -1}
                  : Layout{{"Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"}, 5, -1, 3, 4, 0};
    case GlueTask::stsb: {
      std::vector<std::string_view> h{"index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"};
      if (test) return Layout{h, 9, 0, 7, 8, -1};
      h.push_back("score");
      return Layout{h, 10, -1, 7, 8, 9};
    }
    case GlueTask::rte:
      return test ? Layout{{"index", "sentence1", "sentence2"}, 3, 0, 1, 2, -1}
                  : Layout{{"index", "sentence1", "sentence2", "label"}, 4, -1, 1, 2, 3};
  }
  throw Error(kOp, "unknown GLUE task");
}

std::vector<std::string_view> split_tabs(std::string_view line) {
  std::vector<std::string_view> cols;
  size_t start = 0;
  for (;;) {
    const size_t tab = line.find('\t', start);
    cols.push_back(line.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
    if (tab == std::string_view::npos) return cols;
    start = tab + 1;
  }
}

std::string join(const std::vector<std::string_view>& cols, std::string_view sep) {
  std::string s;
  for (size_t i = 0; i < cols.size(); ++i) s += cat(i ? sep : "", cols[i]);
  return s;
}

std::string_view shorten(std::string_view s) { return s.size() > 60 ? s.substr(0, 60) : s; }

}  // namespace

const GlueTaskInfo& glue_task_info(GlueTask task) {
  for (const GlueTaskInfo& t : kTasks)
    if (t.task == task) return t;
  throw Error(kOp, "unknown GLUE task");
}

GlueTask parse_glue_task(std::string_view name) {
  std::string key;
  for (char c : name)
    if (c != '-' && c != '_') key += char(std::tolower(static_cast<unsigned char>(c)));
  for (const GlueTaskInfo& t : kTasks)
    if (key == t.name) return t.task;
  throw Error(kOp, cat("unknown GLUE task '", name, "' (known: cola, sst2, mrpc, stsb, rte)"));
}

std::string_view glue_split_name(GlueSplit split) {
  switch (split) {
    case GlueSplit::train: return "train";
    case GlueSplit::dev: return "dev";
    case GlueSplit::test: return "test";
  }
  return "?";
}

std::vector<GlueExample> parse_glue_tsv(GlueTask task, GlueSplit split, std::string_view bytes, const std::string& name) {
  const GlueTaskInfo& info = glue_task_info(task);
  const Layout layout = layout_of(task, split);
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);  // MRPC's files start with one

  std::vector<GlueExample> out;
  size_t pos = 0;
  for (int64_t line_no = 1; pos < bytes.size(); ++line_no) {
    const size_t nl = bytes.find('\n', pos);
    std::string_view line = bytes.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (line.ends_with('\r')) line.remove_suffix(1);
    const std::string where = cat(name, ":", line_no);

    CHERRY_CHECK(!line.empty(), kOp, where, ": blank line");
    const size_t bad = find_invalid_utf8(line);
    CHERRY_CHECK(bad == std::string_view::npos, kOp, where, ": invalid UTF-8 at byte ", bad + 1, " of the line");
    const std::vector<std::string_view> cols = split_tabs(line);
    if (line_no == 1 && !layout.header.empty()) {
      CHERRY_CHECK(cols == layout.header, kOp, where, ": expected the ", info.folder, " ", glue_split_name(split), " header '",
                   join(layout.header, "\\t"), "', found '", shorten(join(cols, "\\t")), "'");
      continue;
    }
    CHERRY_CHECK(cols.size() == layout.columns, kOp, where, ": expected ", layout.columns, " tab-separated columns, found ",
                 cols.size(), " (a truncated or reformatted row?)");

    GlueExample ex;
    ex.index = int64_t(out.size());
    if (layout.index >= 0) {
      const std::string_view s = cols[size_t(layout.index)];
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ex.index);
      CHERRY_CHECK(ec == std::errc() && end == s.data() + s.size() && ex.index >= 0, kOp, where, ": index '", shorten(s),
                   "' is not a non-negative integer");
    }
    ex.text_a = cols[size_t(layout.text_a)];
    if (layout.text_b >= 0) ex.text_b = cols[size_t(layout.text_b)];
    if (layout.label >= 0) {
      const std::string_view s = cols[size_t(layout.label)];
      if (info.regression) {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ex.score);
        CHERRY_CHECK(ec == std::errc() && end == s.data() + s.size() && ex.score >= 0 && ex.score <= 5, kOp, where,
                     ": score '", shorten(s), "' is not a number in [0, 5]");
      } else {
        const auto it = std::find(info.label_names.begin(), info.label_names.end(), s);
        CHERRY_CHECK(it != info.label_names.end(), kOp, where, ": label '", shorten(s), "' is not one of ",
                     join(info.label_names, ", "));
        ex.label = int64_t(it - info.label_names.begin());
      }
    }
    out.push_back(std::move(ex));
  }
  CHERRY_CHECK(!out.empty(), kOp, name, ": no examples");
  return out;
}

GlueData read_glue_file(GlueTask task, GlueSplit split, const std::string& path) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, kOp);
  GlueData d{task, split, path, {}};
  d.examples = parse_glue_tsv(task, split, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path);
  return d;
}

std::string glue_file_path(GlueTask task, GlueSplit split, const std::string& glue_dir) {
  const std::filesystem::path dir = glue_dir.empty() ? std::filesystem::path(default_data_dir()) / "glue" : std::filesystem::path(glue_dir);
  return (dir / glue_task_info(task).folder / cat(glue_split_name(split), ".tsv")).string();
}

GlueData read_glue(GlueTask task, GlueSplit split, const std::string& glue_dir) {
  const GlueTaskInfo& info = glue_task_info(task);
  const std::string path = glue_file_path(task, split, glue_dir);
  GlueData d = read_glue_file(task, split, path);
  const int64_t expected = info.official_rows[int(split)];
  CHERRY_CHECK(int64_t(d.examples.size()) == expected, kOp, path, ": ", d.examples.size(), " examples, but the official ",
               info.folder, " ", glue_split_name(split), " split has ", expected,
               " (an incomplete copy? read_glue_file reads a file without this check)");
  return d;
}

std::vector<Encoding> encode_glue(const BertTokenizer& tokenizer, const GlueData& data, int64_t max_length) {
  const bool pair = glue_task_info(data.task).pair;
  std::vector<Encoding> out;
  out.reserve(data.examples.size());
  for (const GlueExample& ex : data.examples)
    out.push_back(pair ? tokenizer.encode_pair(ex.text_a, ex.text_b, max_length) : tokenizer.encode(ex.text_a, max_length));
  return out;
}

Tensor glue_labels(const GlueData& data, std::span<const int64_t> indices) {
  CHERRY_CHECK(data.labelled(), "glue_labels", data.path, ": the test split has no labels");
  const bool regression = glue_task_info(data.task).regression;
  std::vector<int64_t> ids;
  std::vector<float> scores;
  for (int64_t i : indices) {
    CHERRY_CHECK(i >= 0 && i < int64_t(data.examples.size()), "glue_labels", "index ", i, " is out of range [0, ",
                 data.examples.size(), ")");
    const GlueExample& ex = data.examples[size_t(i)];
    if (regression) scores.push_back(float(ex.score));
    else ids.push_back(ex.label);
  }
  const int64_t n = int64_t(indices.size());
  return regression ? from_vector(scores, {n}) : from_vector(ids, {n});
}

}  // namespace cherry
