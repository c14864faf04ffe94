// The apps' string-valued choices (--conv, --ffn, --imp-scorer, --device, ...) are enums inside the
// code. Each enum lists its values with their names once, in a `names_of(E)` table declared beside
// the enum and found by argument-dependent lookup; to_string, parse_choice, the command-line option
// (add_choice) and config.json all read that table, so a name is spelled in one place.
#pragma once
#include <CLI/CLI.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

#include "core/error.h"

namespace cherry {

template <class E>
concept NamedChoice = std::is_enum_v<E> && requires(E e) { names_of(e); };

template <NamedChoice E> std::string to_string(E e) {
  for (const auto& [value, name] : names_of(e))
    if (value == e) return std::string(name);
  throw Error("choice", cat("value ", static_cast<int64_t>(e), " is missing from its names table"));
}

// The names in table order, joined: "a, b or c" (messages) or "a,b,c" (with sep "," and last ",").
template <NamedChoice E> std::string choice_names(const char* sep = ", ", const char* last = " or ") {
  const auto& table = names_of(E{});
  std::string s;
  for (size_t i = 0; i < table.size(); ++i) s += (i == 0 ? "" : i + 1 == table.size() ? last : sep) + std::string(table[i].second);
  return s;
}

template <NamedChoice E> std::optional<E> find_choice(std::string_view name) {
  for (const auto& [value, n] : names_of(E{}))
    if (n == name) return value;
  return std::nullopt;
}

// `what` names the choice in the error: "unknown scorer 'taylor' (expected grad, random or magnitude)".
template <NamedChoice E> E parse_choice(std::string_view name, const std::string& what) {
  if (auto e = find_choice<E>(name)) return *e;
  throw Error(what, cat("unknown ", what, " '", name, "' (expected ", choice_names<E>(), ")"));
}

// An option taking one of E's names. --help shows them as CLI::IsMember does ("TEXT:{a,b,c}=a"),
// and a wrong value is the same error ("x not in {a,b,c}"). CLI11 only ever sees the name (its own
// enum handling would accept the enum's number too, and its to_string would clash with ours).
template <NamedChoice E> CLI::Option* add_choice(CLI::App& app, const std::string& flag, E& value, const std::string& help) {
  const std::string set = "{" + choice_names<E>(",", ",") + "}";
  CLI::Validator is_name([set](std::string& input) { return find_choice<E>(input) ? std::string() : input + " not in " + set; }, set);
  return app.add_option_function<std::string>(flag, [&value](const std::string& name) { value = *find_choice<E>(name); }, help)
      ->check(is_name)
      ->default_str(to_string(value));
}

}  // namespace cherry
