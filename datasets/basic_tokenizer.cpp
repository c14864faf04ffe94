// The order of the steps is HF's: cleaning and CJK spacing on the whole text, NFC, a whitespace
// split, then lower-casing, accent stripping and the punctuation split per word. Lower-casing per
// word matters: Python's final-sigma rule looks at the neighbours within the word.
#include "datasets/basic_tokenizer.h"

#include <algorithm>

#include "datasets/unicode_text.h"

namespace cherry {

namespace {

std::u32string clean_and_space_cjk(std::u32string_view text, bool space_cjk) {
  std::u32string out;
  out.reserve(text.size());
  for (char32_t c : text) {
    if (c == 0 || c == 0xFFFD || is_bert_control(c)) continue;
    if (is_bert_whitespace(c)) {
      out.push_back(U' ');
    } else if (space_cjk && is_cjk_ideograph(c)) {
      out.push_back(U' ');
      out.push_back(c);
      out.push_back(U' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

// Python's str.split() with no argument: runs of whitespace separate, no empty words.
std::vector<std::u32string> split_whitespace(std::u32string_view s) {
  std::vector<std::u32string> words;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && is_python_space(s[i])) ++i;
    const size_t start = i;
    while (i < s.size() && !is_python_space(s[i])) ++i;
    if (i > start) words.emplace_back(s.substr(start, i - start));
  }
  return words;
}

// Every punctuation character becomes a word of its own; the rest stays together.
void split_punctuation(std::u32string_view word, std::vector<std::u32string>& out) {
  bool start_new = true;
  for (char32_t c : word) {
    if (is_bert_punctuation(c)) {
      out.emplace_back(1, c);
      start_new = true;
    } else {
      if (start_new) out.emplace_back();
      start_new = false;
      out.back().push_back(c);
    }
  }
}

}  // namespace

std::vector<std::u32string> basic_tokenize(std::u32string_view text, const BasicTokenizerOptions& options,
                                           const std::vector<std::u32string>& never_split) {
  const bool strip = options.strip_accents.value_or(options.do_lower_case);
  const std::u32string cleaned = nfc(clean_and_space_cjk(text, options.tokenize_chinese_chars));
  std::vector<std::u32string> out;
  for (std::u32string& word : split_whitespace(cleaned)) {
    if (std::find(never_split.begin(), never_split.end(), word) != never_split.end()) {
      out.push_back(std::move(word));
      continue;
    }
    if (options.do_lower_case) word = python_lower(word);
    if (strip) word = strip_accents(word);
    // A word of combining marks alone is empty now; HF's final whitespace split drops it. The
    // pieces contain no whitespace: they came out of a whitespace split and NFD adds none.
    if (word.empty()) continue;
    // HF checks never_split again on the lower-cased word before splitting off punctuation.
    if (std::find(never_split.begin(), never_split.end(), word) != never_split.end()) out.push_back(std::move(word));
    else split_punctuation(word, out);
  }
  return out;
}

}  // namespace cherry
