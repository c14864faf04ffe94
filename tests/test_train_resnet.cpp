// train_resnet end to end on tiny synthetic runs: the run directory's files, resume that equals
// the uninterrupted run bit for bit, refusal to overwrite, eval-only and init-from.
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "apps/common/build_info.h"
#include "apps/train_resnet/padnet_run.h"
#include "apps/train_resnet/trainer.h"
#include "core/safetensors.h"
#include "tests/test_util.h"
#include "tests/tiny_runs.h"

namespace cherry {
namespace {
namespace fs = std::filesystem;

TrainOptions tiny(const std::string& dir) { return test::tiny_resnet(dir); }

std::map<std::string, Tensor> last_checkpoint(const std::string& dir) { return load_safetensors(dir + "/checkpoints/last.safetensors"); }

}  // namespace

TEST_CASE("train_resnet writes config, metrics, summary, eval results and checkpoints") {
  test::TempDir tmp;
  const std::string dir = tmp.file("run");
  TrainResult r = run_train_resnet(tiny(dir));
  CHECK(r.steps == 8);
  for (const char* f : {"config.json", "metrics.jsonl", "summary.csv", "eval_results.json", "checkpoints/last.safetensors", "checkpoints/best.safetensors"})
    CHECK_MESSAGE(fs::exists(fs::path(dir) / f), f);
  // The record names what made it: the engine's git revision (refreshed at every build), the machine, the precision.
  const auto config = nlohmann::json::parse(std::ifstream(dir + "/config.json"));
  CHECK(config.at("engine").get<std::string>() == engine_revision());
  CHECK(config.at("machine").contains("cpu"));
  CHECK(config.at("precision").get<std::string>() == "fp32");
  std::ifstream m(dir + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(m, line)) {
    auto j = nlohmann::json::parse(line);
    for (const char* k : {"step", "epoch", "loss", "lr", "samples_per_s"}) CHECK_MESSAGE(j.contains(k), k);
    ++lines;
  }
  CHECK(lines == 8);
  auto eval = nlohmann::json::parse(std::ifstream(dir + "/eval_results.json"));
  CHECK(eval.at("accuracy").get<double>() >= 0.0);
  CHECK(eval.at("samples").get<int64_t>() == 32);
  std::ifstream s(dir + "/summary.csv");
  int rows = 0;
  while (std::getline(s, line)) ++rows;
  CHECK(rows == 3);  // header + 2 epochs
}

TEST_CASE("PAD-Net run: IMP, dynamic-layer records and model summary are consistent") {
  test::TempDir tmp;
  const std::string dir = tmp.file("pad");
  run_train_resnet(tiny(dir));
  for (const char* f : {"imp.jsonl", "dynamic.jsonl", "dynamic_summary.json", "model.json"}) CHECK_MESSAGE(fs::exists(fs::path(dir) / f), f);
  auto model = nlohmann::json::parse(std::ifstream(dir + "/model.json"));
  CHECK(std::abs(model.at("kappa").get<double>() - 0.3) < 1e-4);
  CHECK(model.at("stored_parameters").get<int64_t>() == model.at("static_parameters").get<int64_t>() + model.at("dynamic_parameters").get<int64_t>());
  CHECK(model.at("stored_parameters").get<int64_t>() < model.at("trainable_parameters").get<int64_t>());
  // The deployed form's cost: one index entry per dynamic position, FLOPs measured on the folded model
  // (it mixes the K values of the dynamic entries only, the training form all K x N), its bytes.
  ResNet fresh(ResNetConfig{"resnet20", 1, 10}, conv_factory_from(tiny(dir)));
  int64_t entries = 0;
  for (const auto& [name, l] : pad_layers(fresh)) entries += l->weight_numel();
  CHECK(std::abs(double(model.at("index_entries").get<int64_t>()) - model.at("kappa").get<double>() * double(entries)) < 1.0);
  CHECK(model.at("deployed_flops_per_image").get<int64_t>() < model.at("flops_per_image").get<int64_t>());
  CHECK(model.at("deployed_bytes").get<int64_t>() >= 4 * model.at("stored_parameters").get<int64_t>());
  std::ifstream imp(dir + "/imp.jsonl");
  std::string line;
  int iterations = 0;
  while (std::getline(imp, line)) {
    auto it = nlohmann::json::parse(line);
    int64_t entries = 0, dynamic = 0;
    for (const auto& l : it.at("layers")) entries += l.at("entries").get<int64_t>(), dynamic += l.at("dynamic").get<int64_t>();
    CHECK(std::abs(double(dynamic) - it.at("target_kappa").get<double>() * double(entries)) <= double(it.at("layers").size()));
    ++iterations;
  }
  CHECK(iterations == 2);
  std::ifstream dyn(dir + "/dynamic.jsonl");
  int records = 0;
  double first_tau = 0, last_tau = 0;
  while (std::getline(dyn, line)) {
    auto d = nlohmann::json::parse(line);
    for (const auto& l : d.at("layers")) {
      double total = 0;
      for (double a : l.at("attn_mean")) total += a;
      CHECK(total == doctest::Approx(1.0));
      CHECK(l.at("attn_entropy").get<double>() >= 0.0);
      CHECK(l.at("attn_entropy").get<double>() <= 1.0 + 1e-9);
      CHECK(l.at("lambda_d").get<double>() + l.at("lambda_s").get<double>() == doctest::Approx(2.0));
    }
    (records == 0 ? first_tau : last_tau) = d.at("layers")[0].at("temperature").get<double>();
    ++records;
  }
  CHECK(records == 8);
  CHECK(first_tau == doctest::Approx(30.0));  // annealing starts at --temp-start and falls per step
  CHECK(last_tau < first_tau);
}

TEST_CASE("train_resnet: the attention temperature falls linearly per step from 30 to 1 over 10 epochs, then stays") {
  TrainOptions o;  // the defaults: 30 -> 1 over 10 epochs
  const int64_t per_epoch = 50;
  CHECK(temperature_at(o, 0, per_epoch) == doctest::Approx(30.0));
  CHECK(temperature_at(o, 250, per_epoch) == doctest::Approx(15.5));
  CHECK(temperature_at(o, 499, per_epoch) == doctest::Approx(1.0 + 29.0 / 500));
  CHECK(temperature_at(o, 500, per_epoch) == doctest::Approx(1.0));
  CHECK(temperature_at(o, 100000, per_epoch) == doctest::Approx(1.0));
}

TEST_CASE("resume equals the uninterrupted run, bit for bit (mid-epoch interruption)") {
  test::TempDir tmp;
  const std::string a = tmp.file("uninterrupted"), b = tmp.file("interrupted");
  run_train_resnet(tiny(a));
  TrainOptions first = tiny(b);
  first.max_steps = 5;  // stops one step into epoch 2
  CHECK(run_train_resnet(first).steps == 5);
  TrainOptions second = tiny(b);
  second.overwrite = false;
  second.resume = "auto";
  CHECK(run_train_resnet(second).steps == 8);
  auto ca = last_checkpoint(a), cb = last_checkpoint(b);
  REQUIRE(ca.size() == cb.size());
  for (const auto& [name, t] : ca) {
    const std::string& tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    REQUIRE(cb.count(name));
    CHECK_CLOSE(cb.at(name), t, 0, 0);
  }
}

TEST_CASE("a killed run resumed writes the uninterrupted run's logs (running averages included), and a finished run resumed does nothing") {
  test::TempDir tmp;
  const std::string a = tmp.file("uninterrupted"), b = tmp.file("killed");
  TrainOptions o = tiny(a);
  o.save_every = 1, o.keep_last = 100;
  run_train_resnet(o);
  // The killed run: A's folder as a kill after step 7 leaves it, its newest checkpoint from step 5.
  fs::copy(a, b, fs::copy_options::recursive);
  for (const auto& e : fs::directory_iterator(b + "/checkpoints"))
    if (e.path().filename().string() > "step-0000000005.safetensors") fs::remove(e.path());
  fs::remove(b + "/checkpoints/best.safetensors");
  fs::copy_file(b + "/checkpoints/step-0000000005.safetensors", b + "/checkpoints/last.safetensors", fs::copy_options::overwrite_existing);
  TrainOptions resumed = o;
  resumed.run_dir = b, resumed.overwrite = false, resumed.resume = "auto";
  CHECK(run_train_resnet(resumed).steps == 8);
  auto records = [](const std::string& path) {  // the log without its timings
    std::vector<nlohmann::json> v;
    std::ifstream f(path);
    for (std::string line; std::getline(f, line);) {
      auto j = nlohmann::json::parse(line);
      for (const char* k : {"step_ms", "samples_per_s", "eta_s"}) j.erase(k);
      v.push_back(j);
    }
    return v;
  };
  for (const char* log : {"metrics.jsonl", "dynamic.jsonl", "imp.jsonl"}) {
    CAPTURE(log);
    CHECK(records(a + "/" + log) == records(b + "/" + log));
  }
  auto text = [](const std::string& path) {
    std::ifstream f(path);
    return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  };
  CHECK(text(a + "/summary.csv") == text(b + "/summary.csv"));

  const std::string summary = text(b + "/summary.csv"), metrics = text(b + "/metrics.jsonl");
  CHECK(run_train_resnet(resumed).steps == 8);  // finished: nothing trained, nothing appended
  CHECK(text(b + "/summary.csv") == summary);
  CHECK(text(b + "/metrics.jsonl") == metrics);
}

TEST_CASE("bf16 mixed precision: f32 checkpoints, bit-exact resume, the fp32 run's losses to 2% (static, DY-Conv), recorded") {
  test::TempDir tmp;
  const std::string a = tmp.file("bf16"), b = tmp.file("bf16_resumed"), c = tmp.file("fp32");
  TrainOptions o = tiny(a);
  o.precision = Precision::bf16;
  run_train_resnet(o);
  for (const auto& [name, t] : last_checkpoint(a)) {
    const std::string& tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    CHECK((t.dtype() == DType::f32 || t.dtype() == DType::i64 || t.dtype() == DType::boolean || t.dtype() == DType::u8));
  }
  auto config = nlohmann::json::parse(std::ifstream(a + "/config.json"));
  CHECK(config.at("precision") == "bf16");
  CHECK(config.at("machine").at("onednn_isa").get<std::string>().size() > 0);

  TrainOptions first = tiny(b);
  first.precision = Precision::bf16, first.max_steps = 5;
  run_train_resnet(first);
  TrainOptions second = first;
  second.max_steps = 0, second.overwrite = false, second.resume = "auto";
  CHECK(run_train_resnet(second).steps == 8);
  auto ca = last_checkpoint(a), cb = last_checkpoint(b);
  for (const auto& [name, t] : ca) {
    const std::string& tensor = name;  // clang 14 cannot capture a structured binding
    CAPTURE(tensor);
    CHECK_CLOSE(cb.at(name), t, 0, 0);
  }

  // The same runs in fp32. bf16 moves each step's loss by rounding, and the trajectories drift apart
  // over the steps; PAD's IMP would also pick its mask from bf16 gradients, so the loss comparison
  // uses the convs without IMP (static and DY-Conv), where the drift is rounding only.
  auto losses = [](const std::string& dir) {
    std::vector<double> v;
    std::ifstream m(dir + "/metrics.jsonl");
    for (std::string line; std::getline(m, line);) v.push_back(nlohmann::json::parse(line).at("loss").get<double>());
    return v;
  };
  for (ConvKind kind : {ConvKind::static_conv, ConvKind::dynamic}) {
    CAPTURE(static_cast<int>(kind));
    TrainOptions o32 = tiny(c), o16 = tiny(a);
    o32.conv = o16.conv = kind;
    o32.lr = o16.lr = 0.02;
    o16.precision = Precision::bf16;
    run_train_resnet(o32);
    run_train_resnet(o16);
    const auto l16 = losses(a), l32 = losses(c);
    REQUIRE(l16.size() == l32.size());
    CHECK(l16 != l32);  // it did compute in bf16
    for (size_t i = 0; i < l16.size(); ++i) {
      CAPTURE(i);
      CHECK(std::abs(l16[i] - l32[i]) <= 0.02 * std::abs(l32[i]));  // measured: at most 0.7%
    }
  }
}

TEST_CASE("train_resnet refuses to reuse a run directory without --overwrite, and eval-only and init-from load weights") {
  test::TempDir tmp;
  const std::string dir = tmp.file("refuse");
  TrainResult r = run_train_resnet(tiny(dir));
  TrainOptions again = tiny(dir);
  again.overwrite = false;
  CHECK_THROWS_AS(run_train_resnet(again), Error);

  const std::string eval_dir = tmp.file("eval");
  TrainOptions ev = tiny(eval_dir);
  ev.eval_only = true;
  ev.init_from = dir + "/checkpoints/last.safetensors";
  TrainResult e = run_train_resnet(ev);
  CHECK(e.final_metric == doctest::Approx(r.final_metric));
  ev.init_from = dir + "/config.json";  // not a safetensors file
  CHECK_THROWS_AS(run_train_resnet(ev), Error);
  TrainOptions no_weights = tiny(eval_dir);
  no_weights.eval_only = true;
  CHECK_THROWS_AS(run_train_resnet(no_weights), Error);

  // Weights with a NaN are refused by --init-from, for evaluation and for training.
  auto weights = last_checkpoint(dir);
  Tensor w = weights.at("fc.weight").clone();
  w.data_ptr<float>()[3] = std::nanf("");
  weights["fc.weight"] = w;
  const std::string bad = tmp.file("nan.safetensors");
  save_safetensors(bad, weights);
  ev.init_from = bad;
  CHECK_THROWS_WITH_AS(run_train_resnet(ev), doctest::Contains("fc.weight"), Error);
  ev.eval_only = false;
  CHECK_THROWS_WITH_AS(run_train_resnet(ev), doctest::Contains("1 non-finite value"), Error);
}

}  // namespace cherry

