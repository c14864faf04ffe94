// WordPiece tokenizer: the Unicode helpers, the basic tokenizer's steps one by one, WordPiece on a
// tiny vocabulary, special tokens in text, [CLS]/[SEP] layout and 'longest_first' truncation (against
// the one-token-at-a-time rule HF documents), vocab.txt validation, and padding into batches. The
// comparison with Hugging Face on real text is in test_text_fixtures.cpp.
#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "datasets/bert_tokenizer.h"
#include "datasets/text_batch.h"
#include "datasets/unicode_text.h"
#include "datasets_fixtures.h"

using namespace cherry;
using namespace cherry::test;

namespace {

using Words = std::vector<std::string>;

Words words(std::string_view text, BasicTokenizerOptions o = {}) {
  Words out;
  for (const auto& w : basic_tokenize(utf8_to_u32(text), o)) out.push_back(u32_to_utf8(w));
  return out;
}

// [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 [MASK]=4, then pieces.
const char* kTinyVocab =
    "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nun\n##aff\n##able\na\n##a\nb\nhello\nworld\n,\n!\ncafe\n##s\n中\n文\nß\n##ß\n";

BertTokenizer tiny() { return BertTokenizer(Vocab::parse(kTinyVocab, "tiny", {"[UNK]", "[CLS]", "[SEP]", "[PAD]"})); }

// HF's rule stated one token at a time: remove from the longer sequence, from b on a tie.
void truncate_reference(std::vector<int64_t>& a, std::vector<int64_t>& b, int64_t n) {
  for (; n > 0; --n) (a.size() > b.size() ? a : b).pop_back();
}

}  // namespace

TEST_CASE("unicode: UTF-8 decoding replaces malformed bytes, and Python's character classes") {
  CHECK(utf8_to_u32("a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80") == U"a\u00E9\u4E2D\U0001F600");
  CHECK(utf8_to_u32("x\xFFy") == U"x\uFFFDy");
  CHECK(utf8_to_u32("\xC3") == U"\uFFFD");                // truncated sequence
  CHECK(utf8_to_u32("\xED\xA0\x80").find(U'\uFFFD') == 0);  // a UTF-16 surrogate is not UTF-8
  CHECK(utf8_to_u32("\xC0\xAF").find(U'/') == std::u32string::npos);  // overlong '/' is not '/'
  CHECK(find_invalid_utf8("\xC0\xAF") == 0);
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80") == 0);  // above U+10FFFF
  CHECK(find_invalid_utf8("ok \xC3\xA9") == std::string::npos);
  CHECK(find_invalid_utf8("ok \xC3") == 3);
  CHECK(u32_to_utf8(U"\u00E9\U0001F600") == "\xC3\xA9\xF0\x9F\x98\x80");

  CHECK(is_bert_whitespace(U'\t'));
  CHECK(is_bert_whitespace(0x3000));   // ideographic space, Zs
  CHECK_FALSE(is_bert_whitespace(0x2028));  // Zl: not whitespace to HF...
  CHECK(is_python_space(0x2028));           // ...but str.split() splits on it
  CHECK(is_bert_control(0x00AD));           // soft hyphen, Cf
  CHECK(is_bert_control(0x0378));           // unassigned, Cn
  CHECK_FALSE(is_bert_control(U'\n'));
  for (char32_t c : std::u32string(U"^$`~|+<=>")) CHECK(is_bert_punctuation(c));  // ASCII, though not P* in Unicode
  CHECK(is_bert_punctuation(0x00BF));  // ¿
  CHECK(is_bert_punctuation(0x2014));  // em dash
  CHECK_FALSE(is_bert_punctuation(0x20AC));  // € is Sc, not punctuation
  CHECK(is_cjk_ideograph(0x4E2D));
  CHECK_FALSE(is_cjk_ideograph(0xAC00));  // Hangul is not split per character

  CHECK(python_lower(U"\u0130") == U"i\u0307");                 // the one full-mapping lowercase
  CHECK(python_lower(U"\u039F\u0394\u039F\u03A3") == U"\u03BF\u03B4\u03BF\u03C2");  // final sigma
  CHECK(python_lower(U"\u03A3") == U"\u03C3");                  // alone: not final
  CHECK(python_lower(U"\u03A3\u0391") == U"\u03C3\u03B1");
  CHECK(nfc(U"e\u0301") == U"\u00E9");
  CHECK(nfc(U"\u212B") == U"\u00C5");  // Angstrom sign -> A with ring
  CHECK(strip_accents(U"\u00E9\u00E8\u00F1\u00C5") == U"eenA");
  CHECK(strip_accents(U"\u4E2D") == U"\u4E2D");
}

