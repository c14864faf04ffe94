// finetune_bert end to end on the tiny BERT fixture with synthetic GLUE-shaped data: the run
// directory with Hugging Face's eval key names, resume == uninterrupted for PAD-MoE with IMP in
// between, the MoE audit records (tokens per expert = tokens x k, gates), regression (STS-B), and
// clear errors for a missing model folder.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/audit/audit_data.h"
#include "apps/audit/report.h"
#include "apps/finetune_bert/trainer.h"
#include "core/safetensors.h"
#include "tests/test_util.h"

namespace cherry {
namespace {
namespace fs = std::filesystem;

FinetuneOptions tiny_bert(const std::string& dir) {
  FinetuneOptions o;
  o.model = std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny";
  o.synthetic = true;
  o.max_seq_length = 16;
  o.batch_size = 8;
  o.max_train_samples = 32;  // 4 steps per epoch
  o.max_eval_samples = 16;
  o.epochs = 2;
  o.lr = 1e-3;
  o.run_dir = dir;
  o.overwrite = true;
  o.log_every = 1;
  o.imp.batches = 2, o.imp.iters = 2;
  return o;
}

std::vector<nlohmann::json> jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream f(path);
  std::string line;
  while (std::getline(f, line)) out.push_back(nlohmann::json::parse(line));
  return out;
}

}  // namespace

TEST_CASE("finetune_bert: dense run writes Hugging Face's eval keys, summary and checkpoints") {
  test::TempDir tmp;
  const std::string dir = tmp.file("dense");
  TrainResult r = run_finetune_bert(tiny_bert(dir));
  CHECK(r.steps == 8);
  auto ev = nlohmann::json::parse(std::ifstream(dir + "/eval_results.json"));
  for (const char* k : {"eval_accuracy", "eval_loss", "eval_samples", "epoch"}) CHECK_MESSAGE(ev.contains(k), k);
  CHECK(ev.at("eval_samples").get<int64_t>() == 16);
  CHECK(fs::exists(dir + "/checkpoints/best.safetensors"));
  CHECK(jsonl(dir + "/metrics.jsonl").size() == 8);
}

TEST_CASE("finetune_bert --precision bf16: dense and PAD-MoE follow the fp32 losses to 1%, checkpoints stay f32") {
  for (FfnKind ffn : {FfnKind::dense, FfnKind::pad}) {
    CAPTURE(int(ffn));
    test::TempDir tmp;
    FinetuneOptions o32 = tiny_bert(tmp.file("fp32"));
    o32.ffn = ffn, o32.experts = 4, o32.top_k = 2, o32.imp_after = 3;
    FinetuneOptions o16 = o32;
    o16.run_dir = tmp.file("bf16"), o16.precision = Precision::bf16;
    run_finetune_bert(o32);
    run_finetune_bert(o16);
    const auto l32 = jsonl(o32.run_dir + "/metrics.jsonl"), l16 = jsonl(o16.run_dir + "/metrics.jsonl");
    REQUIRE(l16.size() == l32.size());
    bool differs = false;
    for (size_t i = 0; i < l16.size(); ++i) {
      CAPTURE(i);
      const double a = l32[i].at("loss").get<double>(), b = l16[i].at("loss").get<double>();
      differs = differs || a != b;
      CHECK(std::abs(a - b) <= 0.01 * std::abs(a));  // measured: at most 0.07%
    }
    CHECK(differs);  // it did compute in bf16
    for (const auto& [name, t] : load_safetensors(o16.run_dir + "/checkpoints/last.safetensors")) {
      const std::string tensor = name;  // clang 14 cannot capture a structured binding
      CAPTURE(tensor);
      CHECK(t.dtype() != DType::bf16);
    }
    CHECK(nlohmann::json::parse(std::ifstream(o16.run_dir + "/config.json")).at("precision") == "bf16");
  }
}

TEST_CASE("finetune_bert: STS-B is regression with Pearson/Spearman") {
  test::TempDir tmp;
  FinetuneOptions o = tiny_bert(tmp.file("stsb"));
  o.task = GlueTask::stsb;
  run_finetune_bert(o);
  auto ev = nlohmann::json::parse(std::ifstream(o.run_dir + "/eval_results.json"));
  for (const char* k : {"eval_pearson", "eval_spearmanr", "eval_combined_score"}) CHECK_MESSAGE(ev.contains(k), k);
}

