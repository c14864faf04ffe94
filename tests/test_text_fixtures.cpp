// The tokenizer against Hugging Face's BertTokenizer (slow Python reference) on the bert-base-uncased
// vocabulary: every dev example of CoLA, SST-2, MRPC, STS-B and RTE (read by our GLUE reader, encoded
// with max_length 128) and about 2300 hard and random strings (basic-tokenizer words, word pieces, ids,
// token types, truncation). Expected values come from scripts/make_tokenizer_fixtures.py; any
// difference fails with the first mismatching text.
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "datasets/bert_tokenizer.h"
#include "datasets/dataset.h"
#include "datasets/glue.h"
#include "datasets/idx.h"

#ifndef CHERRY_FIXTURES_DIR
#define CHERRY_FIXTURES_DIR "tests/fixtures"
#endif

using namespace cherry;
namespace fs = std::filesystem;

namespace {

std::string fixture_text(const std::string& name) {
  const std::string path = std::string(CHERRY_FIXTURES_DIR) + "/tokenizer/" + name;
  const std::vector<uint8_t> gz = read_file_bytes(path, "tokenizer fixture");
  const std::vector<uint8_t> raw = gunzip(gz.data(), gz.size(), path, size_t(64) << 20);
  return std::string(raw.begin(), raw.end());
}

const BertTokenizer& bert_base_uncased() {
  static const BertTokenizer t = [] {
    const fs::path vocab = fs::path(default_data_dir()) / "vocab" / "bert-base-uncased-vocab.txt";
    REQUIRE_MESSAGE(fs::exists(vocab), "vocabulary missing at ", vocab.string(), " (set CHERRY_DATA_DIR)");
    return BertTokenizer(vocab.string());
  }();
  return t;
}

std::string join(const std::vector<int64_t>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ' ';
    s += std::to_string(v[i]);
  }
  return s;
}

std::string digits(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += char('0' + x);
  return s;
}

}  // namespace

TEST_CASE("tokenizer equals HF BertTokenizer on every GLUE dev example (bert-base-uncased, max_length 128)") {
  const BertTokenizer& tok = bert_base_uncased();
  CHECK(tok.vocab().size() == 30522);
  CHECK(tok.pad_id() == 0);
  CHECK(tok.unk_id() == 100);
  CHECK(tok.cls_id() == 101);
  CHECK(tok.sep_id() == 102);
  const auto t0 = std::chrono::steady_clock::now();
  int64_t compared = 0, tokens = 0;
  for (GlueTask task : {GlueTask::cola, GlueTask::sst2, GlueTask::mrpc, GlueTask::stsb, GlueTask::rte}) {
    const GlueTaskInfo& info = glue_task_info(task);
    const GlueData dev = read_glue(task, GlueSplit::dev);
    std::istringstream lines(fixture_text(cat(info.name, "_dev.ids.gz")));
    std::string line;
    std::getline(lines, line);
    REQUIRE(line == cat("#", info.name, " dev ", dev.examples.size()));
    const std::vector<Encoding> enc = encode_glue(tok, dev, 128);
    size_t mismatches = 0;
    for (size_t i = 0; i < enc.size(); ++i) {
      REQUIRE(std::getline(lines, line));
      const std::string got = join(enc[i].input_ids) + "\t" + digits(enc[i].token_type_ids);
      if (got != line && mismatches++ == 0)
        FAIL_CHECK(info.folder, " dev example ", i, " differs from HF\n  text_a: ", dev.examples[i].text_a,
                   "\n  text_b: ", dev.examples[i].text_b, "\n  ours:   ", got, "\n  HF:     ", line);
      tokens += enc[i].size();
    }
    CHECK_MESSAGE(mismatches == 0, info.folder, ": ", mismatches, " of ", enc.size(), " dev examples differ");
    CHECK_FALSE(std::getline(lines, line));
    compared += int64_t(enc.size());
  }
  CHECK(compared == 1043 + 872 + 408 + 1500 + 277);
  MESSAGE("compared ", compared, " GLUE dev examples (", tokens, " tokens) with HF in ",
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), " s");
}

TEST_CASE("tokenizer equals HF BertTokenizer on hard and random strings (words, pieces, ids, truncation)") {
  const BertTokenizer& tok = bert_base_uncased();
  std::istringstream lines(fixture_text("edge_cases.jsonl.gz"));
  std::string line;
  int64_t n = 0, failed = 0;
  while (std::getline(lines, line)) {
    const auto rec = nlohmann::json::parse(line);
    const std::string a = rec["a"];
    const int64_t max_length = rec["max_length"];
    const auto basic = tok.basic_tokenize(a);
    const auto pieces = tok.tokenize(a);
    const Encoding e = rec.contains("b") ? tok.encode_pair(a, rec["b"].get<std::string>(), max_length) : tok.encode(a, max_length);
    const bool ok = basic == rec["basic"].get<std::vector<std::string>>() && pieces == rec["tokens"].get<std::vector<std::string>>() &&
                    e.input_ids == rec["ids"].get<std::vector<int64_t>>() &&
                    e.token_type_ids == rec["types"].get<std::vector<int64_t>>();
    if (!ok && failed++ < 5) {
      nlohmann::json ours{{"basic", basic}, {"tokens", pieces}, {"ids", e.input_ids}, {"types", e.token_type_ids}};
      FAIL_CHECK("case ", n, " differs from HF\n  HF:   ", line, "\n  ours: ", ours.dump());
    }
    ++n;
  }
  CHECK_MESSAGE(failed == 0, failed, " of ", n, " cases differ");
  CHECK(n > 2000);
}
