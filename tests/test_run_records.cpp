// The typed run records (apps/common/run_records.h) and the apps' shared flags and choices: each
// record round-trips through its JSON with the key names run directories have always used, a bad
// record names the field, and the enum choices parse from (and print as) their command-line names.
#include <CLI/CLI.hpp>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/common/choices.h"
#include "apps/common/json_fields.h"
#include "apps/common/run_records.h"
#include "apps/finetune_bert/options.h"
#include "apps/train_resnet/options.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

using json = nlohmann::json;

LayerStats conv_layer(const std::string& name) {
  LayerStats l{.name = name, .kernels = 2, .entries = 10, .dynamic = 3, .kappa = 0.3, .lambda_d = 1.25, .lambda_s = 0.75, .temperature = 30.0};
  l.attention = AttentionStats{.entropy = 0.9, .collapsed = 0.0, .mean = {0.25, 0.75}};
  return l;
}

LayerStats moe_layer(const std::string& name) {
  LayerStats l{.name = name, .kernels = 4, .entries = 10, .dynamic = 5, .kappa = 0.5, .lambda_d = 1.0, .lambda_s = 1.0};
  l.router = RouterStats{.experts = 4, .top_k = 2, .tokens = 5, .dead_experts = 1, .tokens_per_expert = {4, 0, 3, 3}, .entropy = 0.8, .balance_loss = 0.01f};
  return l;
}

ImpRecord imp_line() {
  ImpRecord r;
  r.iteration = 1, r.target_kappa = 0.5, r.achieved_kappa = 0.5, r.threshold = 1e-4, r.log10_lo = -6, r.log10_hi = -2;
  r.layers = {ImpLayerReport{"a", 8, 4, 4, 0.5, 1e-4, {2, 3, 3}, 0}};
  r.step = 7;
  r.settings = ImpSettings{5, ImpScorer::magnitude, ImpScope::layer, ImpSchedule::linear, 10};
  return r;
}

}  // namespace

TEST_CASE("run records: the JSON keeps the key names and round-trips") {
  SUBCASE("a dynamic.jsonl line, DY-Conv and MoE layers") {
    const DynamicRecord r{DynamicSnapshot{0.4, {conv_layer("c"), moe_layer("m")}}, 12, 2, 0.02};
    const json j = r;
    CHECK(j.at("layers").at(0).at("K") == 2);
    CHECK(j.at("layers").at(0).at("attn_mean") == json{0.25, 0.75});
    CHECK_FALSE(j.at("layers").at(0).contains("tokens_per_expert"));
    CHECK(j.at("layers").at(1).at("router_entropy") == 0.8);
    CHECK(j.at("layers").at(1).at("balance_loss") == double(0.01f));
    CHECK(j.at("step") == 12);
    const auto back = read_record<DynamicRecord>(j, "dynamic.jsonl:1");
    CHECK(json(back).dump() == j.dump());
    CHECK(back.layers[1].has_router());
    CHECK_FALSE(back.layers[1].has_attention());
  }
  SUBCASE("an imp.jsonl line with its settings, named as on the command line") {
    const json j = imp_line();
    CHECK(j.at("scorer") == "magnitude");
    CHECK(j.at("scope") == "layer");
    CHECK(j.at("schedule") == "linear");
    CHECK(json(read_record<ImpRecord>(j, "imp.jsonl:1")).dump() == j.dump());
    json old = j;  // written before the settings were recorded
    for (const char* k : {"iterations", "scorer", "scope", "schedule", "batches", "step"}) old.erase(k);
    const ImpRecord r = read_record<ImpRecord>(old, "imp.jsonl:1");
    CHECK_FALSE(r.settings.has_value());
    CHECK_FALSE(r.step.has_value());
  }
  SUBCASE("model.json and eval_results.json") {
    const ModelSummary m{100, 40, 50, 90, 3, 12345, 0.25, 10, 4000, 12000};
    CHECK(json(read_record<ModelSummary>(json(m), "model.json")).dump() == json(m).dump());
    CHECK(json(m).at("stored_parameters") == 90);
    const EvalResult e{"eval_", {{"accuracy", 0.5}, {"f1", 0.25}}, 0.7, 16, 2, 8, std::pair<std::string, double>{"accuracy", 0.75}};
    const json ej = e;
    CHECK(ej == json{{"eval_accuracy", 0.5}, {"eval_f1", 0.25}, {"eval_loss", 0.7}, {"eval_samples", 16}, {"epoch", 2}, {"step", 8}, {"best_accuracy", 0.75}});
    const EvalResult back = read_record<EvalResult>(ej, "eval_results.json");
    CHECK(back.prefix == "eval_");
    CHECK(json(back) == ej);
  }
}

