// Python-compatible character classes, lower-casing and normalisation on top of utf8proc.
#include "datasets/unicode_text.h"

#include <utf8proc.h>

#include <algorithm>
#include <iterator>
#include <vector>

namespace cherry {

namespace {

utf8proc_category_t category(char32_t c) { return utf8proc_category(utf8proc_int32_t(c)); }

bool is_ascii(std::u32string_view s) {
  return std::all_of(s.begin(), s.end(), [](char32_t c) { return c < 0x80; });
}

// Python's _PyUnicode_IsCased: Unicode's derived property Cased (Lowercase | Uppercase | Lt).
// utf8proc has no such property; letters with a case category or a case mapping cover it except
// the Other_Lowercase/Other_Uppercase characters that have neither, listed here (Unicode 14/15).
bool is_cased(char32_t c) {
  const auto cat = category(c);
  if (cat == UTF8PROC_CATEGORY_LU || cat == UTF8PROC_CATEGORY_LL || cat == UTF8PROC_CATEGORY_LT) return true;
  const auto i = utf8proc_int32_t(c);
  if (utf8proc_tolower(i) != i || utf8proc_toupper(i) != i) return true;
  return c == 0xAA || c == 0xBA || (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) ||
         (c >= 0x1F170 && c <= 0x1F189);
}

// Python's _PyUnicode_IsCaseIgnorable: Unicode's Case_Ignorable = Mn | Me | Cf | Lm | Sk, plus the
// Word_Break classes MidLetter, MidNumLet and Single_Quote (the code points listed).
bool is_case_ignorable(char32_t c) {
  switch (category(c)) {
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK: return true;
    default: break;
  }
  constexpr char32_t kMidLetterMidNumLetSingleQuote[] = {0x27,   0x2E,   0x3A,   0xB7,   0x387,  0x55F,
                                                         0x5F4,  0x2018, 0x2019, 0x2024, 0x2027, 0xFE13,
                                                         0xFE52, 0xFE55, 0xFF07, 0xFF0E, 0xFF1A};
  return std::find(std::begin(kMidLetterMidNumLetSingleQuote), std::end(kMidLetterMidNumLetSingleQuote), c) !=
         std::end(kMidLetterMidNumLetSingleQuote);
}

// CPython's handle_capital_sigma: U+03A3 lowers to final sigma when a cased letter precedes it and
// none follows (case-ignorable characters in between are skipped on both sides).
bool is_final_sigma(std::u32string_view s, size_t i) {
  size_t j = i;
  while (j > 0 && is_case_ignorable(s[j - 1])) --j;
  if (j == 0 || !is_cased(s[j - 1])) return false;
  size_t k = i + 1;
  while (k < s.size() && is_case_ignorable(s[k])) ++k;
  return k == s.size() || !is_cased(s[k]);
}

// Decomposes `s` (NFD: canonical decomposition plus canonical reordering). With `compose`, also
// recomposes (NFC). utf8proc works on UTF-8 input, so the code points go through it once.
std::u32string normalize(std::u32string_view s, bool compose) {
  const std::string utf8 = u32_to_utf8(s);
  const auto options = utf8proc_option_t(UTF8PROC_STABLE | (compose ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE));
  std::vector<utf8proc_int32_t> buf(s.size() * 2 + 8);
  auto run = [&] {
    return utf8proc_decompose(reinterpret_cast<const utf8proc_uint8_t*>(utf8.data()), utf8proc_ssize_t(utf8.size()),
                              buf.data(), utf8proc_ssize_t(buf.size()), options);
  };
  utf8proc_ssize_t n = run();
  if (n > utf8proc_ssize_t(buf.size())) {  // utf8proc reports the size it needs
    buf.resize(size_t(n));
    n = run();
  }
  // u32_to_utf8 wrote valid UTF-8 and the buffer is large enough, so utf8proc cannot fail here.
  if (n < 0) return std::u32string(s);
  if (compose) n = utf8proc_normalize_utf32(buf.data(), n, options);
  std::u32string out(size_t(n), U'\0');
  for (utf8proc_ssize_t i = 0; i < n; ++i) out[size_t(i)] = char32_t(buf[size_t(i)]);
  return out;
}

}  // namespace

std::u32string utf8_to_u32(std::string_view s) {
  std::u32string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t pos = 0, n = utf8proc_ssize_t(s.size());
  while (pos < n) {
    if (p[pos] < 0x80) {  // ASCII fast path
      out.push_back(char32_t(p[pos++]));
      continue;
    }
    utf8proc_int32_t c = -1;
    const utf8proc_ssize_t len = utf8proc_iterate(p + pos, n - pos, &c);
    if (len > 0 && c >= 0) {
      out.push_back(char32_t(c));
      pos += len;
    } else {
      out.push_back(U'\uFFFD');
      ++pos;
    }
  }
  return out;
}

void append_utf8(std::string& out, char32_t c) {
  utf8proc_uint8_t buf[4];
  const auto n = utf8proc_encode_char(utf8proc_int32_t(c), buf);
  out.append(reinterpret_cast<const char*>(buf), size_t(n));
}

std::string u32_to_utf8(std::u32string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char32_t c : s) append_utf8(out, c);
  return out;
}