TEST_CASE("basic tokenizer: cleaning, CJK, lower-casing, accents, punctuation") {
  CHECK(words("Hello, World!") == Words{"hello", ",", "world", "!"});
  CHECK(words("naïve Café RÉSUMÉ") == Words{"naive", "cafe", "resume"});
  CHECK(words("e\u0301t\u00E9") == Words{"ete"});  // decomposed and precomposed accents alike
  CHECK(words("你好world") == Words{"你", "好", "world"});
  // Hangul is not split per character, but NFD turns its syllables into jamo (as in HF).
  CHECK(words("한국어") == Words{u32_to_utf8(U"\u1112\u1161\u11AB\u1100\u116E\u11A8\u110B\u1165")});
  CHECK(words("a\tb\nc\rd\u00A0e\u3000f") == Words{"a", "b", "c", "d", "e", "f"});
  CHECK(words(std::string_view("nul\x00nul\x07\x7f\xEF\xBF\xBDok", 14)) == Words{"nulnulok"});  // NUL, BEL, DEL, U+FFFD dropped
  CHECK(words("soft\u00ADhyphen zero\u200Bwidth") == Words{"softhyphen", "zerowidth"});
  CHECK(words("line\u2028sep") == Words{"line", "sep"});
  CHECK(words("^$`~ a-b_c") == Words{"^", "$", "`", "~", "a", "-", "b", "_", "c"});
  CHECK(words("don't") == Words{"don", "'", "t"});
  CHECK(words("\u0301\u0302 x") == Words{"x"});  // a word of marks alone vanishes
  CHECK(words("").empty());
  CHECK(words(" \t\n ").empty());
  CHECK(words("ΟΔΟΣ.") == Words{"οδος", "."});  // lower() per word: final sigma, then the split

  BasicTokenizerOptions cased;
  cased.do_lower_case = false;
  CHECK(words("Café É", cased) == Words{"Café", "É"});
  cased.strip_accents = true;
  CHECK(words("Café É", cased) == Words{"Cafe", "E"});
  BasicTokenizerOptions keep_accents{.do_lower_case = true, .strip_accents = false};
  CHECK(words("Café", keep_accents) == Words{"café"});
  BasicTokenizerOptions no_cjk;
  no_cjk.tokenize_chinese_chars = false;
  CHECK(words("你好", no_cjk) == Words{"你好"});
}

TEST_CASE("wordpiece: greedy longest match, ## continuations, [UNK] for the whole word, 100-character limit") {
  const BertTokenizer t = tiny();
  CHECK(t.tokenize("unaffable") == Words{"un", "##aff", "##able"});
  CHECK(t.tokenize("Hello, WORLD!") == Words{"hello", ",", "world", "!"});
  CHECK(t.tokenize("unaffablex hello") == Words{"[UNK]", "hello"});  // one bad piece spoils the word
  CHECK(t.tokenize("cafés") == Words{"cafe", "##s"});
  CHECK(t.tokenize("中文") == Words{"中", "文"});
  CHECK(t.token_ids("unaffable") == std::vector<int64_t>{5, 6, 7});
  const Words hundred = t.tokenize(std::string(100, 'a'));
  CHECK(hundred.size() == 100);
  CHECK(hundred.front() == "a");
  CHECK(hundred.back() == "##a");
  CHECK(t.tokenize(std::string(101, 'a')) == Words{"[UNK]"});
  // Characters, not bytes, count towards the limit: 100 two-byte characters are a 100-character word.
  std::string sharp_s;
  for (int i = 0; i < 100; ++i) sharp_s += "\xC3\x9F";  // U+00DF
  CHECK(t.tokenize(sharp_s).size() == 100);
  CHECK(t.tokenize(sharp_s + "\xC3\x9F") == Words{"[UNK]"});
}