TEST_CASE("finetune_bert: PAD-MoE resumes bit for bit across IMP, and its audit records hold") {
  test::TempDir tmp;
  const std::string a = tmp.file("uninterrupted"), b = tmp.file("interrupted");
  FinetuneOptions o = tiny_bert(a);
  o.ffn = FfnKind::pad, o.experts = 4, o.top_k = 2, o.imp_after = 3;
  run_finetune_bert(o);
  FinetuneOptions first = o;
  first.run_dir = b, first.max_steps = 2;  // stops before IMP
  run_finetune_bert(first);
  FinetuneOptions second = o;
  second.run_dir = b, second.overwrite = false, second.resume = "auto";
  CHECK(run_finetune_bert(second).steps == 8);
  auto ca = load_safetensors(a + "/checkpoints/last.safetensors"), cb = load_safetensors(b + "/checkpoints/last.safetensors");
  REQUIRE(ca.size() == cb.size());
  for (const auto& [name, t] : ca) {
    const std::string tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    CHECK_CLOSE(cb.at(name), t, 0, 0);
  }
  auto model = nlohmann::json::parse(std::ifstream(a + "/model.json"));
  CHECK(std::abs(model.at("kappa").get<double>() - 0.5) < 1e-3);
  CHECK(jsonl(a + "/imp.jsonl").size() == 2);
  for (const auto& rec : jsonl(a + "/dynamic.jsonl")) {
    REQUIRE(rec.at("layers").size() == 4);  // 2 layers x (intermediate, output)
    for (const auto& l : rec.at("layers")) {
      int64_t routed = 0;
      for (auto n : l.at("tokens_per_expert")) routed += n.get<int64_t>();
      CHECK(routed == l.at("tokens").get<int64_t>() * 2);
      CHECK(l.at("lambda_d").get<double>() + l.at("lambda_s").get<double>() == doctest::Approx(2.0));
    }
  }
}

TEST_CASE("finetune_bert: a run killed after its last checkpoint resumes with logs equal to the uninterrupted run's") {
  test::TempDir tmp;
  const std::string a = tmp.file("uninterrupted"), b = tmp.file("killed"), saved = tmp.file("saved_checkpoints");
  FinetuneOptions o = tiny_bert(a);
  o.ffn = FfnKind::pad, o.experts = 4, o.top_k = 2, o.imp_after = 3;
  run_finetune_bert(o);
  // The killed run: checkpoint at step 2, then logs and IMP (at step 3) up to step 5, whose checkpoint
  // is lost, and a metrics line cut short by the kill.
  FinetuneOptions part = o;
  part.run_dir = b, part.max_steps = 2;
  run_finetune_bert(part);
  fs::copy(b + "/checkpoints", saved);
  part.overwrite = false, part.resume = "auto", part.max_steps = 5;
  run_finetune_bert(part);
  fs::remove_all(b + "/checkpoints");
  fs::rename(saved, b + "/checkpoints");
  std::ofstream(b + "/metrics.jsonl", std::ios::app) << "{\"step\":6,\"epo";
  REQUIRE(jsonl(b + "/imp.jsonl").size() == 2);

  FinetuneOptions rest = o;
  rest.run_dir = b, rest.overwrite = false, rest.resume = "auto";
  CHECK(run_finetune_bert(rest).steps == 8);
  auto steps_and_losses = [](const std::string& dir) {
    std::vector<std::pair<int64_t, double>> out;
    for (const auto& r : jsonl(dir + "/metrics.jsonl")) out.emplace_back(r.at("step").get<int64_t>(), r.at("loss").get<double>());
    return out;
  };
  CHECK(steps_and_losses(b) == steps_and_losses(a));
  CHECK(jsonl(b + "/imp.jsonl") == jsonl(a + "/imp.jsonl"));
  auto dyn_a = jsonl(a + "/dynamic.jsonl"), dyn_b = jsonl(b + "/dynamic.jsonl");
  REQUIRE(dyn_b.size() == dyn_a.size());
  for (size_t i = 0; i < dyn_a.size(); ++i) CHECK(dyn_b[i].at("step") == dyn_a[i].at("step"));
  // summary.csv: the step-2 evaluation of the first part stays (it happened before the checkpoint);
  // the lost step-5 one goes.
  auto rows = [](const std::string& dir) {
    std::vector<std::string> out;
    std::ifstream f(dir + "/summary.csv");
    for (std::string line; std::getline(f, line);) out.push_back(line.substr(0, line.find(',', line.find(',') + 1)));  // epoch,step
    return out;
  };
  CHECK(rows(a) == std::vector<std::string>{"epoch,step", "1,4", "2,8"});
  CHECK(rows(b) == std::vector<std::string>{"epoch,step", "1,2", "1,4", "2,8"});
}