size_t find_invalid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  utf8proc_ssize_t pos = 0, n = utf8proc_ssize_t(s.size());
  while (pos < n) {
    if (p[pos] < 0x80) {
      ++pos;
      continue;
    }
    utf8proc_int32_t c = -1;
    const utf8proc_ssize_t len = utf8proc_iterate(p + pos, n - pos, &c);
    if (len <= 0 || c < 0) return size_t(pos);
    pos += len;
  }
  return std::string_view::npos;
}

bool is_bert_whitespace(char32_t c) {
  return c == U' ' || c == U'\t' || c == U'\n' || c == U'\r' || category(c) == UTF8PROC_CATEGORY_ZS;
}

bool is_bert_control(char32_t c) {
  if (c == U'\t' || c == U'\n' || c == U'\r') return false;
  switch (category(c)) {
    case UTF8PROC_CATEGORY_CN:  // unassigned: Python's category() says "Cn"
    case UTF8PROC_CATEGORY_CC:
    case UTF8PROC_CATEGORY_CF:
    case UTF8PROC_CATEGORY_CS:
    case UTF8PROC_CATEGORY_CO: return true;
    default: return false;
  }
}

bool is_bert_punctuation(char32_t c) {
  // HF counts all of ASCII's non-alphanumeric printables ("^", "$", "`" are not P* in Unicode).
  if ((c >= 33 && c <= 47) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126)) return true;
  const auto cat = category(c);
  return cat >= UTF8PROC_CATEGORY_PC && cat <= UTF8PROC_CATEGORY_PO;
}

bool is_cjk_ideograph(char32_t c) {
  return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
         (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool is_python_space(char32_t c) {
  if (c == U' ' || (c >= U'\t' && c <= U'\r')) return true;
  if (c < 0x80) return c >= 0x1C && c <= 0x1F;
  const utf8proc_property_t* p = utf8proc_get_property(utf8proc_int32_t(c));
  return p->category == UTF8PROC_CATEGORY_ZS || p->bidi_class == UTF8PROC_BIDI_CLASS_WS ||
         p->bidi_class == UTF8PROC_BIDI_CLASS_B || p->bidi_class == UTF8PROC_BIDI_CLASS_S;
}

std::u32string python_lower(std::u32string_view s) {
  std::u32string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char32_t c = s[i];
    if (c < 0x80) {
      out.push_back(c >= U'A' && c <= U'Z' ? c + 32 : c);
    } else if (c == 0x130) {  // the one unconditional multi-character lowercase (SpecialCasing.txt)
      out.push_back(U'i');
      out.push_back(0x307);
    } else if (c == 0x3A3) {
      out.push_back(is_final_sigma(s, i) ? 0x3C2 : 0x3C3);
    } else {
      out.push_back(char32_t(utf8proc_tolower(utf8proc_int32_t(c))));
    }
  }
  return out;
}

std::u32string nfc(std::u32string_view s) { return is_ascii(s) ? std::u32string(s) : normalize(s, true); }

std::u32string strip_accents(std::u32string_view s) {
  if (is_ascii(s)) return std::u32string(s);
  std::u32string d = normalize(s, false);
  std::erase_if(d, [](char32_t c) { return category(c) == UTF8PROC_CATEGORY_MN; });
  return d;
}

}  // namespace cherry
