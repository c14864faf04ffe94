// libFuzzer target for the text side: arbitrary bytes as text through the tokenizer (must never
// throw: malformed UTF-8 becomes U+FFFD, which is dropped), as a vocab.txt, as a GLUE TSV of every
// task and split, and as a user's TSV, CSV or JSON-lines file (cherry::Error is the expected outcome
// for bad files; anything else is a bug).
// Invariants checked: ids in range, [CLS]/[SEP] layout, truncation within max_length, token types.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "datasets/bert_tokenizer.h"
#include "datasets/glue.h"
#include "datasets/text_files.h"

namespace {
const char* kVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\na\n##a\nb\n##b\n.\n,\ne\n##e\n\xC3\xA9\n\xE4\xB8\xAD\n\xCF\x83\n##\xCF\x82\n";
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const cherry::BertTokenizer tok(cherry::Vocab::parse(kVocab, "fuzz vocab", {"[UNK]", "[CLS]", "[SEP]", "[PAD]"}));
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const size_t half = size / 2;
  const int64_t max_length = size ? 3 + data[0] % 16 : 3;
  const cherry::Encoding e = tok.encode_pair(in.substr(0, half), in.substr(half), max_length);
  if (e.size() > max_length || e.size() < 3 || e.input_ids.front() != tok.cls_id() || e.input_ids.back() != tok.sep_id() ||
      e.token_type_ids.size() != e.input_ids.size())
    std::abort();
  for (int64_t id : e.input_ids)
    if (id < 0 || id >= tok.vocab().size()) std::abort();
  for (const std::string& w : tok.basic_tokenize(in))
    if (w.empty()) std::abort();

  try {
    const cherry::Vocab v = cherry::Vocab::parse(in, "<fuzz input>", {});
    for (int64_t i = 0; i < v.size(); ++i)
      if (v.find(v.token(i)) != i) std::abort();
  } catch (const cherry::Error&) {
  }
  for (auto task : {cherry::GlueTask::cola, cherry::GlueTask::sst2, cherry::GlueTask::mrpc, cherry::GlueTask::stsb, cherry::GlueTask::rte})
    for (auto split : {cherry::GlueSplit::train, cherry::GlueSplit::dev, cherry::GlueSplit::test}) {
      try {
        (void)cherry::parse_glue_tsv(task, split, in, "<fuzz input>");
      } catch (const cherry::Error&) {
      }
    }
  for (auto format : {cherry::TextFormat::tsv, cherry::TextFormat::csv, cherry::TextFormat::jsonl})
    for (auto task : {cherry::GlueTask::sst2, cherry::GlueTask::stsb, cherry::GlueTask::rte})
      for (auto split : {cherry::GlueSplit::dev, cherry::GlueSplit::test}) {
        try {
          for (const auto& ex : cherry::parse_text_file(task, split, format, in, "<fuzz input>"))
            if (ex.index < 0 || (split == cherry::GlueSplit::dev && task != cherry::GlueTask::stsb && ex.label < 0)) std::abort();
        } catch (const cherry::Error&) {
        }
      }
  return 0;
}
