// Nothing lost, nothing silently wrong: what a hostile user tried against the run directory, resume,
// evaluation, cherry_audit's output and the numeric flags (issue 23). Each case failed before its fix.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "apps/audit/report.h"
#include "apps/common/checkpoint.h"
#include "apps/finetune_bert/options.h"
#include "apps/train_resnet/trainer.h"
#include "core/safetensors.h"
#include "tests/test_util.h"
#include "tests/tiny_runs.h"

namespace cherry {
namespace {
namespace fs = std::filesystem;

TrainOptions quick(const std::string& dir) {  // no IMP: these tests are about files, not PAD
  TrainOptions o = test::tiny_resnet(dir);
  o.conv = ConvKind::static_conv;
  return o;
}

TrainOptions resuming(const std::string& dir, const std::string& from = "auto") {  // --resume of quick(dir)
  TrainOptions o = quick(dir);
  o.overwrite = false, o.resume = from;
  return o;
}

// A quick run of 3 steps with a checkpoint after each, into `dir`.
void three_steps(const std::string& dir) {
  TrainOptions o = quick(dir);
  o.max_steps = 3, o.save_every = 1;
  run_train_resnet(o);
}

std::string slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

int parse_exit(std::vector<std::string> args, bool bert = false) {  // 0: parsed, else the exit code
  args.insert(args.begin(), bert ? "finetune_bert" : "train_resnet");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  if (bert) {
    auto r = parse_finetune_options(int(argv.size()), argv.data());
    return std::holds_alternative<int>(r) ? std::get<int>(r) : 0;
  }
  auto r = parse_train_options(int(argv.size()), argv.data());
  return std::holds_alternative<int>(r) ? std::get<int>(r) : 0;
}

}  // namespace

TEST_CASE("--overwrite deletes only a Cherry run directory's own files, and refuses a folder or file that is not a run") {
  test::TempDir tmp;
  const std::string user = tmp.file("thesis");
  fs::create_directories(user + "/chapters");
  write(user + "/thesis.txt", "years of work");
  CHECK_THROWS_WITH_AS(run_train_resnet(quick(user)), doctest::Contains("not a Cherry run directory"), Error);
  CHECK(slurp(user + "/thesis.txt") == "years of work");
  CHECK(fs::is_directory(user + "/chapters"));

  const std::string file = tmp.file("notes.txt");
  write(file, "notes");
  CHECK_THROWS_WITH_AS(run_train_resnet(quick(file)), doctest::Contains("is a file"), Error);
  CHECK(slurp(file) == "notes");

  const std::string run = tmp.file("run");
  run_train_resnet(quick(run));
  write(run + "/my_notes.md", "kept");
  write(run + "/checkpoints/.step-0000000004.safetensors.tmp-1-0", "stale");
  run_train_resnet(quick(run));  // --overwrite of a run: replaced, the user's file kept
  CHECK(slurp(run + "/my_notes.md") == "kept");
  CHECK(!fs::exists(run + "/checkpoints/.step-0000000004.safetensors.tmp-1-0"));
  CHECK(fs::exists(run + "/checkpoints/last.safetensors"));
  CHECK(nlohmann::json::parse(std::ifstream(run + "/config.json")).at("app") == "train_resnet");
}

TEST_CASE("--eval-only of a run writes RUN/eval_only and leaves the training record as it was") {
  test::TempDir tmp;
  const std::string run = tmp.file("run");
  run_train_resnet(quick(run));
  const std::string config = slurp(run + "/config.json"), eval = slurp(run + "/eval_results.json"), metrics = slurp(run + "/metrics.jsonl"),
                    summary = slurp(run + "/summary.csv");
  TrainOptions ev = resuming(run);
  ev.eval_only = true, ev.max_eval_samples = 8, ev.batch_size = 4;
  run_train_resnet(ev);
  CHECK(slurp(run + "/config.json") == config);
  CHECK(slurp(run + "/eval_results.json") == eval);
  CHECK(slurp(run + "/metrics.jsonl") == metrics);
  CHECK(slurp(run + "/summary.csv") == summary);
  CHECK(nlohmann::json::parse(std::ifstream(run + "/eval_only/eval_results.json")).at("samples") == 8);
  run_train_resnet(ev);  // again: replaces its own record
  CHECK(fs::exists(run + "/eval_only/config.json"));
}

TEST_CASE("--resume refuses settings that differ from the checkpoint's, naming each, unless --allow-changed lists them") {
  test::TempDir tmp;
  const std::string run = tmp.file("run");
  three_steps(run);
  const std::string metrics = slurp(run + "/metrics.jsonl");
  TrainOptions again = resuming(run);
  again.batch_size = 8, again.lr = 0.05;
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("batch_size: 16 in the checkpoint, 8 now (the saved data position"),
                       Error);
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("lr: 0.1 in the checkpoint, 0.05 now"), Error);
  again.batch_size = 16, again.allow_changed = {"batch_size", "lr"};
  again.seed = 7;
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("seed: 0 in the checkpoint, 7 now"), Error);
  CHECK(slurp(run + "/metrics.jsonl") == metrics);  // nothing rewritten by the refusals
  again.seed = 0;
  CHECK(run_train_resnet(again).steps == 8);  // lr allowed to change
  CHECK(nlohmann::json::parse(std::ifstream(run + "/config.json")).at("lr") == 0.05);
}

