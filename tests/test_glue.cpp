// GLUE: the real files (all fifteen splits: official row counts, labels, first rows), malformed files
// (each error names file:line), label tensors, and the metrics against sklearn/scipy values. The
// tokenizer on GLUE text is tested in test_text_fixtures.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "datasets/glue.h"
#include "datasets/glue_metrics.h"
#include "datasets/text_files.h"
#include "datasets_fixtures.h"

using namespace cherry;
using namespace cherry::test;

namespace {

std::vector<GlueExample> parse(GlueTask task, GlueSplit split, std::string_view text) {
  return parse_glue_tsv(task, split, text, "x.tsv");
}

}  // namespace

TEST_CASE("glue: every official file reads with its official row count, and labels as HF numbers them") {
  for (GlueTask task : {GlueTask::cola, GlueTask::sst2, GlueTask::mrpc, GlueTask::stsb, GlueTask::rte}) {
    const GlueTaskInfo& info = glue_task_info(task);
    for (GlueSplit split : {GlueSplit::train, GlueSplit::dev, GlueSplit::test}) {
      const GlueData d = read_glue(task, split);
      CHECK_MESSAGE(int64_t(d.examples.size()) == info.official_rows[int(split)], d.path);
      int64_t labelled = 0;
      for (const GlueExample& ex : d.examples) {
        labelled += ex.label >= 0 || (info.regression && split != GlueSplit::test);
        CHECK_MESSAGE(ex.text_a.size() > 0, d.path, " index ", ex.index);
        if (info.pair) CHECK_MESSAGE(ex.text_b.size() > 0, d.path, " index ", ex.index);
      }
      CHECK(labelled == (split == GlueSplit::test ? 0 : int64_t(d.examples.size())));
    }
  }
  // First rows, as transformers' glue processors read them.
  const GlueData rte = read_glue(GlueTask::rte, GlueSplit::dev);
  CHECK(rte.examples[0].text_b == "Christopher Reeve had an accident.");
  CHECK(rte.examples[0].label == 1);  // not_entailment
  const GlueData mrpc = read_glue(GlueTask::mrpc, GlueSplit::dev);  // BOM stripped, quotes kept
  CHECK(mrpc.examples[0].label == 1);
  CHECK(mrpc.examples[0].text_b == "\"The foodservice pie business does not fit our long-term growth strategy.");
  const GlueData stsb = read_glue(GlueTask::stsb, GlueSplit::dev);
  CHECK(stsb.examples[1].score == 4.75);
  CHECK(stsb.examples[1].text_a == "A young child is riding a horse.");
  const GlueData sst = read_glue(GlueTask::sst2, GlueSplit::dev);
  CHECK(sst.examples[0].text_a == "it 's a charming and often affecting journey . ");  // trailing space kept
  const GlueData cola = read_glue(GlueTask::cola, GlueSplit::dev);  // no header, no final newline
  CHECK(cola.examples.back().index == 1042);
  const GlueData test = read_glue(GlueTask::rte, GlueSplit::test);
  CHECK(test.examples[2999].index == 2999);

  int64_t positives = 0;
  for (const auto& ex : read_glue(GlueTask::cola, GlueSplit::dev).examples) positives += ex.label;
  CHECK(positives == 721);  // CoLA dev: 721 acceptable of 1043
}

TEST_CASE("glue: task names, layouts of small files, labels as tensors") {
  CHECK(parse_glue_task("SST-2") == GlueTask::sst2);
  CHECK(parse_glue_task("sts_b") == GlueTask::stsb);
  CHECK(parse_glue_task("CoLA") == GlueTask::cola);
  CHECK_THROWS_NAMING(parse_glue_task("qqp"), "known: cola, sst2, mrpc, stsb, rte");
  CHECK(glue_task_info(GlueTask::stsb).num_labels() == 1);
  CHECK(glue_task_info(GlueTask::rte).num_labels() == 2);

  auto rows = parse(GlueTask::rte, GlueSplit::train,
                    "index\tsentence1\tsentence2\tlabel\r\n0\t\"A\" b\tc\tentailment\r\n1\td\te\tnot_entailment");
  REQUIRE(rows.size() == 2);
  CHECK(rows[0].text_a == "\"A\" b");  // CRLF accepted, quotes are text
  CHECK(rows[0].label == 0);
  CHECK(rows[1].label == 1);
  CHECK(rows[1].index == 1);
  rows = parse(GlueTask::cola, GlueSplit::train, "src\t0\t*\tBad sentence.\nsrc\t1\t\tGood one.\n");
  CHECK(rows[0].label == 0);
  CHECK(rows[1].text_a == "Good one.");
  rows = parse(GlueTask::sst2, GlueSplit::test, "index\tsentence\n7\tfine .\n");
  CHECK(rows[0].index == 7);
  CHECK(rows[0].label == -1);

  GlueData d{GlueTask::stsb, GlueSplit::dev, "s.tsv", {}};
  d.examples = parse(GlueTask::stsb, GlueSplit::dev,
                     "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n"
                     "0\tg\tf\ty\to\ts\ts\tA.\tB.\t3.200\n1\tg\tf\ty\to\ts\ts\tC.\tD.\t0\n");
  const std::vector<int64_t> idx{1, 0};
  const Tensor scores = glue_labels(d, idx);
  CHECK(scores.dtype() == DType::f32);
  CHECK(scores.to_vector<float>() == std::vector<float>{0.0f, 3.2f});
  GlueData r{GlueTask::rte, GlueSplit::train, "r.tsv",
             parse(GlueTask::rte, GlueSplit::train, "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tnot_entailment\n")};
  CHECK(glue_labels(r, std::vector<int64_t>{0}).to_vector<int64_t>() == std::vector<int64_t>{1});
  CHECK_THROWS_AS(glue_labels(r, std::vector<int64_t>{1}), Error);
  r.split = GlueSplit::test;
  CHECK_THROWS_NAMING(glue_labels(r, std::vector<int64_t>{0}), "no labels");
}

