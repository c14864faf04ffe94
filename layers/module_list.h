// ModuleList: children named "0", "1", ... (PyTorch's nn.ModuleList) for modules that do not chain
// as one-input Layers, e.g. BERT's encoder layers (input + mask): "encoder.layer.3.output.dense".
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "layers/module.h"

namespace cherry {

template <class M>
class ModuleList : public Module {
 public:
  void push_back(std::shared_ptr<M> m) { items_.push_back(register_module(std::to_string(items_.size()), std::move(m))); }
  size_t size() const { return items_.size(); }
  M& operator[](size_t i) const { return *items_.at(i); }
  const std::vector<std::shared_ptr<M>>& items() const { return items_; }
  std::string type_name() const override { return "ModuleList"; }

 private:
  std::vector<std::shared_ptr<M>> items_;
};

}  // namespace cherry
