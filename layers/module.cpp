#include "layers/module.h"

#include <functional>
#include <set>
#include <sstream>

#include "autograd/ops.h"

namespace cherry {

std::string LoadReport::str() const {
  std::ostringstream os;
  auto list = [&](const char* what, const std::vector<std::string>& v) {
    if (v.empty()) return;
    os << what << " (" << v.size() << "):";
    for (const auto& s : v) os << "\n  " << s;
    os << "\n";
  };
  list("missing keys", missing);
  list("unexpected keys", unexpected);
  list("mis-shaped keys", mismatched);
  return os.str();
}

void Module::check_new_name(const std::string& name) const {
  CHERRY_CHECK(!name.empty() && name.find('.') == std::string::npos, "Module", "invalid name '", name, "' in ", type_name());
  auto taken = [&](const auto& v) {
    for (const auto& [n, _] : v)
      if (n == name) return true;
    return false;
  };
  CHERRY_CHECK(!taken(params_) && !taken(buffers_) && !taken(children_), "Module", "name '", name, "' registered twice in ", type_name());
}

Tensor Module::register_parameter(const std::string& name, Tensor t) {
  check_new_name(name);
  t.set_requires_grad(true);
  params_.emplace_back(name, t);
  return t;
}

Tensor Module::register_buffer(const std::string& name, Tensor t) {
  check_new_name(name);
  buffers_.emplace_back(name, t);
  return t;
}

void Module::collect(NamedTensors& out, const std::string& prefix, bool params, bool buffers) const {
  if (params)
    for (const auto& [n, t] : params_) out.emplace_back(prefix + n, t);
  if (buffers)
    for (const auto& [n, t] : buffers_) out.emplace_back(prefix + n, t);
  for (const auto& [n, c] : children_) c->collect(out, prefix + n + ".", params, buffers);
}

NamedTensors Module::named_parameters() const {
  NamedTensors out;
  collect(out, "", true, false);
  return out;
}
NamedTensors Module::named_buffers() const {
  NamedTensors out;
  collect(out, "", false, true);
  return out;
}
NamedTensors Module::state_dict() const {
  NamedTensors out;
  collect(out, "", true, true);
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [n, t] : named_parameters()) out.push_back(t);
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, t] : named_parameters()) n += t.numel();
  return n;
}

LoadReport Module::load_state_dict(const std::map<std::string, Tensor>& sd, bool strict) {
  LoadReport r;
  std::set<std::string> seen;
  NamedTensors mine = state_dict();
  for (const auto& [name, t] : mine) {
    auto it = sd.find(name);
    if (it == sd.end()) {
      r.missing.push_back(name);
      continue;
    }
    seen.insert(name);
    if (it->second.shape() != t.shape()) r.mismatched.push_back(cat(name, ": expected ", shape_str(t.shape()), ", got ", shape_str(it->second.shape())));
  }
  for (const auto& [name, t] : sd)
    if (!seen.count(name)) r.unexpected.push_back(name);
  CHERRY_CHECK(!strict || r.ok(), "load_state_dict", "state dict does not match ", type_name(), ":\n", r.str());
  NoGradGuard ng;
  for (auto& [name, t] : mine) {
    auto it = sd.find(name);
    if (it == sd.end() || it->second.shape() != t.shape()) continue;
    Tensor src = it->second.device() == t.device() ? it->second : it->second.to(t.device());
    t.copy_(src);  // casts dtype (e.g. an f64 checkpoint into f32 weights)
  }
  return r;
}

void Module::train(bool on) {
  training_ = on;
  on_train(on);
  for (auto& [n, c] : children_) c->train(on);
}

void Module::to(DType dtype) {
  for (auto& [n, t] : state_dict())
    if (is_floating(t.dtype())) t.set_data(t.detach().to(dtype));
}

void Module::to(Device device) {
  for (auto& [n, t] : state_dict()) {
    if (t.device() == device) continue;
    t.set_data(t.detach().to(device));
  }
}

std::vector<std::pair<std::string, std::shared_ptr<Module>>> Module::named_modules() const {
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> out;
  for (const auto& [n, c] : children_) {
    out.emplace_back(n, c);
    for (auto& [cn, cc] : c->named_modules()) out.emplace_back(n + "." + cn, cc);
  }
  return out;
}

void Module::zero_grad() {
  for (auto& t : parameters()) t.zero_grad();
}

std::string Module::repr(int indent) const {
  std::string pad(size_t(indent), ' ');
  std::string s = type_name() + "(" + extra_repr();
  if (children_.empty()) return s + ")";
  s += "\n";
  for (const auto& [n, c] : children_) s += pad + "  (" + n + "): " + c->repr(indent + 2) + "\n";
  return s + pad + ")";
}

}  // namespace cherry