TEST_CASE("glue: malformed files throw naming file:line and the problem") {
  const std::string rte_head = "index\tsentence1\tsentence2\tlabel\n";
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::train, rte_head + "0\ta\tb\n"),
                      "x.tsv:2: expected 4 tab-separated columns, found 3");
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::train, rte_head + "0\ta\tb\tentailment\n1\ta\tb\tneutral\n"),
                      "x.tsv:3: label 'neutral' is not one of entailment, not_entailment");
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::train, "id\tsentence1\tsentence2\tlabel\n"),
                      "x.tsv:1: expected the RTE train header");
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::train, rte_head + "0\ta\tb\tentailment\n\n1\ta\tb\tentailment\n"),
                      "x.tsv:3: blank line");
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::train, rte_head + "0\ta\xC3\tb\tentailment\n"),
                      "x.tsv:2: invalid UTF-8 at byte 4");
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::test, "index\tsentence1\tsentence2\nx1\ta\tb\n"),
                      "x.tsv:2: index 'x1' is not a non-negative integer");
  CHECK_THROWS_NAMING(parse(GlueTask::rte, GlueSplit::train, rte_head), "x.tsv: no examples");
  CHECK_THROWS_NAMING(parse(GlueTask::cola, GlueSplit::dev, "src\t2\t\tSentence.\n"), "x.tsv:1: label '2' is not one of 0, 1");
  CHECK_THROWS_NAMING(parse(GlueTask::cola, GlueSplit::dev, "src\t1\tSentence.\n"), "x.tsv:1: expected 4 tab-separated columns");
  CHECK_THROWS_NAMING(parse(GlueTask::sst2, GlueSplit::dev, "sentence\tlabel\ngood\t1\nbad\t0\t\n"),
                      "x.tsv:3: expected 2 tab-separated columns, found 3");
  const std::string sts_head =
      "index\tgenre\tfilename\tyear\told_index\tsource1\tsource2\tsentence1\tsentence2\tscore\n";
  CHECK_THROWS_NAMING(parse(GlueTask::stsb, GlueSplit::dev, sts_head + "0\tg\tf\ty\to\ts\ts\tA.\tB.\t5.5\n"),
                      "x.tsv:2: score '5.5' is not a number in [0, 5]");
  CHECK_THROWS_NAMING(parse(GlueTask::stsb, GlueSplit::dev, sts_head + "0\tg\tf\ty\to\ts\ts\tA.\tB.\tfive\n"),
                      "x.tsv:2: score 'five'");
  // MRPC's BOM is skipped; a header without its columns is not.
  CHECK(parse(GlueTask::mrpc, GlueSplit::dev, "\xEF\xBB\xBFQuality\t#1 ID\t#2 ID\t#1 String\t#2 String\n1\t1\t2\ta\tb\n").size() == 1);
  CHECK_THROWS_NAMING(parse(GlueTask::mrpc, GlueSplit::dev, "Quality\t#1 String\t#2 String\n"), "expected the MRPC dev header");

  // read_glue: the official row count; read_glue_file: none.
  TempDir dir;
  const std::string rows = rte_head + "0\ta\tb\tentailment\n";
  write_bytes(dir.file("RTE/dev.tsv"), std::vector<uint8_t>(rows.begin(), rows.end()));
  CHECK_THROWS_NAMING(read_glue(GlueTask::rte, GlueSplit::dev, dir.path.string()), "1 examples, but the official RTE dev split has 277");
  CHECK(glue_file_path(GlueTask::rte, GlueSplit::dev, dir.path.string()) == dir.file("RTE/dev.tsv"));
  CHECK(read_glue_file(GlueTask::rte, GlueSplit::dev, dir.file("RTE/dev.tsv")).examples.size() == 1);
  CHECK_THROWS_NAMING(read_glue(GlueTask::rte, GlueSplit::train, dir.path.string()), "train.tsv");
}