TEST_CASE("special tokens written in the text are kept whole, anywhere, case-sensitively") {
  const BertTokenizer t = tiny();
  CHECK(t.tokenize("hello[SEP]world") == Words{"hello", "[SEP]", "world"});
  CHECK(t.tokenize("[CLS] a [MASK]b") == Words{"[CLS]", "a", "[MASK]", "b"});
  CHECK(t.tokenize("[sep]") == Words{"[UNK]", "[UNK]", "[UNK]"});  // not special: "[", "sep", "]"
  CHECK(t.basic_tokenize("a[UNK]B") == Words{"a", "[UNK]", "b"});
  CHECK(t.tokenize("[[SEP]]") == Words{"[UNK]", "[SEP]", "[UNK]"});
}

TEST_CASE("encode: [CLS] a [SEP] b [SEP], token types, truncation") {
  const BertTokenizer t = tiny();
  const Encoding one = t.encode("hello world");
  CHECK(one.input_ids == std::vector<int64_t>{2, 11, 12, 3});
  CHECK(one.token_type_ids == std::vector<int64_t>{0, 0, 0, 0});
  const Encoding two = t.encode_pair("hello", "world !");
  CHECK(two.input_ids == std::vector<int64_t>{2, 11, 3, 12, 14, 3});
  CHECK(two.token_type_ids == std::vector<int64_t>{0, 0, 0, 1, 1, 1});
  CHECK(t.encode("").input_ids == std::vector<int64_t>{2, 3});
  CHECK(t.encode_pair("", "").input_ids == std::vector<int64_t>{2, 3, 3});

  CHECK(t.encode("a a a a a", 4).input_ids == std::vector<int64_t>{2, 8, 8, 3});
  CHECK(t.encode("a a a a a", 0).size() == 7);  // 0: no truncation
  // 6 + 6 + 3 = 15 tokens into 9: remove 6, alternating from b on the tie -> a keeps 3, b keeps 3.
  CHECK(t.encode_pair("a a a a a a", "b b b b b b", 9).input_ids == std::vector<int64_t>{2, 8, 8, 8, 3, 10, 10, 10, 3});
  // 6 + 6 + 3 into 10: remove 5 -> b loses 3, a loses 2.
  const Encoding odd = t.encode_pair("a a a a a a", "b b b b b b", 10);
  CHECK(std::count(odd.input_ids.begin(), odd.input_ids.end(), 8) == 4);
  CHECK(std::count(odd.input_ids.begin(), odd.input_ids.end(), 10) == 3);
  CHECK(odd.token_type_ids == std::vector<int64_t>{0, 0, 0, 0, 0, 0, 1, 1, 1, 1});
  CHECK_THROWS_AS(t.encode("a", 1), Error);
  CHECK_THROWS_AS(t.encode_pair("a", "b", 2), Error);

  // The closed form equals the one-at-a-time rule for every small case.
  for (int la = 0; la <= 9; ++la)
    for (int lb = 0; lb <= 9; ++lb)
      for (int n = 0; n <= la + lb; ++n) {
        std::vector<int64_t> a(size_t(la), 1), b(size_t(lb), 2), ra = a, rb = b;
        truncate_longest_first(a, b, n);
        truncate_reference(ra, rb, n);
        CHECK_MESSAGE((a.size() == ra.size() && b.size() == rb.size()), la, " ", lb, " remove ", n);
      }
  std::vector<int64_t> a(2), b(2);
  CHECK_THROWS_AS(truncate_longest_first(a, b, 5), Error);
}