TEST_CASE("finetune_bert: PAD-MoE --export-deploy folds to the same logits and the stored count the model reports") {
  test::TempDir tmp;
  FinetuneOptions o = tiny_bert(tmp.file("deploy"));
  o.ffn = FfnKind::pad, o.experts = 4, o.top_k = 2, o.imp_after = 3;
  o.export_deploy = tmp.file("deployed.safetensors");
  run_finetune_bert(o);
  auto d = nlohmann::json::parse(std::ifstream(o.run_dir + "/deploy.json"));
  auto model = nlohmann::json::parse(std::ifstream(o.run_dir + "/model.json"));
  CHECK(d.at("max_abs_output_diff").get<double>() < 1e-4);
  CHECK(d.at("stored_values").get<int64_t>() == model.at("stored_parameters").get<int64_t>());
  CHECK(d.at("stored_values").get<int64_t>() == d.at("dynamic_values").get<int64_t>() + d.at("static_values").get<int64_t>());
  // From the file: per FFN linear, E values per dynamic entry plus the dense static part (kappa 0.5 of N).
  auto f = load_safetensors(o.export_deploy);
  int64_t layers = 0, entries = 0, dynamic = 0;
  for (const auto& [name, t] : f) {
    const std::string tensor = name;  // clang 14 cannot capture a structured binding
    CHECK_MESSAGE(!tensor.ends_with("w_noise"), tensor);
    if (!name.ends_with(".values")) continue;
    const std::string base = name.substr(0, name.size() - std::string("values").size());
    const int64_t n = f.at(base + "static_dense").numel(), dyn = f.at(base + "index").numel();
    CHECK(t.size(0) == 4);
    CHECK(t.size(1) == dyn);
    CHECK(dyn > 0);
    CHECK(dyn < n);
    entries += n, dynamic += dyn;
    ++layers;
  }
  CHECK(layers == 4);  // 2 layers x (intermediate, output)
  CHECK(std::abs(double(dynamic) / double(entries) - 0.5) < 1e-3);  // global IMP: kappa over all layers
  // The audit program reads the real run: its invariant checks pass and the router section renders.
  std::vector<std::string> ids;
  const audit::AuditData run = audit::read_audit_input(o.run_dir);
  CHECK(run.skipped.empty());
  const std::string html = audit::render_report(run, &ids);
  CHECK(html.find("partitioned the mask after 3 training steps") != std::string::npos);
  CHECK(std::find(ids.begin(), ids.end(), "router") != ids.end());
  CHECK(std::find(ids.begin(), ids.end(), "attention") == ids.end());
}

TEST_CASE("finetune_bert: IMP that cannot run, or would score untrained experts, is a clear error") {
  test::TempDir tmp;
  FinetuneOptions o = tiny_bert(tmp.file("imp"));
  o.ffn = FfnKind::pad, o.experts = 4, o.top_k = 2;
  o.imp_after = 8;  // the run has 8 steps
  CHECK_THROWS_WITH_AS(run_finetune_bert(o), doctest::Contains("IMP would never run"), Error);
  o.imp_after = 0;
  CHECK_THROWS_WITH_AS(run_finetune_bert(o), doctest::Contains("every grad score is 0"), Error);
  o.imp.scorer = ImpScorer::random, o.max_steps = 1;  // random needs no training first
  CHECK(run_finetune_bert(o).steps == 1);
}