TEST_CASE("user text files: TSV, CSV with RFC 4180 quoting and JSON lines, any row count, named columns") {
  auto parse_as = [](TextFormat f, GlueTask task, GlueSplit split, std::string_view text, TextColumns c = {}) {
    return parse_text_file(task, split, f, text, "u", c);
  };
  const auto csv =
      parse_as(TextFormat::csv, GlueTask::rte, GlueSplit::dev,
               "sentence1,sentence2,label\r\n\"A man, with a \"\"hat\"\".\",A man.,entailment\r\nx,\"two\nlines\",not_entailment\r\n");
  REQUIRE(csv.size() == 2);
  CHECK(csv[0].text_a == "A man, with a \"hat\".");
  CHECK(csv[0].label == 0);
  CHECK(csv[1].text_b == "two\nlines");
  CHECK(csv[1].label == 1);
  CHECK(csv[1].index == 1);
  const auto tsv =
      parse_as(TextFormat::tsv, GlueTask::sst2, GlueSplit::dev, "label\tsentence\tsource\n1\ta \"fine\" film\tweb\n0\tdull\tweb\n");
  REQUIRE(tsv.size() == 2);
  CHECK(tsv[0].text_a == "a \"fine\" film");  // TSV: quotes are text
  CHECK(tsv[1].label == 0);
  const auto jl = parse_as(TextFormat::jsonl, GlueTask::rte, GlueSplit::dev,
                           "{\"premise\": \"p\", \"hypothesis\": \"h\", \"y\": 1, \"idx\": 7}\n{\"premise\": \"q\", \"hypothesis\": \"i\", "
                           "\"y\": \"entailment\"}\n",
                           {"premise", "hypothesis", "y", ""});
  REQUIRE(jl.size() == 2);
  CHECK(jl[0].label == 1);
  CHECK(jl[0].index == 7);
  CHECK(jl[1].label == 0);
  const auto stsb =
      parse_as(TextFormat::jsonl, GlueTask::stsb, GlueSplit::train, "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": 3.8}\n");
  CHECK(stsb[0].score == doctest::Approx(3.8));
  const auto test = parse_as(TextFormat::csv, GlueTask::sst2, GlueSplit::test, "idx,sentence\n5,unlabelled\n");
  CHECK(test[0].index == 5);
  CHECK(test[0].label == -1);
  CHECK(text_format_of("a/b.JSONL") == TextFormat::jsonl);  // extensions in any case
}

TEST_CASE("user text files: malformed files throw naming file:line and the problem") {
  auto p = [](TextFormat f, std::string_view text, GlueTask task = GlueTask::rte) {
    return parse_text_file(task, GlueSplit::dev, f, text, "u");
  };
  const std::string head = "sentence1,sentence2,label\n";
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a,b\n"), "u:2: 2 columns, but the header has 3");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a,\"b,entailment\n"), "u:2: a quoted field is not closed");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a,\"b\"x,entailment\n"), "u:2: text after a closing quote");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a,b\"c,entailment\n"), "u:2: a quote inside an unquoted field");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a,b,neutral\n"), "u:2: label 'neutral' is not one of entailment, not_entailment");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a,b,entailment\n\nc,d,entailment\n"), "u:3: blank line");
  CHECK_THROWS_NAMING(p(TextFormat::csv, "sentence1,sentence1,label\n"), "u:1: column 'sentence1' appears twice");
  CHECK_THROWS_NAMING(p(TextFormat::csv, "premise,hypothesis,label\na,b,entailment\n"), "u:2: no column 'sentence1'");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head), "u: no examples");
  CHECK_THROWS_NAMING(p(TextFormat::csv, ""), "u: empty file");
  CHECK_THROWS_NAMING(p(TextFormat::tsv, "sentence1\tsentence2\tlabel\na\tb\tentailment\tx\n"), "u:2: 4 columns, but the header has 3");
  CHECK_THROWS_NAMING(p(TextFormat::jsonl, "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": 2}\n"),
                      "u:1: label id 2 is not in [0, 2)");
  CHECK_THROWS_NAMING(p(TextFormat::jsonl, "[1, 2]\n"), "u:1: not a JSON object");
  CHECK_THROWS_NAMING(
      p(TextFormat::jsonl, "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": \"entailment\"}\n{\"sentence1\": \"a\""),
      "u:2: not a JSON object");
  CHECK_THROWS_NAMING(p(TextFormat::jsonl, "{\"sentence1\": \"a\", \"sentence2\": \"b\", \"label\": 9}\n", GlueTask::stsb),
                      "u:1: score '9' is not a number in [0, 5]");
  CHECK_THROWS_NAMING(p(TextFormat::csv, head + "a\xC3,b,entailment\n"), "u: invalid UTF-8 at byte");
  CHECK_THROWS_NAMING(text_format_of("rows.txt"), "rows.txt: unknown format '.txt'");
}

