// The autograd graph. An output tensor owns its grad_fn (a Node); a Node owns Edges to the Nodes
// that produced its inputs (leaves get an AccumulateGrad node). Backward walks it iteratively.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cherry {

class Node;
struct Edge {
  std::shared_ptr<Node> fn;  // null: this input needs no gradient
  uint32_t input_nr = 0;     // which output of fn (equivalently, which grad slot of fn)
  bool valid() const { return fn != nullptr; }
};

struct OutputMeta {
  Shape shape;
  DType dtype;
  Device device;
};

class Node {
 public:
  virtual ~Node() = default;
  // grads[i] is the gradient of output i; returns one gradient per next_edges entry.
  virtual std::vector<Tensor> apply(std::vector<Tensor>&& grads) = 0;
  virtual std::string name() const = 0;
  virtual void release() {}  // drop saved tensors once backward has used them

  std::vector<Edge> next_edges;
  std::vector<OutputMeta> outputs;
  std::vector<std::vector<GradHook>> pre_hooks;  // per output, run before apply
};

// Leaf sink: adds the incoming gradient into leaf.grad (allocating it the first time).
class AccumulateGrad final : public Node {
 public:
  explicit AccumulateGrad(std::weak_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  std::string name() const override { return "AccumulateGrad"; }

 private:
  std::weak_ptr<TensorImpl> leaf_;
};

// A tensor saved for backward, with the storage version at save time: using it after an in-place
// change throws instead of silently computing a wrong gradient. Holds no autograd links (no cycles).
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  Tensor get() const;
  bool defined() const { return t_.defined(); }

 private:
  Tensor t_;
  uint64_t version_ = 0;
};

using Grads = std::vector<Tensor>;
using Needs = std::vector<bool>;
using BackwardFn = std::function<Grads(const Grads& grad_outputs, const Needs& needs_input_grad)>;

// A node whose backward is a lambda written next to the forward op.
class FunctionNode final : public Node {
 public:
  FunctionNode(std::string name, BackwardFn fn) : name_(std::move(name)), fn_(std::move(fn)) {}
  std::vector<Tensor> apply(std::vector<Tensor>&& grads) override;
  std::string name() const override { return name_; }
  void release() override { fn_ = nullptr; }

 private:
  std::string name_;
  BackwardFn fn_;
};

// Grad mode: recording happens only when it is on and some input requires grad.
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

bool needs_grad(std::initializer_list<Tensor> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);
// Connects outputs to a new FunctionNode over inputs. Call only when needs_grad(inputs).
void record(const char* name, const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs, BackwardFn fn);
inline SavedTensor save(const Tensor& t) { return SavedTensor(t); }

// Runs backward from roots with the given output gradients.
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph);

}  // namespace cherry
