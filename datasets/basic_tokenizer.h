// BERT's basic tokenizer, step for step as Hugging Face's BasicTokenizer (the slow Python one): drop
// NUL, U+FFFD and control characters and turn whitespace into spaces; put spaces around CJK
// ideographs; NFC; split on whitespace; per word lower-case and strip accents (NFD, drop Mn); split
// off every punctuation character. Words in `never_split` are kept whole and unchanged. Output is the
// list of words WordPiece then splits. Not here: vocabulary lookup and WordPiece (bert_tokenizer.h).
#pragma once
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cherry {

struct BasicTokenizerOptions {
  bool do_lower_case = true;
  std::optional<bool> strip_accents;  // unset: strip exactly when lower-casing (HF's default)
  bool tokenize_chinese_chars = true;
};

// `never_split` is searched linearly: it holds a handful of special tokens.
std::vector<std::u32string> basic_tokenize(std::u32string_view text, const BasicTokenizerOptions& options,
                                           const std::vector<std::u32string>& never_split = {});

}  // namespace cherry