TEST_CASE("finetune_bert: --train-file, --validation-file and --test-file read a user's CSV, JSON lines and TSV, any row count") {
  test::TempDir tmp;
  const std::string model = tmp.file("model");
  fs::create_directories(model);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny/" + f, model + "/" + f);
  {
    std::ofstream vocab(model + "/vocab.txt");  // as many tokens as the fixture's 100 embedding rows
    for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab << special << "\n";
    for (int i = 5; i < 100; ++i) vocab << char('a' + i % 26) << (i < 31 ? "" : std::to_string(i)) << "\n";
  }
  std::ofstream(tmp.file("train.csv")) << "premise,hypothesis,gold\n"
                                       << "\"a b, c\",d e,entailment\nf g,h,not_entailment\ni j,k,entailment\nl,m n,not_entailment\n"
                                       << "o,p,entailment\nq,r,not_entailment\n";
  std::ofstream(tmp.file("dev.jsonl")) << "{\"premise\": \"a b\", \"hypothesis\": \"c\", \"gold\": 0}\n"
                                       << "{\"premise\": \"d\", \"hypothesis\": \"e f\", \"gold\": \"not_entailment\"}\n"
                                       << "{\"premise\": \"g\", \"hypothesis\": \"h\", \"gold\": 1}\n";
  std::ofstream(tmp.file("test.tsv")) << "idx\tpremise\thypothesis\n10\ta\tb\n11\tc\td\n";
  FinetuneOptions o = tiny_bert(tmp.file("run"));
  o.model = model, o.synthetic = false, o.max_train_samples = 0, o.max_eval_samples = 0, o.epochs = 1, o.batch_size = 2;
  o.train_file = tmp.file("train.csv"), o.validation_file = tmp.file("dev.jsonl"), o.test_file = tmp.file("test.tsv");
  o.text_columns = {"premise", "hypothesis"}, o.label_column = "gold";
  TrainResult r = run_finetune_bert(o);
  CHECK(r.steps == 3);
  CHECK(nlohmann::json::parse(std::ifstream(o.run_dir + "/eval_results.json")).at("eval_samples") == 3);
  std::ifstream pred(o.run_dir + "/predict_results_rte.txt");
  std::vector<std::string> lines;
  for (std::string line; std::getline(pred, line);) lines.push_back(line);
  REQUIRE(lines.size() == 3);  // header + one line per test row, numbered by position as run_glue does
  CHECK(lines[1].starts_with("0\t"));
  CHECK(lines[2].starts_with("1\t"));
  o.label_column = "label";
  CHECK_THROWS_WITH_AS(run_finetune_bert(o), doctest::Contains("train.csv:2: no column 'label'"), Error);
}

TEST_CASE("finetune_bert: a missing model folder, an over-long max length or a vocab.txt of another size is a clear error") {
  test::TempDir tmp;
  FinetuneOptions o = tiny_bert(tmp.file("bad"));
  o.model = tmp.file("nowhere");
  CHECK_THROWS_WITH_AS(run_finetune_bert(o), doctest::Contains("no BERT model in"), Error);
  o = tiny_bert(tmp.file("bad2"));
  o.max_seq_length = 64;
  CHECK_THROWS_WITH_AS(run_finetune_bert(o), doctest::Contains("exceeds the model's max_position_embeddings"), Error);

  // A vocab.txt that does not belong to the model (1000 tokens against 100 embedding rows).
  const std::string model = tmp.file("model");
  fs::create_directories(model);
  for (const char* f : {"config.json", "model.safetensors"})
    fs::copy_file(std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny/" + f, model + "/" + f);
  std::ofstream vocab(model + "/vocab.txt");
  for (const char* special : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab << special << "\n";
  for (int i = 5; i < 1000; ++i) vocab << "tok" << i << "\n";
  vocab.close();
  o = tiny_bert(tmp.file("bad3"));
  o.model = model, o.synthetic = false;
  CHECK_THROWS_WITH_AS(run_finetune_bert(o), doctest::Contains("holds 1000 tokens but"), Error);
}

}  // namespace cherry
