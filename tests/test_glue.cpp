// GLUE: the real files (all fifteen splits: official row counts, labels, first rows), malformed files
// (each error names file:line), label tensors, and the metrics against sklearn/scipy values. The
// tokenizer on GLUE text is tested in test_text_fixtures.cpp.
#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "datasets/glue.h"
#include "datasets/glue_metrics.h"
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