TEST_CASE("run records: a bad record is an error naming where and the field") {
  json imp = imp_line();
  SUBCASE("a missing key") {
    imp.erase("target_kappa");
    CHECK_THROWS_WITH_AS(read_record<ImpRecord>(imp, "imp.jsonl:4"), doctest::Contains("imp.jsonl:4: missing key 'target_kappa'"), Error);
  }
  SUBCASE("a wrong type, in a layer") {
    imp["layers"][0]["kappa"] = "half";
    CHECK_THROWS_WITH_AS(read_record<ImpRecord>(imp, "imp.jsonl:4"),
                         doctest::Contains("imp.jsonl:4: layer 'a': 'kappa' must be a number, got \"half\""), Error);
  }
  SUBCASE("an integer that is not one") {
    imp["layers"][0]["flips"] = 1.5;
    CHECK_THROWS_WITH_AS(read_record<ImpRecord>(imp, "imp.jsonl:4"),
                         doctest::Contains("layer 'a': 'flips' must be an integer, got 1.5"), Error);
  }
  SUBCASE("an IMP setting that is not a choice") {
    imp["scorer"] = "taylor";
    CHECK_THROWS_WITH_AS(read_record<ImpRecord>(imp, "imp.jsonl:4"),
                         doctest::Contains("'scorer' must be grad, random or magnitude, got 'taylor'"), Error);
  }
  SUBCASE("a layer without a name") {
    imp["layers"][0].erase("name");
    CHECK_THROWS_WITH_AS(read_record<ImpRecord>(imp, "imp.jsonl:4"),
                         doctest::Contains("imp.jsonl:4: layers[0]: missing string 'name'"), Error);
  }
  SUBCASE("records with no layers") {
    imp["layers"] = json::array();
    CHECK_THROWS_WITH_AS(read_record<ImpRecord>(imp, "imp.jsonl:4"), doctest::Contains("imp.jsonl:4: no layers"), Error);
    const json dyn = {{"step", 1}, {"layers", json::array()}};
    CHECK_THROWS_WITH_AS(read_record<DynamicRecord>(dyn, "dynamic.jsonl:2"), doctest::Contains("dynamic.jsonl:2: no layers"), Error);
  }
  SUBCASE("a dynamic record without its step") {
    json dyn = DynamicRecord{DynamicSnapshot{0.3, {conv_layer("c")}}, 1, 1, std::nullopt};
    dyn.erase("step");
    CHECK_THROWS_WITH_AS(read_record<DynamicRecord>(dyn, "dynamic.jsonl:2"),
                         doctest::Contains("dynamic.jsonl:2: missing key 'step'"), Error);
  }
  SUBCASE("a router whose tokens are not counts") {
    json dyn = DynamicRecord{DynamicSnapshot{0.5, {moe_layer("m")}}, 1, 1, std::nullopt};
    dyn["layers"][0]["tokens_per_expert"] = json{4, 0, 3, 2.5};
    CHECK_THROWS_WITH_AS(read_record<DynamicRecord>(dyn, "dynamic.jsonl:2"),
                         doctest::Contains("layer 'm': 'tokens_per_expert' must be an integer"), Error);
  }
  SUBCASE("eval results that are not numbers") {
    CHECK_THROWS_WITH_AS(read_record<EvalResult>(json{{"accuracy", "high"}}, "eval_results.json"),
                         doctest::Contains("eval_results.json: 'accuracy' must be a number"), Error);
  }
}

TEST_CASE("run records: a dynamic.jsonl with a step recorded twice is rejected") {
  test::TempDir tmp;
  const std::string path = tmp.file("dynamic.jsonl");
  std::ofstream f(path);
  for (int64_t step : {1, 2, 2}) f << json(DynamicRecord{DynamicSnapshot{0.3, {conv_layer("c")}}, step, 1, std::nullopt}).dump() << "\n";
  f.close();
  CHECK_THROWS_WITH_AS(read_dynamic_jsonl(path),
                       doctest::Contains(("dynamic.jsonl:3: step 2 is recorded twice (first at " + path + ":2)").c_str()), Error);
}