TEST_CASE("--resume auto with every checkpoint unreadable stops, listing each and why, and changes nothing") {
  test::TempDir tmp;
  const std::string run = tmp.file("run");
  three_steps(run);
  for (const auto& e : fs::directory_iterator(run + "/checkpoints")) fs::resize_file(e.path(), 100);
  const std::string metrics = slurp(run + "/metrics.jsonl");
  TrainOptions again = resuming(run);
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("no checkpoint in"), Error);
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("last.safetensors: "), Error);
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("step-0000000002.safetensors: "), Error);
  CHECK(slurp(run + "/metrics.jsonl") == metrics);
}

TEST_CASE("--resume refuses a checkpoint whose step or epoch does not fit the run's data and epochs") {
  test::TempDir tmp;
  const std::string run = tmp.file("run");
  three_steps(run);
  const std::string last = run + "/checkpoints/last.safetensors";
  Checkpoint c = load_checkpoint(last);
  std::vector<std::pair<std::string, Tensor>> tensors(c.model.begin(), c.model.end());
  tensors.insert(tensors.end(), c.optim.begin(), c.optim.end());
  auto with_state = [&](TrainerState st) {
    save_safetensors(last, tensors, {{"cherry.state", st.to_json().dump()}, {"cherry.config", c.config.dump()}});
  };
  TrainOptions again = resuming(run, last);
  TrainerState huge = c.state;
  huge.step = 1000000000000000, huge.epoch = 1000000000000000 / 4;
  with_state(huge);
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("does not fit this run (4 steps per epoch, 2 epochs)"), Error);
  TrainerState far = c.state;
  far.epoch = 1000000;
  with_state(far);
  CHECK_THROWS_WITH_AS(run_train_resnet(again), doctest::Contains("epoch 1000001"), Error);
  TrainerState position = c.state;
  position.batch_in_epoch = 99;
  with_state(position);
  CHECK_THROWS_AS(run_train_resnet(again), Error);
  with_state(c.state);
  CHECK(run_train_resnet(again).steps == 8);
}

TEST_CASE("checkpoints: last and best are independent files, and a resume removes a killed write's temporaries") {
  test::TempDir tmp;
  const std::string run = tmp.file("run");
  three_steps(run);
  const std::string last = run + "/checkpoints/last.safetensors", best = run + "/checkpoints/best.safetensors";
  CHECK(fs::hard_link_count(last) == 1);
  CHECK(fs::hard_link_count(best) == 1);
  const std::string best_bytes = slurp(best);
  fs::resize_file(last, 10);
  CHECK(slurp(best) == best_bytes);

  const std::string stale[] = {run + "/checkpoints/.step-0000000009.safetensors.tmp-4242-0", run + "/eval_results.json.tmp.4242"};
  for (const auto& s : stale) write(s, "partial");
  run_train_resnet(resuming(run));  // last is cut short: resumes from its step file
  for (const auto& s : stale) CHECK_MESSAGE(!fs::exists(s), s);
}

