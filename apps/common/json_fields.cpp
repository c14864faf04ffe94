#include "apps/common/json_fields.h"

#include <cmath>
#include <cstdio>
#include <fstream>

namespace cherry {

void record_error(const std::string& where, const std::string& what) { throw Error("record", where.empty() ? what : cat(where, ": ", what)); }

std::string precise(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return buf;
}

const nlohmann::json* find_field(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double as_number(const nlohmann::json& v, const char* key, const std::string& where) {
  if (!v.is_number()) record_error(where, cat("'", key, "' must be a number, got ", v.dump()));
  return v.get<double>();
}

int64_t as_integer(const nlohmann::json& v, const char* key, const std::string& where) {
  const double d = as_number(v, key, where);
  if (d != std::floor(d) || std::abs(d) > 9e15) record_error(where, cat("'", key, "' must be an integer, got ", v.dump()));
  return int64_t(d);
}

double need_number(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  if (!v) record_error(where, cat("missing key '", key, "'"));
  return as_number(*v, key, where);
}

int64_t need_integer(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  if (!v) record_error(where, cat("missing key '", key, "'"));
  return as_integer(*v, key, where);
}

std::string need_string(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  if (!v || !v->is_string()) record_error(where, cat("missing string '", key, "'"));
  return v->get<std::string>();
}

const nlohmann::json& need_array(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  if (!v || !v->is_array()) record_error(where, cat("missing array '", key, "'"));
  return *v;
}

std::optional<double> opt_number(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  return v ? std::optional<double>(as_number(*v, key, where)) : std::nullopt;
}

std::optional<int64_t> opt_integer(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  return v ? std::optional<int64_t>(as_integer(*v, key, where)) : std::nullopt;
}

void check_fraction(std::optional<double> v, const char* what, const std::string& where, double tol) {
  if (v && !(*v >= -tol && *v <= 1 + tol)) record_error(where, cat(what, " must be in [0, 1], got ", precise(*v)));
}

void for_each_jsonl(const std::string& path, const std::string& op, const std::function<void(const nlohmann::json&, const std::string&)>& fn) {
  std::ifstream in(path);
  if (!in) throw Error(op, cat(path, ": cannot be read"));
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = cat(path, ":", n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      const bool last_unterminated = in.eof();  // no newline after it: the writer may have been killed mid-line
      throw Error(op, cat(where, ": not valid JSON (", e.what(), ")",
                          last_unterminated ? "; an unterminated last line: was the run killed while writing it?" : ""));
    }
    if (!j.is_object()) throw Error(op, cat(where, ": expected one JSON object per line"));
    fn(j, where);
  }
}

nlohmann::json read_json_file(const std::string& path, const std::string& op) {
  std::ifstream in(path);
  if (!in) throw Error(op, cat(path, ": cannot be read"));
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(op, cat(path, ": not valid JSON (", e.what(), ")"));
  }
}

}  // namespace cherry
