// Optimizer base: parameter bookkeeping, the skip-without-grad step loop, and checkpoint state
// (named tensors in, named tensors out, validated all-or-nothing on load). State buffers are
// allocated up front, so the set of checkpoint keys never depends on which parameters got grads.
#include "optim/optimizer.h"

#include <algorithm>
#include <set>

#include "autograd/node.h"

namespace cherry {

namespace {

const std::string kPrefix = "optim.";
const std::string kStepKey = "optim.step";

Tensor i64_scalar(int64_t v) { return from_vector<int64_t>({v}, {}); }

}  // namespace

std::vector<ParamGroup> decay_groups(const NamedParams& params, double weight_decay, bool no_decay_bias_norm) {
  ParamGroup decay{{}, weight_decay}, no_decay{{}, 0.0};
  for (const auto& p : params) (no_decay_bias_norm && p.second.dim() <= 1 ? no_decay : decay).params.push_back(p);
  std::vector<ParamGroup> groups;
  for (auto* g : {&decay, &no_decay})
    if (!g->params.empty()) groups.push_back(std::move(*g));
  return groups;
}

Optimizer::Optimizer(std::string kind, std::vector<ParamGroup> groups, double lr, std::vector<std::string> buffer_names)
    : kind_(std::move(kind)), groups_(std::move(groups)), buffer_names_(std::move(buffer_names)), lr_(0.0) {
  set_lr(lr);
  std::set<std::string> names;
  std::set<const TensorImpl*> seen;
  for (const auto& g : groups_) {
    CHERRY_CHECK(g.weight_decay >= 0.0, kind_, "weight_decay must be >= 0, got ", g.weight_decay);
    CHERRY_CHECK(g.lr_scale >= 0.0, kind_, "lr_scale must be >= 0, got ", g.lr_scale);
    for (const auto& [name, p] : g.params) {
      CHERRY_CHECK(p.defined(), kind_, "parameter '", name, "' is undefined");
      CHERRY_CHECK(is_floating(p.dtype()), kind_, "parameter '", name, "' must be floating point, got ", p.describe());
      CHERRY_CHECK(p.is_leaf(), kind_, "parameter '", name, "' is not a leaf tensor");
      // State keys are built from names, and a tensor listed twice would be updated twice.
      CHERRY_CHECK(names.insert(name).second, kind_, "parameter name '", name, "' appears twice");
      CHERRY_CHECK(seen.insert(&p.impl()).second, kind_, "parameter '", name, "' is listed twice (under another name)");
      Slot s{name, p, g.weight_decay, g.lr_scale, 0, {}};
      for (size_t i = 0; i < buffer_names_.size(); ++i) s.buffers.push_back(zeros_like(p));
      slots_.push_back(std::move(s));
    }
  }
}

void Optimizer::set_lr(double lr) {
  CHERRY_CHECK(lr >= 0.0, kind_, "learning rate must be >= 0, got ", lr);
  lr_ = lr;
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const auto& s : slots_) out.push_back(s.param);
  return out;
}

void Optimizer::zero_grad() {
  for (auto& s : slots_) s.param.zero_grad();
}

void Optimizer::step() {
  NoGradGuard no_grad;
  // Check every parameter before touching any, so a bad grad never leaves a half-applied step.
  for (const auto& s : slots_) {
    const Tensor g = s.param.grad();
    if (!g.defined()) continue;
    const Tensor& p = s.param;
    CHERRY_CHECK(p.is_contiguous(), kind_ + ".step", "parameter '", s.name, "' must be contiguous, got ", p.describe());
    CHERRY_CHECK(g.shape() == p.shape() && g.dtype() == p.dtype() && g.device() == p.device(), kind_ + ".step", "grad of '", s.name,
                 "' is ", g.describe(), " but the parameter is ", p.describe());
    for (const auto& b : s.buffers)  // state made on another device (a model moved after the optimizer was built)
      CHERRY_CHECK(b.device() == p.device(), kind_ + ".step", "state of '", s.name, "' is on ", b.device().str(), " but the parameter is ",
                   p.describe(), "; build the optimizer after moving the model");
  }
  for (auto& s : slots_) {
    const Tensor g = s.param.grad();
    if (!g.defined()) continue;
    ++s.step;
    update(s, g.contiguous(), lr_ * s.lr_scale);
    s.param.storage()->bump_version();
    for (auto& b : s.buffers) b.storage()->bump_version();
  }
  ++step_count_;
}

NamedParams Optimizer::state_tensors() const {
  NamedParams out{{kStepKey, i64_scalar(step_count_)}};
  for (const auto& s : slots_) {
    out.emplace_back(kPrefix + s.name + ".step", i64_scalar(s.step));
    for (size_t i = 0; i < buffer_names_.size(); ++i) out.emplace_back(kPrefix + s.name + "." + buffer_names_[i], s.buffers[i]);
  }
  return out;
}

void Optimizer::load_state_tensors(const std::map<std::string, Tensor>& state) {
  // Expected key -> (shape, dtype). Checked in full before anything is written.
  std::map<std::string, std::pair<Shape, DType>> expected{{kStepKey, {Shape{}, DType::i64}}};
  for (const auto& s : slots_) {
    expected[kPrefix + s.name + ".step"] = {Shape{}, DType::i64};
    for (const auto& b : buffer_names_) expected[kPrefix + s.name + "." + b] = {s.param.shape(), s.param.dtype()};
  }
  std::vector<std::string> missing, bad, unexpected;
  for (const auto& [key, want] : expected) {
    auto it = state.find(key);
    if (it == state.end()) {
      missing.push_back(key);
    } else if (!it->second.defined() || it->second.shape() != want.first || it->second.dtype() != want.second) {
      bad.push_back(cat(key, " (", it->second.defined() ? it->second.describe() : "undefined", ", expected ", dtype_name(want.second),
                        shape_str(want.first), ")"));
    }
  }
  for (const auto& [key, t] : state)
    if (key.compare(0, kPrefix.size(), kPrefix) == 0 && !expected.count(key)) unexpected.push_back(key);
  if (!missing.empty() || !bad.empty() || !unexpected.empty()) {
    auto list = [](const char* what, const std::vector<std::string>& v) {
      std::string s;
      if (v.empty()) return s;
      s = cat("\n  ", what, " (", v.size(), "):");
      for (const auto& k : v) s += "\n    " + k;
      return s;
    };
    throw Error(kind_ + ".load_state_tensors",
                cat("optimizer state does not match this ", kind_, " over ", slots_.size(), " parameters", list("missing", missing),
                    list("wrong shape or dtype", bad), list("unexpected", unexpected)));
  }
  step_count_ = state.at(kStepKey).item<int64_t>();
  for (auto& s : slots_) {
    s.step = state.at(kPrefix + s.name + ".step").item<int64_t>();
    for (size_t i = 0; i < buffer_names_.size(); ++i)
      s.buffers[i].copy_(state.at(kPrefix + s.name + "." + buffer_names_[i]).to(s.param.device()));
  }
}

}  // namespace cherry