TEST_CASE("choices: one names table gives to_string, parse, the CLI option and its errors") {
  CHECK(to_string(ImpSchedule::exponential) == "exp");
  CHECK(to_string(ConvKind::static_conv) == "static");
  CHECK(to_string(DatasetKind::fashion_mnist) == "fashion-mnist");
  CHECK(to_string(GlueTask::stsb) == "stsb");
  CHECK(to_string(DeviceType::cuda) == "cuda");
  CHECK(parse_choice<ImpScorer>("magnitude", "scorer") == ImpScorer::magnitude);
  CHECK_THROWS_WITH_AS(parse_choice<ImpScorer>("taylor", "scorer"), doctest::Contains("unknown scorer 'taylor' (expected grad, random or magnitude)"),
                       Error);

  CLI::App app;
  FfnKind ffn = FfnKind::dense;
  add_choice(app, "--ffn", ffn, "FFN linears");
  CHECK(app.help().find("--ffn TEXT:{dense,moe,pad}=dense") != std::string::npos);
  app.parse("--ffn pad", false);
  CHECK(ffn == FfnKind::pad);
  CHECK_THROWS_WITH_AS(app.parse("--ffn sparse", false), doctest::Contains("sparse not in {dense,moe,pad}"), CLI::ValidationError);
  CHECK_THROWS_AS(app.parse("--ffn 1", false), CLI::ValidationError);  // the enum's number is not a name
}

TEST_CASE("apps' options: the shared flags and the choices parse into the options, and config.json keeps its strings") {
  std::vector<std::string> args = {"train_resnet", "--conv", "dynamic", "--imp-scorer", "random", "--dataset", "cifar10", "--optimizer",
                                   "adamw",        "--epochs", "3",     "--device",     "cpu",    "--run-dir", "r", "--precision", "bf16"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  auto parsed = parse_train_options(int(argv.size()), argv.data());
  REQUIRE(std::holds_alternative<TrainOptions>(parsed));
  const TrainOptions& o = std::get<TrainOptions>(parsed);
  CHECK(o.conv == ConvKind::dynamic);
  CHECK(o.imp.scorer == ImpScorer::random);
  CHECK(o.optimizer == OptimizerKind::adamw);
  CHECK(o.epochs == 3);
  CHECK(o.batch_size == 128);  // train_resnet's default, not finetune_bert's
  const json c = o.to_json();
  CHECK(c.at("conv") == "dynamic");
  CHECK(c.at("dataset") == "cifar10");
  CHECK(c.at("imp_scorer") == "random");
  CHECK(c.at("device") == "cpu");
  CHECK(o.precision == Precision::bf16);
  CHECK(c.at("precision") == "bf16");
  CHECK(c.at("run_dir") == "r");
  CHECK_FALSE(c.contains("overwrite"));
  CHECK(c.at("imp_static_init") == "keep");  // IMP at initialisation: nothing learnt to keep
  CHECK(c.size() == 54);

  const FinetuneOptions f;
  CHECK(f.batch_size == 32);
  CHECK(f.seed == 42);
  CHECK(f.imp.kappa == 0.5);
  const json fc = f.to_json();
  CHECK(fc.at("task") == "rte");
  CHECK(fc.at("ffn") == "dense");
  CHECK(fc.at("imp_static_init") == "factors");  // IMP after warm-up keeps what it learnt
  CHECK(fc.at("router_init_std") == 0.0);
  CHECK(fc.at("upcycle_reinit") == 0.0);
  CHECK(fc.size() == 49);
  CHECK(fc.at("train_file") == "");
  CHECK(fc.at("precision") == "fp32");

  std::vector<std::string> bad = {"finetune_bert", "--ffn", "sparse"};
  std::vector<char*> bad_argv;
  for (auto& a : bad) bad_argv.push_back(a.data());
  auto refused = parse_finetune_options(int(bad_argv.size()), bad_argv.data());
  REQUIRE(std::holds_alternative<int>(refused));
  CHECK(std::get<int>(refused) == 2);
}

}  // namespace cherry
