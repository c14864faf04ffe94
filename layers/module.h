// Module: named, insertion-ordered registries of parameters, buffers and child modules, with
// PyTorch's state-dict naming ("layer1.0.conv1.weight") so checkpoints load by key. Layer adds a
// one-tensor forward; modules with other signatures (BERT) derive from Module directly.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace cherry {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct LoadReport {
  std::vector<std::string> missing, unexpected, mismatched;  // mismatched: "name: expected [..], got [..]"
  bool ok() const { return missing.empty() && unexpected.empty() && mismatched.empty(); }
  std::string str() const;
};

class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  virtual std::string type_name() const = 0;
  virtual std::string extra_repr() const { return ""; }

  NamedTensors named_parameters() const;  // recursive, "child.name" prefixes
  NamedTensors named_buffers() const;
  std::vector<Tensor> parameters() const;
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& named_children() const { return children_; }
  // Every descendant (not this module) with its dotted path, depth first in registration order.
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> named_modules() const;
  // The descendants of one type, e.g. every DynamicConv2d of a ResNet.
  template <class M> std::vector<std::pair<std::string, std::shared_ptr<M>>> modules_of_type() const {
    std::vector<std::pair<std::string, std::shared_ptr<M>>> out;
    for (auto& [name, m] : named_modules())
      if (auto t = std::dynamic_pointer_cast<M>(m)) out.emplace_back(name, t);
    return out;
  }
  int64_t num_parameters() const;

  // Parameters then buffers, module by module, in registration order (PyTorch's order).
  NamedTensors state_dict() const;
  // Copies values in place (handles stay valid). strict: any missing/unexpected/mis-shaped key
  // throws an Error listing them all; otherwise the report says what was skipped.
  LoadReport load_state_dict(const std::map<std::string, Tensor>& sd, bool strict = true);

  void train(bool on = true);
  void eval() { train(false); }
  bool training() const { return training_; }
  void to(DType dtype);  // floating parameters and buffers
  // Every parameter and buffer to `device`, in place (handles stay valid, like to(DType)); their
  // gradients are dropped. Build optimizers after this: their state lives on the parameters' device.
  void to(Device device);
  void zero_grad();
  std::string repr(int indent = 0) const;  // the module tree, like print(model)

 protected:
  Tensor register_parameter(const std::string& name, Tensor t);
  Tensor register_buffer(const std::string& name, Tensor t);
  template <class M> std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> m) {
    check_new_name(name);
    children_.emplace_back(name, m);
    return m;
  }
  virtual void on_train(bool) {}

 private:
  void check_new_name(const std::string& name) const;
  void collect(NamedTensors& out, const std::string& prefix, bool params, bool buffers) const;

  bool training_ = true;
  NamedTensors params_, buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// A module with one input and one output: what Sequential chains.
class Layer : public Module {
 public:
  virtual Tensor forward(const Tensor& x) = 0;
  Tensor operator()(const Tensor& x) { return forward(x); }
};

}  // namespace cherry
