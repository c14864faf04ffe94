// cherry::Error: the one exception type of the library. It carries the op, a message that names
// shapes/dtypes/files, and the source location. Library code never exits or aborts.
#pragma once
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace cherry {

// Where an error was raised. Own type (not std::source_location) because clang 14, used for the
// fuzz build, lacks the builtin libstdc++'s <source_location> needs; gcc and clang both have these.
struct SourceLocation {
  const char* file = "";
  int line = 0;
  static constexpr SourceLocation current(const char* file = __builtin_FILE(), int line = __builtin_LINE()) { return {file, line}; }
};

class Error : public std::runtime_error {
 public:
  Error(std::string op, std::string msg, SourceLocation loc = SourceLocation::current());
  const std::string& op() const { return op_; }
  const std::string& message() const { return msg_; }
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  std::string op_, msg_;
  const char* file_;
  int line_;
};

// Concatenate anything streamable: cat("shape ", s, " vs ", t).
template <class... Args> std::string cat(const Args&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}

std::string shape_str(const std::vector<int64_t>& shape);

}  // namespace cherry

// CHERRY_CHECK(cond, op, parts...): throw cherry::Error(op, cat(parts...)) when cond is false.
#define CHERRY_CHECK(cond, op, ...)                                                   \
  do {                                                                                \
    if (!(cond)) [[unlikely]]                                                         \
      throw ::cherry::Error((op), ::cherry::cat(__VA_ARGS__), ::cherry::SourceLocation::current()); \
  } while (0)
