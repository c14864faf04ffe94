// BertTokenizer: text -> WordPiece ids, identical to Hugging Face's slow Python BertTokenizer
// (BertTokenizerLegacy in transformers 5) on a given vocab.txt. Special tokens written in the text
// ("[SEP]") are split out first and kept; the rest goes through the basic tokenizer, then greedy
// longest-match-first WordPiece with "##" continuations (a word over 100 characters, or one with a
// piece not in the vocabulary, becomes [UNK]). encode()/encode_pair() add [CLS]/[SEP], token types
// and HF's 'longest_first' truncation. Not here: padding and tensors (text_batch.h), GLUE (glue.h).
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "datasets/basic_tokenizer.h"
#include "datasets/vocab.h"

namespace cherry {

struct BertTokenizerOptions {
  BasicTokenizerOptions basic;  // lower-casing, accents, CJK spacing (bert-base-uncased: the defaults)
  int64_t max_input_chars_per_word = 100;
  std::string unk_token = "[UNK]", sep_token = "[SEP]", pad_token = "[PAD]", cls_token = "[CLS]", mask_token = "[MASK]";
};

// One encoded example, before padding; the attention mask is all ones over input_ids.
struct Encoding {
  std::vector<int64_t> input_ids;
  std::vector<int64_t> token_type_ids;  // 0 for [CLS] a [SEP], 1 for b [SEP]
  int64_t size() const { return int64_t(input_ids.size()); }
};

class BertTokenizer {
 public:
  // Reads vocab.txt; [UNK], [SEP], [PAD] and [CLS] (as named in options) must be in it.
  explicit BertTokenizer(const std::string& vocab_path, BertTokenizerOptions options = {});
  explicit BertTokenizer(Vocab vocab, BertTokenizerOptions options = {});

  // Words after the basic tokenizer (special tokens kept whole): for tests and debugging.
  std::vector<std::string> basic_tokenize(std::string_view text) const;
  // Word pieces as strings ("un", "##aff", "##able").
  std::vector<std::string> tokenize(std::string_view text) const;
  // Word-piece ids, no special tokens added.
  std::vector<int64_t> token_ids(std::string_view text) const;

  // [CLS] a [SEP], truncated to max_length tokens (0: no truncation; else at least 2).
  Encoding encode(std::string_view a, int64_t max_length = 128) const;
  // [CLS] a [SEP] b [SEP], truncated 'longest_first' to max_length (0: none; else at least 3).
  Encoding encode_pair(std::string_view a, std::string_view b, int64_t max_length = 128) const;

  const Vocab& vocab() const { return vocab_; }
  const BertTokenizerOptions& options() const { return options_; }
  int64_t pad_id() const { return pad_id_; }
  int64_t unk_id() const { return unk_id_; }
  int64_t cls_id() const { return cls_id_; }
  int64_t sep_id() const { return sep_id_; }

 private:
  struct Special {
    std::string text;
    int64_t id;
  };
  // Splits `text` at special tokens: on_text(words of the basic tokenizer) for the text between them,
  // on_special(token) for each, in order (HF's added-token trie split).
  template <class OnWords, class OnSpecial>
  void split_specials(std::string_view text, OnWords&& on_words, OnSpecial&& on_special) const;
  // Calls emit(id) for every word piece of `text`, in order.
  template <class Emit> void run(std::string_view text, Emit&& emit) const;
  template <class Emit> void wordpiece(const std::u32string& word, Emit& emit) const;

  Vocab vocab_;
  BertTokenizerOptions options_;
  int64_t pad_id_ = 0, unk_id_ = 0, cls_id_ = 0, sep_id_ = 0;
  std::vector<Special> specials_;             // in the vocabulary, longest first
  std::vector<std::u32string> never_split_;  // the same, for the basic tokenizer
};

// HF's 'longest_first' for a pair: remove num_to_remove tokens from the ends, one at a time from the
// longer sequence, from b when both are equal (transformers' truncate_sequences, closed form).
void truncate_longest_first(std::vector<int64_t>& a, std::vector<int64_t>& b, int64_t num_to_remove);

}  // namespace cherry
