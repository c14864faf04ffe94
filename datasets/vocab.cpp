// vocab.txt parsing. Stricter than HF, which would silently give a blank line or a byte-order mark an
// id and keep the last of two duplicate tokens: each of those is almost always a damaged file.
#include "datasets/vocab.h"

#include "core/error.h"
#include "datasets/dataset.h"
#include "datasets/unicode_text.h"

namespace cherry {

namespace {
constexpr const char* kOp = "Vocab";
}

Vocab Vocab::parse(std::string_view bytes, const std::string& name, const std::vector<std::string>& required) {
  CHERRY_CHECK(!bytes.empty(), kOp, name, ": the vocabulary file is empty");
  CHERRY_CHECK(!bytes.starts_with("\xEF\xBB\xBF"), kOp, name,
               ": starts with a UTF-8 byte-order mark, which would become part of the first token; save it without one");
  Vocab v;
  v.name_ = name;
  size_t pos = 0;
  int64_t line = 0;
  while (pos < bytes.size()) {
    ++line;
    const size_t end = bytes.find_first_of("\r\n", pos);
    const std::string_view tok = bytes.substr(pos, end == std::string_view::npos ? std::string_view::npos : end - pos);
    pos = end == std::string_view::npos ? bytes.size() : end + (bytes.compare(end, 2, "\r\n") == 0 ? 2 : 1);

    CHERRY_CHECK(!tok.empty(), kOp, name, ":", line, ": blank line (one token per line; the line number is its id)");
    const size_t bad = find_invalid_utf8(tok);
    CHERRY_CHECK(bad == std::string_view::npos, kOp, name, ":", line, ": invalid UTF-8 at byte ", bad + 1, " of the token");
    const auto [it, fresh] = v.ids_.emplace(std::string(tok), int64_t(v.tokens_.size()));
    CHERRY_CHECK(fresh, kOp, name, ":", line, ": duplicate token '", tok, "' (first on line ", it->second + 1, ")");
    v.tokens_.emplace_back(tok);
  }
  for (const std::string& r : required)
    CHERRY_CHECK(v.find(r) >= 0, kOp, name, ": required token ", r, " is missing (", v.size(), " tokens read)");
  return v;
}

Vocab Vocab::read(const std::string& path, const std::vector<std::string>& required) {
  const std::vector<uint8_t> bytes = read_file_bytes(path, kOp);
  return parse(std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size()), path, required);
}

const std::string& Vocab::token(int64_t id) const {
  CHERRY_CHECK(id >= 0 && id < size(), kOp, name_, ": id ", id, " is out of range [0, ", size(), ")");
  return tokens_[size_t(id)];
}

int64_t Vocab::find(std::string_view token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? -1 : it->second;
}

int64_t Vocab::id(std::string_view token) const {
  const int64_t i = find(token);
  CHERRY_CHECK(i >= 0, kOp, name_, ": token '", token, "' is not in the vocabulary");
  return i;
}

}  // namespace cherry