TEST_CASE("glue metrics: HF's keys and order, and values equal sklearn / scipy") {
  // Expected values: sklearn 1.9.1 matthews_corrcoef / f1_score / accuracy_score and scipy 1.17.1
  // pearsonr / spearmanr on these arrays (python3, float64), printed with repr().
  const std::vector<double> labels{1, 1, 0, 1, 0, 0, 1, 1, 1, 0}, preds{1, 0, 0, 1, 1, 0, 1, 1, 0, 0};
  const GlueMetrics cola = glue_metrics(GlueTask::cola, preds, labels);
  REQUIRE(cola.values.size() == 1);
  CHECK(cola.values[0].first == "matthews_correlation");
  CHECK(cola.values[0].second == doctest::Approx(0.408248290463863).epsilon(1e-12));
  CHECK(cola.primary_key == "matthews_correlation");

  const GlueMetrics mrpc = glue_metrics(GlueTask::mrpc, preds, labels);
  REQUIRE(mrpc.values.size() == 3);
  CHECK(mrpc.values[0].first == "accuracy");
  CHECK(mrpc.values[1].first == "f1");
  CHECK(mrpc.values[2].first == "combined_score");
  CHECK(mrpc.at("accuracy") == doctest::Approx(0.7).epsilon(1e-12));
  CHECK(mrpc.at("f1") == doctest::Approx(0.7272727272727273).epsilon(1e-12));
  CHECK(mrpc.at("combined_score") == doctest::Approx((0.7 + 0.7272727272727273) / 2).epsilon(1e-12));
  CHECK(mrpc.primary() == mrpc.at("combined_score"));
  CHECK_THROWS_AS(mrpc.at("pearson"), Error);

  const GlueMetrics rte = glue_metrics(GlueTask::rte, preds, labels);
  REQUIRE(rte.values.size() == 1);
  CHECK(rte.values[0].first == "accuracy");
  CHECK(glue_metrics(GlueTask::sst2, preds, labels).at("accuracy") == doctest::Approx(0.7));

  // STS-B: ties in the predictions (2.0 twice, 3.3 twice) exercise Spearman's average ranks.
  const std::vector<double> sp{4.1, 2.0, 3.3, 0.5, 2.0, 5.0, 1.2, 3.3}, sl{5.0, 1.8, 3.3, 0.0, 2.4, 4.6, 1.2, 2.0};
  const GlueMetrics stsb = glue_metrics(GlueTask::stsb, sp, sl);
  REQUIRE(stsb.values.size() == 3);
  CHECK(stsb.values[0].first == "pearson");
  CHECK(stsb.values[1].first == "spearmanr");
  CHECK(stsb.values[2].first == "combined_score");
  CHECK(stsb.at("pearson") == doctest::Approx(0.9233971450473026).epsilon(1e-12));
  CHECK(stsb.at("spearmanr") == doctest::Approx(0.9157291161525718).epsilon(1e-12));
  CHECK(stsb.primary_key == "combined_score");

  // Multi-class MCC (sklearn's general formula) and the degenerate cases.
  const std::vector<double> l3{0, 1, 2, 0, 1, 2, 2, 1}, p3{0, 2, 2, 0, 1, 1, 2, 0};
  CHECK(matthews_corrcoef(p3, l3) == doctest::Approx(0.4523809523809524).epsilon(1e-12));
  CHECK(matthews_corrcoef(std::vector<double>{1, 1, 1}, std::vector<double>{1, 0, 1}) == 0.0);
  CHECK(f1_binary(std::vector<double>{0, 0, 0}, std::vector<double>{0, 0, 1}) == 0.0);
  CHECK(std::isnan(pearson(std::vector<double>{1, 1, 1}, std::vector<double>{1, 2, 3})));
  CHECK(spearman(std::vector<double>{1, 2, 3}, std::vector<double>{10, 20, 30}) == doctest::Approx(1.0));

  CHECK_THROWS_NAMING(glue_metrics(GlueTask::rte, std::vector<double>{0, 2}, std::vector<double>{0, 1}), "not a class id");
  CHECK_THROWS_NAMING(glue_metrics(GlueTask::cola, std::vector<double>{0.5}, std::vector<double>{0}), "not a class id");
  CHECK_THROWS_NAMING(glue_metrics(GlueTask::cola, std::vector<double>{0}, std::vector<double>{0, 1}), "1 predictions but 2 labels");
  CHECK_THROWS_AS(glue_metrics(GlueTask::stsb, std::vector<double>{}, std::vector<double>{}), Error);
}
