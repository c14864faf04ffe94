#include "core/error.h"

namespace cherry {

static std::string format_error(const std::string& op, const std::string& msg, const SourceLocation& loc) {
  std::string file = loc.file;
  if (auto p = file.rfind("/core/"); p != std::string::npos) file = file.substr(p + 1);
  else if (auto q = file.find_last_of('/'); q != std::string::npos) file = file.substr(q + 1);
  return cat(op, ": ", msg, " [", file, ":", loc.line, "]");
}

Error::Error(std::string op, std::string msg, SourceLocation loc)
    : std::runtime_error(format_error(op, msg, loc)), op_(std::move(op)), msg_(std::move(msg)),
      file_(loc.file), line_(loc.line) {}

std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace cherry
