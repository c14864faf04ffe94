#include "apps/common/train_loop.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <set>
#include <tuple>

#include "apps/common/build_info.h"
#include "apps/common/checkpoint.h"
#include "apps/common/memory_check.h"
#include "apps/common/progress.h"
#include "apps/common/run_records.h"
#include "autograd/ops.h"
#include "core/safetensors.h"
#include "optim/clip_grad.h"

namespace cherry {

namespace {
namespace fs = std::filesystem;

// Names the first parameter whose gradient is not finite (for the non-finite-loss report).
std::string first_nonfinite_grad(const Module& model) {
  for (auto& [name, p] : model.named_parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    const double s = sum(g.to(DType::f64)).item<double>();
    if (!std::isfinite(s)) return name;
  }
  return "(none: the loss itself is not finite)";
}
// Settings that only change how a run is carried out, not what it computes: free to differ on resume.
const std::set<std::string> kFreeOnResume = {"run_dir",   "resume",      "init_from",   "eval_only", "threads",          "workers",
                                             "log_every", "save_every",  "keep_last",   "max_steps", "max_eval_samples", "export_deploy",
                                             "predict",   "log_batches", "dyconv_impl", "device"};
// Settings the saved data position (epoch, batch) is counted in: a change would reinterpret it.
const std::set<std::string> kDataPosition = {"batch_size", "seed", "max_train_samples", "synthetic", "dataset", "task", "overfit_batch"};

// Resuming with settings other than the checkpoint's would silently make a different run: each
// difference is refused, naming it, unless --allow-changed lists it (never one of kDataPosition).
void check_resume_config(const nlohmann::json& saved, const nlohmann::json& now, const std::vector<std::string>& allowed,
                         const std::string& path, const std::string& app) {
  if (!saved.is_object()) return;  // checkpoints of older versions stored no config
  std::vector<std::string> refused, position;
  for (const auto& [key, value] : now.items()) {
    if (kFreeOnResume.count(key) || !saved.contains(key) || saved.at(key) == value) continue;
    const std::string diff = cat(key, ": ", saved.at(key).dump(), " in the checkpoint, ", value.dump(), " now");
    if (kDataPosition.count(key))
      position.push_back(diff);
    else if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
      refused.push_back(diff);
  }
  std::string msg;
  for (const auto& d : position) msg += "\n  " + d + " (the saved data position is counted in it: cannot change on resume)";
  for (const auto& d : refused) msg += "\n  " + d;
  CHERRY_CHECK(msg.empty(), app, "--resume: the settings differ from those of ", path, ":", msg,
               refused.empty() ? "" : "\npass the same flags as the run, or --allow-changed KEY,... to change those keys knowingly");
}
}  // namespace

double Evaluation::value(const std::string& key) const {
  for (const auto& [k, v] : metrics)
    if (k == key) return v;
  throw Error("eval", cat("no metric '", key, "'"));
}

LoopOptions loop_options(const RunFlags& f, std::string app) {
  LoopOptions lo;
  lo.app = std::move(app);
  lo.run_dir = f.run_dir, lo.resume = f.resume, lo.init_from = f.init_from;
  lo.overwrite = f.overwrite, lo.eval_only = f.eval_only, lo.overfit_batch = f.overfit_batch;
  lo.epochs = f.epochs, lo.max_steps = f.max_steps, lo.log_every = f.log_every, lo.save_every = f.save_every;
  lo.keep_last = f.keep_last, lo.grad_clip = f.grad_clip, lo.compute = compute_dtype(f.precision);
  lo.allow_changed = f.allow_changed;
  lo.memory_check = !f.no_memory_check, lo.batch_size = f.batch_size;
  return lo;
}

std::map<std::string, Tensor> weights_from(const std::string& path) {
  SafeTensorsFile f = SafeTensorsFile::open(path);
  std::map<std::string, Tensor> w;
  for (const auto& e : f.entries())
    if (!e.name.starts_with("optim.")) w[e.name] = f.get(e.name);
  return w;
}

void check_finite_weights(const std::map<std::string, Tensor>& weights, const std::string& path) {
  for (const auto& [name, t] : weights) {
    if (!is_floating(t.dtype())) continue;
    const int64_t finite = sum(isfinite(t).to(DType::i64)).item<int64_t>();
    CHERRY_CHECK(finite == t.numel(), "weights", path, ": tensor ", name, " ", t.describe(), " holds ", t.numel() - finite,
                 " non-finite value(s) (NaN or inf); refusing to evaluate or train from it");
  }
}

TrainResult run_train_loop(TrainTask& task, Optimizer& optim, const LrSchedule& schedule, const LoopOptions& o,
                           const nlohmann::json& config) {
  AutocastGuard precision(o.compute);  // every forward and evaluation below; backward turns it off itself
  Module& model = task.model();
  const int64_t steps_per_epoch = task.steps_per_epoch();
  CHERRY_CHECK(steps_per_epoch > 0, o.app, "the training set is empty");
  int64_t total_steps = o.epochs * steps_per_epoch;
  if (o.overfit_batch) total_steps = o.max_steps > 0 ? o.max_steps : 200;
  if (o.max_steps > 0) total_steps = std::min(total_steps, o.max_steps);

  // Run directory: resume continues one; otherwise a fresh (or overwritten) one.
  const bool resuming = !o.resume.empty();
  std::string dir = o.run_dir;
  if (dir.empty()) {
    CHERRY_CHECK(!(resuming && o.resume == "auto"), o.app, "--resume auto needs --run-dir (the run to continue)");
    dir = resuming ? fs::path(o.resume).parent_path().parent_path().string() : RunDir::default_path(o.app);
  }
  // --eval-only of an existing run writes its own record (RUN/eval_only), never the training record.
  const bool eval_of_run = o.eval_only && resuming;
  RunDir run(eval_of_run ? (fs::path(dir) / "eval_only").string() : dir, eval_of_run   ? RunDir::Mode::eval
                                                                         : resuming    ? RunDir::Mode::resume
                                                                         : o.overwrite ? RunDir::Mode::overwrite
                                                                                       : RunDir::Mode::fresh);
  CheckpointManager ckpt((fs::path(dir) / "checkpoints").string(), o.keep_last);

  TrainerState st;
  bool loaded_checkpoint = false;
  if (resuming) {
    std::optional<Checkpoint> c;
    std::vector<std::string> skipped;
    if (o.resume == "auto") c = ckpt.load_latest(&skipped);
    else c = load_checkpoint(o.resume);
    if (!c && !skipped.empty()) {
      std::string list;
      for (const auto& s : skipped) list += "\n  " + s;
      throw Error(o.app, cat("--resume auto: no checkpoint in ", ckpt.dir(), " can be read:", list,
                             "\nnothing was changed; to start the run over instead, pass --overwrite without --resume"));
    }
    for (const auto& s : skipped) std::printf("warning: skipped unreadable checkpoint %s\n", s.c_str());
    if (c) {
      if (o.eval_only) check_finite_weights(c->model, c->path);
      else
        check_resume_config(c->config, config, o.allow_changed, c->path, o.app);
      // The data position must fit this run's data: a corrupt or foreign position would skip data or train forever.
      const TrainerState& s = c->state;
      CHERRY_CHECK(o.overfit_batch || (s.batch_in_epoch <= steps_per_epoch && s.epoch <= o.epochs && s.step <= o.epochs * steps_per_epoch &&
                                       s.step <= (s.epoch + 1) * steps_per_epoch),
                   o.app, c->path, ": its trainer state (step ", s.step, ", epoch ", s.epoch + 1, ", batch ", s.batch_in_epoch,
                   ") does not fit this run (", steps_per_epoch, " steps per epoch, ", o.epochs, " epochs)");
      model.load_state_dict(c->model);
      optim.load_state_tensors(c->optim);
      st = c->state;
      default_generator().set_state(st.rng);
      loaded_checkpoint = true;
      std::printf("resumed from %s at step %lld (epoch %lld, batch %lld)\n", c->path.c_str(), static_cast<long long>(st.step),
                  static_cast<long long>(st.epoch + 1), static_cast<long long>(st.batch_in_epoch));
    } else {
      std::printf("no checkpoint in %s yet: starting from scratch\n", ckpt.dir().c_str());
    }
    // Logs of step s are written after its update and before its checkpoint; IMP (imp.jsonl) runs
    // before the next update, after that checkpoint, so resuming from s runs it again.
    const int64_t at = st.step;
    const auto keep = [at](const std::string& file, int64_t step) { return file == "imp.jsonl" ? step < at : step <= at; };
    const int64_t dropped = eval_of_run ? 0 : run.rewind(keep);
    if (dropped > 0)
      std::printf("dropped %lld log records the interrupted run wrote after step %lld\n", static_cast<long long>(dropped),
                  static_cast<long long>(at));
  }
  if (!o.init_from.empty()) {
    const auto weights = weights_from(o.init_from);
    check_finite_weights(weights, o.init_from);
    LoadReport r = model.load_state_dict(weights, false);
    CHERRY_CHECK(r.mismatched.empty() && r.missing.empty(), o.app, "--init-from ", o.init_from, " does not fit the model:\n", r.str());
    std::printf("initialised weights from %s%s\n", o.init_from.c_str(),
                r.unexpected.empty() ? "" : cat(" (ignored ", r.unexpected.size(), " unexpected keys)").c_str());
  }
  task.set_data_position({st.epoch, st.batch_in_epoch});
  nlohmann::json record = config;  // plus where it ran: performance and bf16 results depend on it
  record["machine"] = {{"cpu", cpu_model()}, {"onednn_isa", onednn_isa()}};
  record["engine"] = engine_revision();
  record["app"] = o.app;  // marks the folder as a run directory (what --overwrite may clear)
  run.write_json("config.json", record);
  // Before on_start: IMP scores batches of --batch-size there.
  const bool finished = loaded_checkpoint && st.step >= total_steps;
  std::string memory_line;
  if (o.memory_check && !o.eval_only && !finished) {
    model.train();
    memory_line = check_step_memory(task, o.batch_size, o.app);
  }
  task.on_start(run, loaded_checkpoint);
  if (!memory_line.empty()) std::printf("  %s\n", memory_line.c_str());
  std::fflush(stdout);

  TrainResult result{run.path(), st.step, 0, std::max(st.best_metric, 0.0), 0};
  std::string primary;
  auto write_eval = [&](const Evaluation& e, int64_t epoch) {
    const std::pair<std::string, double> best{e.primary, std::max(st.best_metric, e.primary_value())};
    run.write_json("eval_results.json", EvalResult{o.metric_prefix, e.metrics, e.loss, e.samples, epoch + 1, st.step, best});
    task.on_eval(run, e);
    result.final_metric = e.primary_value();
    primary = e.primary;
    result.final_loss = e.loss;
  };
  auto eval_line = [&](const Evaluation& e) {
    std::string s = cat("loss ", e.loss);
    for (const auto& [k, v] : e.metrics) s += cat("  ", k, " ", k == "accuracy" ? 100 * v : v, k == "accuracy" ? "%" : "");
    return s;
  };
  if (o.eval_only) {
    CHERRY_CHECK(!o.init_from.empty() || loaded_checkpoint, o.app, "--eval-only needs weights: pass --init-from PATH or --resume auto|PATH");
    Evaluation e = task.evaluate();
    write_eval(e, st.epoch);
    std::printf("eval: %s (%lld samples)\n", eval_line(e).c_str(), static_cast<long long>(e.samples));
    task.on_finish(run);
    return result;
  }

  if (finished) {  // its last checkpoint comes after the final evaluation
    std::printf("the run in %s finished at step %lld: nothing to do (to extend it: more --epochs with --allow-changed epochs)\n",
                run.path().c_str(), static_cast<long long>(st.step));
    return result;
  }
  model.train();
  Progress progress(total_steps);
  progress.restore_loss_state(st.loss_sum, st.loss_count);
  double epoch_loss = st.epoch_loss;
  int64_t epoch_correct = st.epoch_correct, epoch_samples = st.epoch_samples;
  bool has_correct = st.epoch_has_correct;
  auto save = [&](bool is_best) {
    std::tie(st.loss_sum, st.loss_count) = progress.loss_state();
    st.epoch_loss = epoch_loss, st.epoch_correct = epoch_correct, st.epoch_samples = epoch_samples, st.epoch_has_correct = has_correct;
    st.rng = default_generator().state();
    const DataPosition p = task.data_position();
    st.epoch = p.epoch, st.batch_in_epoch = p.batch;
    ckpt.save(model, &optim, st, config, is_best);
  };
  auto end_epoch = [&](int64_t epoch) {
    Evaluation e = task.evaluate();
    model.train();
    const bool best = e.primary_value() > st.best_metric;
    if (best) st.best_metric = e.primary_value(), st.best_step = st.step;
    write_eval(e, epoch);
    std::vector<std::pair<std::string, std::string>> row = {
        {"epoch", std::to_string(epoch + 1)}, {"step", std::to_string(st.step)},
        {"train_loss", epoch_samples ? cat(epoch_loss / double(epoch_samples)) : ""}};
    if (has_correct) row.emplace_back("train_accuracy", epoch_samples ? cat(double(epoch_correct) / double(epoch_samples)) : "");
    row.emplace_back("eval_loss", cat(e.loss));
    for (const auto& [k, v] : e.metrics) row.emplace_back("eval_" + k, cat(v));
    row.emplace_back("lr", cat(optim.lr()));
    run.append_summary(row);
    progress.line(cat("eval epoch ", epoch + 1, ": ", eval_line(e), "  (best ", e.primary, " ",
                      e.primary == "accuracy" ? 100 * st.best_metric : st.best_metric, e.primary == "accuracy" ? "%" : "", ")"));
    epoch_loss = 0, epoch_correct = 0, epoch_samples = 0;
    save(best);
  };

  while (st.step < total_steps) {
    const double lr = schedule.lr_at(st.step);
    optim.set_lr(lr);
    task.before_step(st.step);
    std::optional<TrainBatch> b = task.forward_next(st.step);
    if (!b) {  // the data moved to the next epoch
      end_epoch(task.data_position().epoch - 1);
      continue;
    }
    optim.zero_grad();
    b->loss.backward();
    const double gnorm = o.grad_clip > 0 ? clip_grad_norm(optim.parameters(), o.grad_clip) : grad_norm(optim.parameters());
    const double loss_v = b->loss.item<float>();
    if (!std::isfinite(loss_v) || !std::isfinite(gnorm)) {
      const std::string where = first_nonfinite_grad(model);
      const std::string crash = run.checkpoints() + cat("/crash-step-", st.step, ".safetensors");
      save_checkpoint(crash, model, &optim, st, config);
      throw Error(o.app, cat("non-finite ", std::isfinite(loss_v) ? "gradient norm" : "loss", " at step ", st.step,
                             " (first non-finite gradient: ", where, "); state saved to ", crash, ". Try a lower --lr or --grad-clip"));
    }
    optim.step();
    st.step++;
    if (b->correct >= 0) epoch_correct += b->correct, has_correct = true;
    epoch_loss += loss_v * double(b->samples), epoch_samples += b->samples;
    const int64_t epoch = task.data_position().epoch;
    StepStats s = progress.step(st.step, epoch, o.epochs, loss_v, lr, gnorm, b->samples);
    if (st.step % o.log_every == 0 || st.step == total_steps || st.step == 1) {
      progress.print(s, o.unit.c_str());
      run.append_metrics({{"step", s.step}, {"epoch", epoch + 1}, {"loss", s.loss}, {"loss_avg", s.loss_avg}, {"lr", lr},
                          {"grad_norm", gnorm}, {"step_ms", s.step_ms}, {"samples_per_s", s.samples_per_s}, {"eta_s", s.eta_s}});
      task.on_log(run, s.step, epoch + 1);
    }
    if (o.save_every > 0 && st.step % o.save_every == 0 && st.step < total_steps) save(false);
  }
  // Finished mid-epoch (--max-steps, --overfit-batch) or exactly at an epoch end.
  const DataPosition p = task.data_position();
  if (!o.overfit_batch && p.batch == steps_per_epoch) {
    (void)task.forward_next(st.step);  // consumes the end-of-epoch marker
    end_epoch(task.data_position().epoch - 1);
  } else {
    end_epoch(p.epoch);
  }
  result.steps = st.step;
  result.best_metric = st.best_metric;
  task.on_finish(run);
  const bool pct = primary == "accuracy";  // shown as a percentage, as train_resnet always did
  progress.line(cat("done: ", st.step, " steps; final ", primary, " ", pct ? 100 * result.final_metric : result.final_metric,
                    pct ? "%" : "", ", best ", pct ? 100 * st.best_metric : st.best_metric, pct ? "%" : "", " (step ", st.best_step,
                    "); run dir ", run.path()));
  return result;
}

}  // namespace cherry
