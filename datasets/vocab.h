// A WordPiece vocabulary (BERT's vocab.txt: one token per line, the line number is the id). Files
// are untrusted: a missing or empty file, malformed UTF-8, a byte-order mark, a blank line, a
// duplicate token or a missing required special token throws cherry::Error naming the file and the
// line. Line ends are "\n", "\r\n" or "\r", as Python's text mode reads them for HF. Not here: the
// tokenizer (bert_tokenizer.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cherry {

class Vocab {
 public:
  Vocab() = default;
  // `bytes` is the whole file; `name` names it in errors; every token in `required` must be present.
  static Vocab parse(std::string_view bytes, const std::string& name, const std::vector<std::string>& required);
  static Vocab read(const std::string& path, const std::vector<std::string>& required);

  int64_t size() const { return int64_t(tokens_.size()); }
  const std::string& token(int64_t id) const;  // throws for an id out of range
  int64_t find(std::string_view token) const;   // -1 when absent
  int64_t id(std::string_view token) const;     // throws when absent
  const std::string& name() const { return name_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::string name_;
  std::vector<std::string> tokens_;
  std::unordered_map<std::string, int64_t, Hash, std::equal_to<>> ids_;
};

}  // namespace cherry