namespace cherry {

TEST_CASE("--overfit-batch drives the loss of one fixed batch towards zero") {
  test::TempDir tmp;
  TrainOptions o = tiny(tmp.file("overfit"));
  o.overfit_batch = true;
  o.batch_size = 8;
  o.max_steps = 40;
  o.lr = 0.05;
  o.weight_decay = 0;
  run_train_resnet(o);
  std::ifstream m(o.run_dir + "/metrics.jsonl");
  std::string line;
  std::vector<double> losses;
  while (std::getline(m, line)) losses.push_back(nlohmann::json::parse(line).at("loss").get<double>());
  REQUIRE(losses.size() == 40);
  CHECK(losses.back() < 0.1 * losses.front());
}

TEST_CASE("a non-finite loss stops the run with the step, the culprit and a crash checkpoint") {
  test::TempDir tmp;
  TrainOptions o = tiny(tmp.file("diverge"));
  o.lr = 1e30;
  o.momentum = 0;
  try {
    run_train_resnet(o);
    FAIL("expected the run to stop");
  } catch (const Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find("non-finite") != std::string::npos);
    CHECK(msg.find("at step") != std::string::npos);
    CHECK(msg.find("crash-step-") != std::string::npos);
  }
  bool crash = false;
  for (const auto& f : std::filesystem::directory_iterator(o.run_dir + "/checkpoints"))
    crash |= f.path().filename().string().starts_with("crash-step-");
  CHECK(crash);
}

}  // namespace cherry
