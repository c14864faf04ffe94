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

// Header-only, so the backends (below core) throw it without linking core.
class Error : public std::runtime_error {
 public:
  Error(std::string op, std::string msg, SourceLocation loc = SourceLocation::current())
      : std::runtime_error(format(op, msg, loc)), op_(std::move(op)), msg_(std::move(msg)), file_(loc.file), line_(loc.line) {}
  const std::string& op() const { return op_; }
  const std::string& message() const { return msg_; }
  const char* file() const { return file_; }
  int line() const { return line_; }

 private:
  static std::string format(const std::string& op, const std::string& msg, const SourceLocation& loc);
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

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// "op: message [file:line]", the file relative to the source tree.
inline std::string Error::format(const std::string& op, const std::string& msg, const SourceLocation& loc) {
  std::string file = loc.file;
  if (auto p = file.rfind("/core/"); p != std::string::npos) file = file.substr(p + 1);
  else if (auto q = file.find_last_of('/'); q != std::string::npos) file = file.substr(q + 1);
  return cat(op, ": ", msg, " [", file, ":", loc.line, "]");
}

}  // namespace cherry

// CHERRY_CHECK(cond, op, parts...): throw cherry::Error(op, cat(parts...)) when cond is false.
#define CHERRY_CHECK(cond, op, ...)                                                   \
  do {                                                                                \
    if (!(cond)) [[unlikely]]                                                         \
      throw ::cherry::Error((op), ::cherry::cat(__VA_ARGS__), ::cherry::SourceLocation::current()); \
  } while (0)