TEST_CASE("cherry_audit refuses an output that is its input or a record of the run, and may replace an earlier report") {
  test::TempDir tmp;
  const std::string run = tmp.file("run");
  fs::create_directories(run + "/checkpoints");
  write(run + "/metrics.jsonl", "{}\n");
  write(run + "/checkpoints/last.safetensors", "weights");
  CHECK_THROWS_WITH_AS(audit::check_report_output(run, run), doctest::Contains("is the input"), Error);
  CHECK_THROWS_WITH_AS(audit::check_report_output(run + "/checkpoints/last.safetensors", run + "/checkpoints/last.safetensors"),
                       doctest::Contains("is the input"), Error);
  CHECK_THROWS_WITH_AS(audit::check_report_output(run, run + "/metrics.jsonl"), doctest::Contains("among the run's records"), Error);
  CHECK_THROWS_WITH_AS(audit::check_report_output(run + "/checkpoints/last.safetensors", run + "/metrics.jsonl"),
                       doctest::Contains("not an HTML report"), Error);
  CHECK_NOTHROW(audit::check_report_output(run, run + "/audit.html"));
  write(run + "/audit.html", "<!DOCTYPE html>\n<html></html>\n");
  CHECK_NOTHROW(audit::check_report_output(run, run + "/audit.html"));
  CHECK_NOTHROW(audit::check_report_output(run, tmp.file("elsewhere.html")));
}

TEST_CASE("numeric flags: NaN, inf and absurd values are refused with the range, contradictions too") {
  const std::vector<std::vector<std::string>> resnet_bad = {{"--kappa", "nan"},
                                                            {"--lr", "inf"},
                                                            {"--lr", "nan"},
                                                            {"--weight-decay", "inf"},
                                                            {"--warmup-epochs", "inf"},
                                                            {"--threads", "999"},
                                                            {"--crop-padding", "100000"},
                                                            {"--seed", "-1"},
                                                            {"--milestones", "-5"},
                                                            {"--kernels", "100000"},
                                                            {"--batch-size", "100000"},
                                                            {"--epochs", "0"},
                                                            {"--imp-iters", "0"},
                                                            {"--momentum", "nan"},
                                                            {"--label-smoothing", "1"},
                                                            {"--temp-start", "0"},
                                                            {"--lr", "0.1x"},
                                                            {"--init-from", "w.safetensors", "--resume", "auto"},
                                                            {"--schedule", "multistep", "--milestones", "5", "--epochs", "3"},
                                                            {"--warmup-epochs", "4", "--epochs", "3"}};
  for (const auto& args : resnet_bad) {
    CAPTURE(args[0] + " " + args[1]);
    CHECK(parse_exit(args) == 2);
  }
  const std::vector<std::vector<std::string>> bert_bad = {{"--warmup-ratio", "nan"}, {"--experts", "0"},
                                                          {"--top-k", "0"},          {"--balance-coef", "inf"},
                                                          {"--imp-after", "-2"},     {"--ffn", "pad", "--imp-iters", "0"}};
  for (const auto& args : bert_bad) {
    CAPTURE(args[0] + " " + args[1]);
    CHECK(parse_exit(args, true) == 2);
  }
  // What stays allowed: the defaults, the edges of each range, IMP off with kappa 1.
  CHECK(parse_exit({}) == 0);
  CHECK(parse_exit({"--kappa", "0", "--lr", "10", "--seed", "0", "--threads", "0", "--label-smoothing", "0.1"}) == 0);
  CHECK(parse_exit({"--imp-iters", "0", "--kappa", "1"}) == 0);
  CHECK(parse_exit({"--imp-iters", "0", "--conv", "static"}) == 0);
  CHECK(parse_exit({"--ffn", "pad", "--imp-iters", "0", "--kappa", "1"}, true) == 0);
  std::string s = "nan";
  CHECK(in_range(0, 1)(s) == "must be a finite number in [0, 1], got nan");
  s = "0";
  CHECK(in_range(0, 10, true)(s) == "must be a finite number in (0, 10], got 0");
}

}  // namespace cherry