TEST_CASE("vocab.txt: ids are line numbers, and bad files throw naming the file and the problem") {
  const Vocab v = Vocab::parse("[PAD]\r\n[UNK]\r\nx\ry\n", "v.txt", {"[UNK]"});  // CRLF and CR line ends (as Python reads them)
  CHECK(v.size() == 4);
  CHECK(v.id("x") == 2);
  CHECK(v.id("y") == 3);
  CHECK(v.find("z") == -1);
  CHECK(v.token(1) == "[UNK]");
  CHECK_THROWS_AS(v.token(4), Error);
  CHECK(Vocab::parse("a\nb", "v", {}).size() == 2);  // no final newline

  const std::vector<std::string> req{"[UNK]", "[CLS]", "[SEP]", "[PAD]"};
  CHECK_THROWS_NAMING(Vocab::parse("", "empty.txt", req), "empty.txt: the vocabulary file is empty");
  CHECK_THROWS_NAMING(Vocab::parse("\xEF\xBB\xBF[PAD]\n", "bom.txt", req), "byte-order mark");
  CHECK_THROWS_NAMING(Vocab::parse("[PAD]\n\n[UNK]\n", "blank.txt", req), "blank.txt:2: blank line");
  CHECK_THROWS_NAMING(Vocab::parse("[PAD]\nx\n[UNK]\nx\n", "dup.txt", req), "dup.txt:4: duplicate token 'x' (first on line 2)");
  CHECK_THROWS_NAMING(Vocab::parse("[PAD]\nab\xFF\n", "utf.txt", req), "utf.txt:2: invalid UTF-8 at byte 3");
  CHECK_THROWS_NAMING(Vocab::parse("[PAD]\n[UNK]\n[SEP]\n", "nocls.txt", req), "nocls.txt: required token [CLS] is missing");
  CHECK_THROWS_NAMING(Vocab::parse("[CLS]\n[UNK]\n[SEP]\n", "nopad.txt", req), "[PAD] is missing");

  TempDir dir;
  CHECK_THROWS_NAMING(BertTokenizer(dir.file("missing.txt")), "missing.txt");
  write_bytes(dir.file("nounk.txt"), {'[', 'C', 'L', 'S', ']', '\n'});
  CHECK_THROWS_NAMING(BertTokenizer(dir.file("nounk.txt")), "required token [UNK] is missing");
  BertTokenizerOptions renamed;
  renamed.unk_token = "<unk>";
  write_bytes(dir.file("renamed.txt"), std::vector<uint8_t>(kTinyVocab, kTinyVocab + std::string_view(kTinyVocab).size()));
  CHECK_THROWS_NAMING(BertTokenizer(dir.file("renamed.txt"), renamed), "required token <unk> is missing");
}

TEST_CASE("collate_text: dynamic padding to the longest row, masks, token types") {
  const BertTokenizer t = tiny();
  const std::vector<Encoding> enc{t.encode("hello"), t.encode_pair("a a", "b"), t.encode("")};
  const std::vector<int64_t> order{1, 0, 2};
  const TextBatch b = collate_text(enc, order, t.pad_id());
  CHECK(b.input_ids.shape() == Shape{3, 6});
  CHECK(b.input_ids.dtype() == DType::i64);
  CHECK(b.input_ids.to_vector<int64_t>() == std::vector<int64_t>{2, 8, 8, 3, 10, 3, 2, 11, 3, 0, 0, 0, 2, 3, 0, 0, 0, 0});
  CHECK(b.token_type_ids.to_vector<int64_t>() == std::vector<int64_t>{0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK(b.attention_mask.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0});
  CHECK(b.tokens == 11);

  const std::vector<int64_t> first{0};
  const TextBatch m = collate_text(enc, first, t.pad_id(), 8);
  CHECK(m.input_ids.shape() == Shape{1, 8});
  CHECK_THROWS_AS(collate_text(enc, std::vector<int64_t>{}, 0), Error);
  CHECK_THROWS_AS(collate_text(enc, std::vector<int64_t>{3}, 0), Error);
  CHECK_THROWS_AS(collate_text(enc, first, 0, 0), Error);
}
