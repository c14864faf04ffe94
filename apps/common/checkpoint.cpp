#include "apps/common/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "apps/common/atomic_file.h"
#include "core/safetensors.h"

namespace cherry {

namespace fs = std::filesystem;
using json = nlohmann::json;

json TrainerState::to_json() const {
  json rng_words = json::array();
  for (auto w : rng) rng_words.push_back(std::to_string(w));  // strings: JSON numbers lose 64-bit precision
  return {{"step", step},
          {"epoch", epoch},
          {"batch_in_epoch", batch_in_epoch},
          {"best_metric", best_metric},
          {"best_step", best_step},
          {"rng", rng_words},
          {"loss_sum", loss_sum},
          {"loss_count", loss_count},
          {"epoch_loss", epoch_loss},
          {"epoch_correct", epoch_correct},
          {"epoch_samples", epoch_samples},
          {"epoch_has_correct", epoch_has_correct}};
}

TrainerState TrainerState::from_json(const json& j, const std::string& path) {
  try {
    TrainerState s;
    s.step = j.at("step").get<int64_t>();
    s.epoch = j.at("epoch").get<int64_t>();
    s.batch_in_epoch = j.at("batch_in_epoch").get<int64_t>();
    s.best_metric = j.at("best_metric").get<double>();
    s.best_step = j.at("best_step").get<int64_t>();
    const auto& r = j.at("rng");
    CHERRY_CHECK(r.is_array() && r.size() == 4, "checkpoint", path, ": trainer state 'rng' must hold 4 words");
    for (size_t i = 0; i < 4; ++i) s.rng[i] = std::stoull(r[i].get<std::string>());
    CHERRY_CHECK(s.step >= 0 && s.epoch >= 0 && s.batch_in_epoch >= 0, "checkpoint", path, ": negative step/epoch/position");
    // The logs' statistics (absent in checkpoints of older versions: the logs then restart them).
    s.loss_sum = j.value("loss_sum", 0.0), s.epoch_loss = j.value("epoch_loss", 0.0);
    s.loss_count = j.value("loss_count", int64_t(0)), s.epoch_correct = j.value("epoch_correct", int64_t(0));
    s.epoch_samples = j.value("epoch_samples", int64_t(0)), s.epoch_has_correct = j.value("epoch_has_correct", false);
    return s;
  } catch (const json::exception& e) {
    throw Error("checkpoint", cat(path, ": bad trainer state: ", e.what()));
  } catch (const std::logic_error& e) {  // stoull
    throw Error("checkpoint", cat(path, ": bad trainer state: ", e.what()));
  }
}

void save_checkpoint(const std::string& path, const Module& model, const Optimizer* optim, const TrainerState& state, const json& config) {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (auto& [n, t] : model.state_dict()) tensors.emplace_back(n, t);
  if (optim)
    for (auto& [n, t] : optim->state_tensors()) tensors.emplace_back(n, t);
  save_safetensors(path, tensors, {{"cherry.state", state.to_json().dump()}, {"cherry.config", config.dump()}});
}

Checkpoint load_checkpoint(const std::string& path) {
  SafeTensorsFile f = SafeTensorsFile::open(path);
  Checkpoint c;
  c.path = path;
  for (const auto& e : f.entries()) (e.name.starts_with("optim.") ? c.optim : c.model)[e.name] = f.get(e.name);
  auto it = f.metadata().find("cherry.state");
  CHERRY_CHECK(it != f.metadata().end(), "checkpoint", path, " has no trainer state (metadata 'cherry.state'): not a training checkpoint");
  try {
    c.state = TrainerState::from_json(json::parse(it->second), path);
    auto cfg = f.metadata().find("cherry.config");
    if (cfg != f.metadata().end()) c.config = json::parse(cfg->second);
  } catch (const json::exception& e) {
    throw Error("checkpoint", cat(path, ": metadata is not valid JSON: ", e.what()));
  }
  return c;
}

std::vector<std::string> CheckpointManager::step_files() const {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.starts_with("step-") && name.ends_with(".safetensors")) files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());  // zero-padded step numbers sort by age
  return files;
}

std::string CheckpointManager::save(const Module& model, const Optimizer* optim, const TrainerState& state, const json& config, bool is_best) {
  fs::create_directories(dir_);
  char name[48];
  std::snprintf(name, sizeof name, "/step-%010lld.safetensors", static_cast<long long>(state.step));
  const std::string path = dir_ + name;
  save_checkpoint(path, model, optim, state, config);
  copy_atomic(path, last());
  if (is_best) copy_atomic(path, best());
  auto files = step_files();
  for (size_t i = 0; i + size_t(std::max(keep_last_, 1)) < files.size(); ++i) fs::remove(files[i]);
  return path;
}

std::optional<Checkpoint> CheckpointManager::load_latest(std::vector<std::string>* skipped) const {
  std::vector<std::string> candidates;
  if (fs::exists(last())) candidates.push_back(last());
  auto files = step_files();
  candidates.insert(candidates.end(), files.rbegin(), files.rend());
  for (const auto& p : candidates) {
    try {
      return load_checkpoint(p);
    } catch (const Error& e) {
      if (skipped) skipped->push_back(cat(p, ": ", e.message()));
    }
  }
  return std::nullopt;
}

}  // namespace cherry
