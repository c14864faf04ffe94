// The Unicode operations BERT's basic tokenizer needs, with the semantics of the Python code Hugging
// Face's BertTokenizer runs: its character classes (_is_whitespace, _is_control, _is_punctuation, the
// CJK ranges), str.split()'s notion of whitespace, str.lower() (full mapping and final sigma), NFC,
// and NFD with nonspacing marks dropped. Categories, case maps and normalisation come from utf8proc;
// nothing here carries its own Unicode table. Not here: the tokenizer itself (basic_tokenizer.h).
#pragma once
#include <string>
#include <string_view>

namespace cherry {

// UTF-8 -> code points. Malformed bytes become U+FFFD each (Python's errors="replace"), which the
// basic tokenizer then drops as HF drops U+FFFD: text never makes the tokenizer throw.
std::u32string utf8_to_u32(std::string_view s);
void append_utf8(std::string& out, char32_t c);
std::string u32_to_utf8(std::u32string_view s);
// Byte offset of the first malformed UTF-8 sequence, or npos if `s` is valid (readers report it).
size_t find_invalid_utf8(std::string_view s);

// HF's _is_whitespace: space, \t, \n, \r and category Zs.
bool is_bert_whitespace(char32_t c);
// HF's _is_control: any C* category (Cc, Cf, Cn, Co, Cs) except \t, \n, \r.
bool is_bert_control(char32_t c);
// HF's _is_punctuation: every non-alphanumeric printable ASCII character, and any P* category.
bool is_bert_punctuation(char32_t c);
// HF's _is_chinese_char: the CJK Unified Ideographs blocks (not Hangul, kana, or CJK punctuation).
bool is_cjk_ideograph(char32_t c);
// Python's str.isspace(), which str.split() splits on: category Zs or bidi class WS, B or S.
bool is_python_space(char32_t c);

// Python's str.lower(): full lowercase mapping (U+0130 -> "i\u0307") and the Final_Sigma rule.
std::u32string python_lower(std::u32string_view s);
// Canonical composition (unicodedata.normalize("NFC", s)).
std::u32string nfc(std::u32string_view s);
// NFD, then every Mn (nonspacing mark) removed: HF's _run_strip_accents.
std::u32string strip_accents(std::u32string_view s);

}  // namespace cherry
