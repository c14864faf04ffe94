// Special-token splitting, WordPiece and the [CLS]/[SEP] layout. Every piece WordPiece emits is a
// vocabulary entry, so the pipeline carries ids and tokenize() maps them back to strings.
#include "datasets/bert_tokenizer.h"

#include <algorithm>
#include <cstdlib>

#include "core/error.h"
#include "datasets/unicode_text.h"

namespace cherry {

namespace {
constexpr const char* kOp = "BertTokenizer";
}

BertTokenizer::BertTokenizer(const std::string& vocab_path, BertTokenizerOptions options)
    : BertTokenizer(Vocab::read(vocab_path, {options.unk_token, options.sep_token, options.pad_token, options.cls_token}),
                    options) {}

BertTokenizer::BertTokenizer(Vocab vocab, BertTokenizerOptions options) : vocab_(std::move(vocab)), options_(std::move(options)) {
  CHERRY_CHECK(options_.max_input_chars_per_word > 0, kOp, "max_input_chars_per_word must be positive, got ",
               options_.max_input_chars_per_word);
  unk_id_ = vocab_.id(options_.unk_token);
  sep_id_ = vocab_.id(options_.sep_token);
  pad_id_ = vocab_.id(options_.pad_token);
  cls_id_ = vocab_.id(options_.cls_token);
  // HF's special-token order; a special token the vocabulary lacks is left to the normal pipeline.
  for (const std::string* s : {&options_.unk_token, &options_.sep_token, &options_.pad_token, &options_.cls_token,
                               &options_.mask_token}) {
    CHERRY_CHECK(!s->empty(), kOp, "special tokens must not be empty");
    never_split_.push_back(utf8_to_u32(*s));
    if (const int64_t id = vocab_.find(*s); id >= 0) specials_.push_back({*s, id});
  }
  // Longest first, so that of two special tokens starting at the same place the longer one wins.
  std::stable_sort(specials_.begin(), specials_.end(),
                   [](const Special& x, const Special& y) { return x.text.size() > y.text.size(); });
}

template <class Emit> void BertTokenizer::wordpiece(const std::u32string& word, Emit& emit) const {
  const size_t n = word.size();
  if (int64_t(n) > options_.max_input_chars_per_word) {
    emit(unk_id_);
    return;
  }
  std::string utf8;
  std::vector<size_t> offset(n + 1, 0);  // byte offset of each character, plus the end
  for (size_t i = 0; i < n; ++i) {
    offset[i] = utf8.size();
    append_utf8(utf8, word[i]);
  }
  offset[n] = utf8.size();

  std::vector<int64_t> pieces;
  std::string candidate;
  for (size_t start = 0; start < n;) {
    int64_t id = -1;
    size_t end = n;
    for (; end > start; --end) {  // greedy: the longest piece in the vocabulary
      candidate.assign(start > 0 ? "##" : "");
      candidate.append(utf8, offset[start], offset[end] - offset[start]);
      if ((id = vocab_.find(candidate)) >= 0) break;
    }
    if (id < 0) {  // some suffix has no piece: the whole word is unknown
      emit(unk_id_);
      return;
    }
    pieces.push_back(id);
    start = end;
  }
  for (int64_t id : pieces) emit(id);
}

template <class OnWords, class OnSpecial>
void BertTokenizer::split_specials(std::string_view text, OnWords&& on_words, OnSpecial&& on_special) const {
  size_t segment = 0;  // start of the text not yet tokenized
  auto flush = [&](size_t end) {
    if (end > segment)
      on_words(cherry::basic_tokenize(utf8_to_u32(text.substr(segment, end - segment)), options_.basic, never_split_));
  };
  for (size_t pos = 0; pos < text.size();) {
    const auto hit = std::find_if(specials_.begin(), specials_.end(),
                                  [&](const Special& s) { return text.compare(pos, s.text.size(), s.text) == 0; });
    if (hit == specials_.end()) {
      ++pos;
      continue;
    }
    flush(pos);
    on_special(*hit);
    pos += hit->text.size();
    segment = pos;
  }
  flush(text.size());
}

template <class Emit> void BertTokenizer::run(std::string_view text, Emit&& emit) const {
  split_specials(
      text,
      [&](const std::vector<std::u32string>& words) {
        for (const std::u32string& w : words) wordpiece(w, emit);
      },
      [&](const Special& s) { emit(s.id); });
}

std::vector<std::string> BertTokenizer::basic_tokenize(std::string_view text) const {
  std::vector<std::string> out;
  split_specials(
      text,
      [&](const std::vector<std::u32string>& words) {
        for (const std::u32string& w : words) out.push_back(u32_to_utf8(w));
      },
      [&](const Special& s) { out.push_back(s.text); });
  return out;
}

std::vector<std::string> BertTokenizer::tokenize(std::string_view text) const {
  std::vector<std::string> out;
  run(text, [&](int64_t id) { out.push_back(vocab_.token(id)); });
  return out;
}

std::vector<int64_t> BertTokenizer::token_ids(std::string_view text) const {
  std::vector<int64_t> out;
  run(text, [&](int64_t id) { out.push_back(id); });
  return out;
}

Encoding BertTokenizer::encode(std::string_view a, int64_t max_length) const {
  CHERRY_CHECK(max_length == 0 || max_length >= 2, kOp, "max_length ", max_length,
               " leaves no room for [CLS] and [SEP] (use 0 for no truncation)");
  std::vector<int64_t> ids = token_ids(a);
  if (max_length > 0 && int64_t(ids.size()) + 2 > max_length) ids.resize(size_t(max_length - 2));
  Encoding e;
  e.input_ids.reserve(ids.size() + 2);
  e.input_ids.push_back(cls_id_);
  e.input_ids.insert(e.input_ids.end(), ids.begin(), ids.end());
  e.input_ids.push_back(sep_id_);
  e.token_type_ids.assign(e.input_ids.size(), 0);
  return e;
}

Encoding BertTokenizer::encode_pair(std::string_view a, std::string_view b, int64_t max_length) const {
  CHERRY_CHECK(max_length == 0 || max_length >= 3, kOp, "max_length ", max_length,
               " leaves no room for [CLS] and two [SEP] (use 0 for no truncation)");
  std::vector<int64_t> ia = token_ids(a), ib = token_ids(b);
  const int64_t total = int64_t(ia.size() + ib.size()) + 3;
  if (max_length > 0 && total > max_length) truncate_longest_first(ia, ib, total - max_length);
  Encoding e;
  e.input_ids.reserve(ia.size() + ib.size() + 3);
  e.input_ids.push_back(cls_id_);
  e.input_ids.insert(e.input_ids.end(), ia.begin(), ia.end());
  e.input_ids.push_back(sep_id_);
  e.token_type_ids.assign(e.input_ids.size(), 0);
  e.input_ids.insert(e.input_ids.end(), ib.begin(), ib.end());
  e.input_ids.push_back(sep_id_);
  e.token_type_ids.resize(e.input_ids.size(), 1);
  return e;
}

void truncate_longest_first(std::vector<int64_t>& a, std::vector<int64_t>& b, int64_t num_to_remove) {
  const int64_t la = int64_t(a.size()), lb = int64_t(b.size());
  CHERRY_CHECK(num_to_remove >= 0 && num_to_remove <= la + lb, "truncate_longest_first", "cannot remove ", num_to_remove,
               " tokens from sequences of ", la, " and ", lb);
  // First the difference comes off the longer one; the rest alternates, b first (the extra one).
  const int64_t first = std::min(std::abs(la - lb), num_to_remove), rest = num_to_remove - first;
  const int64_t from_a = (la > lb ? first : 0) + rest / 2;
  const int64_t from_b = num_to_remove - from_a;
  a.resize(size_t(la - from_a));
  b.resize(size_t(lb - from_b));
}

}  // namespace cherry
