// A user's text files for a GLUE task: three record readers (TSV, CSV, JSON lines) into rows of
// named cells, then one conversion of a row into a GlueExample with the task's label rules.
#include "datasets/text_files.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/unicode_text.h"

namespace cherry {

namespace {

constexpr const char* kOp = "text file";

struct Row {
  int64_t line;
  std::map<std::string, std::string> cells;
};

std::string_view shorten(std::string_view s) { return s.size() > 60 ? s.substr(0, 60) : s; }

// Calls f(line number, line without its "\n" or "\r\n") for each line; a blank line is an error.
template <class F>
void for_each_line(std::string_view bytes, const std::string& name, F&& f) {
  size_t pos = 0;
  for (int64_t line = 1; pos < bytes.size(); ++line) {
    const size_t nl = bytes.find('\n', pos);
    std::string_view l = bytes.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? bytes.size() : nl + 1;
    if (l.ends_with('\r')) l.remove_suffix(1);
    CHERRY_CHECK(!l.empty(), kOp, name, ":", line, ": blank line");
    f(line, l);
  }
}

// Header-and-rows formats: the first record names the columns, each later record must have as many.
std::vector<Row> named_rows(std::vector<std::pair<int64_t, std::vector<std::string>>> records, const std::string& name) {
  CHERRY_CHECK(!records.empty(), kOp, name, ": empty file (expected a header row naming the columns)");
  const std::vector<std::string> header = records[0].second;
  std::set<std::string_view> seen;
  for (const std::string& column : header)
    CHERRY_CHECK(seen.insert(column).second, kOp, name, ":1: column '", shorten(column), "' appears twice in the header");
  std::vector<Row> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    auto& [line, cells] = records[r];
    CHERRY_CHECK(cells.size() == header.size(), kOp, name, ":", line, ": ", cells.size(), " columns, but the header has ", header.size());
    Row row{line, {}};
    for (size_t i = 0; i < cells.size(); ++i) row.cells.emplace(header[i], std::move(cells[i]));
    rows.push_back(std::move(row));
  }
  return rows;
}

std::vector<std::pair<int64_t, std::vector<std::string>>> tsv_records(std::string_view bytes, const std::string& name) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> out;
  for_each_line(bytes, name, [&](int64_t line, std::string_view l) {
    std::vector<std::string> cells;
    for (size_t start = 0;;) {
      const size_t tab = l.find('\t', start);
      cells.emplace_back(l.substr(start, tab == std::string_view::npos ? std::string_view::npos : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    out.emplace_back(line, std::move(cells));
  });
  return out;
}

// RFC 4180: fields split by ','; a field in double quotes may hold ',', line breaks and '""' (one quote).
std::vector<std::pair<int64_t, std::vector<std::string>>> csv_records(std::string_view bytes, const std::string& name) {
  std::vector<std::pair<int64_t, std::vector<std::string>>> out;
  std::vector<std::string> fields;
  std::string field;
  bool in_quotes = false, quoted = false;
  int64_t line = 1, record_line = 1;
  auto end_record = [&] {
    fields.push_back(std::move(field));
    field.clear();
    CHERRY_CHECK(!(fields.size() == 1 && fields[0].empty() && !quoted), kOp, name, ":", record_line, ": blank line");
    out.emplace_back(record_line, std::move(fields));
    fields.clear();
    quoted = false;
  };
  for (size_t i = 0; i < bytes.size(); ++i) {
    const char c = bytes[i];
    if (in_quotes) {
      if (c == '"' && i + 1 < bytes.size() && bytes[i + 1] == '"')
        field += '"', ++i;
      else if (c == '"')
        in_quotes = false;
      else
        field += c, line += c == '\n';
      continue;
    }
    if (c == ',') {
      fields.push_back(std::move(field));
      field.clear();
      quoted = false;
    } else if (c == '\n' || (c == '\r' && i + 1 < bytes.size() && bytes[i + 1] == '\n')) {
      i += c == '\r';
      end_record();
      record_line = ++line;
    } else {
      CHERRY_CHECK(!quoted, kOp, name, ":", line, ": text after a closing quote (a quote inside a field is written \"\")");
      CHERRY_CHECK(c != '"' || field.empty(), kOp, name, ":", line, ": a quote inside an unquoted field (quote the whole field)");
      if (c == '"')
        in_quotes = quoted = true;
      else
        field += c;
    }
  }
  CHERRY_CHECK(!in_quotes, kOp, name, ":", record_line, ": a quoted field is not closed before the end of the file");
  if (!field.empty() || !fields.empty() || quoted) end_record();
  return out;
}

// JSON lines: each line one object; strings and numbers become cells (an integer label
// is an id: it becomes that label's name).
std::vector<Row> jsonl_rows(std::string_view bytes, const std::string& name, const GlueTaskInfo& info, const std::string& label) {
  std::vector<Row> rows;
  for_each_line(bytes, name, [&](int64_t line, std::string_view l) {
    const auto j = nlohmann::json::parse(l, nullptr, false);
    CHERRY_CHECK(j.is_object(), kOp, name, ":", line, ": not a JSON object");
    Row row{line, {}};
    for (const auto& [key, v] : j.items()) {
      if (key == label && v.is_number_integer() && !info.regression) {
        const int64_t id = v.get<int64_t>();
        CHERRY_CHECK(id >= 0 && id < info.num_labels(), kOp, name, ":", line, ": label id ", id, " is not in [0, ", info.num_labels(), ")");
        row.cells.emplace(key, std::string(info.label_names[size_t(id)]));
      } else if (v.is_string()) {
        row.cells.emplace(key, v.get<std::string>());
      } else if (v.is_number()) {
        row.cells.emplace(key, v.dump());
      }  // nested values: not a column we read
    }
    rows.push_back(std::move(row));
  });
  return rows;
}

}  // namespace

TextColumns default_text_columns(GlueTask task) {
  const bool pair = glue_task_info(task).pair;
  return {pair ? "sentence1" : "sentence", pair ? "sentence2" : "", "label", "idx"};
}

TextFormat text_format_of(const std::string& path) {
  std::string ext = std::filesystem::path(path).extension().string();
  for (char& c : ext) c = char(std::tolower(static_cast<unsigned char>(c)));
  if (ext == ".tsv") return TextFormat::tsv;
  if (ext == ".csv") return TextFormat::csv;
  if (ext == ".json" || ext == ".jsonl") return TextFormat::jsonl;
  throw Error(kOp, cat(path, ": unknown format '", ext, "' (expected .tsv, .csv, .json or .jsonl)"));
}

std::vector<GlueExample> parse_text_file(GlueTask task, GlueSplit split, TextFormat format, std::string_view bytes, const std::string& name,
                                         const TextColumns& requested) {
  const GlueTaskInfo& info = glue_task_info(task);
  const TextColumns defaults = default_text_columns(task);
  const TextColumns col{
      requested.text_a.empty() ? defaults.text_a : requested.text_a, requested.text_b.empty() ? defaults.text_b : requested.text_b,
      requested.label.empty() ? defaults.label : requested.label, requested.index.empty() ? defaults.index : requested.index};
  if (bytes.starts_with("\xEF\xBB\xBF")) bytes.remove_prefix(3);
  const size_t bad = find_invalid_utf8(bytes);
  CHERRY_CHECK(bad == std::string_view::npos, kOp, name, ": invalid UTF-8 at byte ", bad + 1);
  const std::vector<Row> rows = format == TextFormat::jsonl ? jsonl_rows(bytes, name, info, col.label)
                                : format == TextFormat::csv ? named_rows(csv_records(bytes, name), name)
                                                            : named_rows(tsv_records(bytes, name), name);
  std::vector<GlueExample> out;
  for (const Row& row : rows) {
    auto cell = [&](const std::string& column, bool required) -> const std::string* {
      const auto it = row.cells.find(column);
      CHERRY_CHECK(it != row.cells.end() || !required, kOp, name, ":", row.line, ": no column '", column, "' (", info.name, " reads ",
                   col.text_a, col.text_b.empty() ? "" : ", " + col.text_b, split == GlueSplit::test ? "" : ", " + col.label,
                   "; rename with --text-columns / --label-column)");
      return it == row.cells.end() ? nullptr : &it->second;
    };
    GlueExample ex;
    ex.index = int64_t(out.size());
    if (const std::string* s = cell(col.index, false)) {
      const auto [end, ec] = std::from_chars(s->data(), s->data() + s->size(), ex.index);
      CHERRY_CHECK(ec == std::errc() && end == s->data() + s->size() && ex.index >= 0, kOp, name, ":", row.line, ": ", col.index, " '",
                   shorten(*s), "' is not a non-negative integer");
    }
    ex.text_a = *cell(col.text_a, true);
    if (info.pair) ex.text_b = *cell(col.text_b, true);
    if (split != GlueSplit::test) {
      const std::string& s = *cell(col.label, true);
      if (info.regression) {
        const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), ex.score);
        CHERRY_CHECK(ec == std::errc() && end == s.data() + s.size() && ex.score >= 0 && ex.score <= 5, kOp, name, ":", row.line,
                     ": score '", shorten(s), "' is not a number in [0, 5]");
      } else {
        const auto it = std::find(info.label_names.begin(), info.label_names.end(), s);
        std::string names;
        for (auto n : info.label_names) names += cat(names.empty() ? "" : ", ", n);
        CHERRY_CHECK(it != info.label_names.end(), kOp, name, ":", row.line, ": label '", shorten(s), "' is not one of ", names);
        ex.label = int64_t(it - info.label_names.begin());
      }
    }
    out.push_back(std::move(ex));
  }
  CHERRY_CHECK(!out.empty(), kOp, name, ": no examples");
  return out;
}

GlueData read_text_file(GlueTask task, GlueSplit split, const std::string& path, const TextColumns& columns) {
  const TextFormat format = text_format_of(path);
  const std::vector<uint8_t> bytes = read_file_bytes(path, kOp);
  GlueData d{task, split, path, {}};
  d.examples =
      parse_text_file(task, split, format, std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path, columns);
  return d;
}

}  // namespace cherry
