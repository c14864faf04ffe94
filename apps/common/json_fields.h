// Reading the fields of one JSON record with errors that name the field: the helpers behind every
// record's from_json (apps/common/run_records.h) and the audit's other readers. `where` says where
// the object sits ("layer 'conv_a'", "layers[2]", a file, or "" at the top of a record); a missing
// key, a wrong type or a bad value throws cherry::Error("record", "<where>: <what>"), and
// read_record() puts the file and line in front. A null value reads as an absent key.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.h"

namespace cherry {

[[noreturn]] void record_error(const std::string& where, const std::string& what);
std::string precise(double v);  // "%.12g": enough digits to show why a check failed

const nlohmann::json* find_field(const nlohmann::json& j, const char* key);
double as_number(const nlohmann::json& v, const char* key, const std::string& where);
int64_t as_integer(const nlohmann::json& v, const char* key, const std::string& where);

double need_number(const nlohmann::json& j, const char* key, const std::string& where);
int64_t need_integer(const nlohmann::json& j, const char* key, const std::string& where);
std::string need_string(const nlohmann::json& j, const char* key, const std::string& where);
const nlohmann::json& need_array(const nlohmann::json& j, const char* key, const std::string& where);
std::optional<double> opt_number(const nlohmann::json& j, const char* key, const std::string& where);
std::optional<int64_t> opt_integer(const nlohmann::json& j, const char* key, const std::string& where);

template <class T> std::vector<T> opt_vector(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json* v = find_field(j, key);
  if (!v) return {};
  if (!v->is_array()) record_error(where, cat("'", key, "' must be an array, got ", v->dump()));
  std::vector<T> out;
  for (const nlohmann::json& e : *v) {
    if constexpr (std::is_integral_v<T>) out.push_back(as_integer(e, key, where));
    else out.push_back(as_number(e, key, where));
  }
  return out;
}

// How far a value computed in f64 and written with round-trip precision may be from its check
// (kappa = dynamic / entries, lambda_d + lambda_s = 2, ...).
inline constexpr double kExactTol = 1e-9;

// Fails unless v is in [0, 1] (within tol).
void check_fraction(std::optional<double> v, const char* what, const std::string& where, double tol = kExactTol);

// Calls fn(object, "file:line") for each non-blank line of a *.jsonl file; a line that is not one JSON
// object is a cherry::Error(op, "file:line: ...").
void for_each_jsonl(const std::string& path, const std::string& op, const std::function<void(const nlohmann::json&, const std::string&)>& fn);
nlohmann::json read_json_file(const std::string& path, const std::string& op);

// j.get<T>() with `where` (a file, or file:line) in front of any error, rethrown as cherry::Error(op, ...).
template <class T> T read_record(const nlohmann::json& j, const std::string& where, const std::string& op = "record") {
  try {
    return j.get<T>();
  } catch (const Error& e) {
    throw Error(op, cat(where, ": ", e.message()));
  } catch (const nlohmann::json::exception& e) {
    throw Error(op, cat(where, ": ", e.what()));
  }
}

}  // namespace cherry
