// Sequential: the only container. Children are named "0", "1", ... as in PyTorch, so
// "downsample.0.weight" style keys load unchanged.
#pragma once
#include <memory>
#include <vector>

#include "layers/module.h"

namespace cherry {

class Sequential : public Layer {
 public:
  Sequential() = default;
  explicit Sequential(std::vector<std::shared_ptr<Layer>> layers);
  void push_back(std::shared_ptr<Layer> layer);
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "Sequential"; }
  size_t size() const { return layers_.size(); }
  Layer& operator[](size_t i) const { return *layers_.at(i); }

 private:
  std::vector<std::shared_ptr<Layer>> layers_;
};

}  // namespace cherry
