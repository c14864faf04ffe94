// The backward engine: count dependencies with an explicit-stack DFS, then run nodes whose
// gradients are complete (a topological order), never recursing, so deep nets cannot overflow.
#include <unordered_map>

#include "autograd/autocast.h"
#include "autograd/node.h"
#include "autograd/op_list.h"
#include "autograd/ops.h"

namespace cherry {

namespace {
thread_local bool g_grad_enabled = true;

Tensor run_hooks(const std::vector<GradHook>& hooks, Tensor g) {
  for (const auto& h : hooks)
    if (Tensor r = h(g); r.defined()) g = r;
  return g;
}
}  // namespace

bool grad_enabled() { return g_grad_enabled; }
NoGradGuard::NoGradGuard() : previous_(g_grad_enabled) { g_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { g_grad_enabled = previous_; }

SavedTensor::SavedTensor(const Tensor& t) : t_(t.defined() ? t.detach() : Tensor()), version_(t.defined() ? t.storage()->version() : 0) {}

Tensor SavedTensor::get() const {
  if (t_.defined())
    CHERRY_CHECK(t_.storage()->version() == version_, "backward",
                 "a tensor saved for backward (", t_.describe(), ") was modified in place after it was saved");
  return t_;
}

bool needs_grad(std::initializer_list<Tensor> inputs) {
  if (!g_grad_enabled) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}
bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!g_grad_enabled) return false;
  for (const auto& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

static Edge edge_of(const Tensor& t) {
  if (!t.defined() || !t.requires_grad()) return {};
  if (t.grad_fn()) return {t.grad_fn(), t.impl().output_nr};
  return {std::make_shared<AccumulateGrad>(t.impl_ptr()), 0};
}

static bool is_listed(std::string_view name) {
  for (auto n : kDifferentiableOps)
    if (n == name) return true;
  for (auto n : kDeviceOnlyOps)
    if (n == name) return true;
  return false;
}

void record(const char* name, const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs, BackwardFn fn) {
  CHERRY_CHECK(is_listed(name), "record", "op '", name, "' is not in autograd/op_list.h; list it and add it to the op harness");
  auto node = std::make_shared<FunctionNode>(name, std::move(fn));
  for (const auto& t : inputs) node->next_edges.push_back(edge_of(t));
  node->pre_hooks.resize(outputs.size());
  for (size_t i = 0; i < outputs.size(); ++i) {
    TensorImpl& o = outputs[i].impl();
    node->outputs.push_back({o.shape, o.dtype, outputs[i].device()});
    o.grad_fn = node;
    o.output_nr = uint32_t(i);
    o.requires_grad = true;
  }
}

std::vector<Tensor> FunctionNode::apply(std::vector<Tensor>&& grads) {
  CHERRY_CHECK(fn_ != nullptr, "backward",
               "the graph through '", name_, "' was already freed; pass retain_graph=true to backward twice");
  Needs needs(next_edges.size());
  for (size_t i = 0; i < needs.size(); ++i) needs[i] = next_edges[i].valid();
  for (size_t i = 0; i < grads.size(); ++i)  // outputs that got no gradient contribute zeros
    if (!grads[i].defined()) grads[i] = zeros(outputs[i].shape, outputs[i].dtype, outputs[i].device);
  Grads out = fn_(grads, needs);
  CHERRY_CHECK(out.size() == next_edges.size(), "backward", "'", name_, "' returned ", out.size(), " gradients for ",
               next_edges.size(), " inputs");
  return out;
}

std::vector<Tensor> AccumulateGrad::apply(std::vector<Tensor>&& grads) {
  auto leaf = leaf_.lock();
  if (!leaf || !grads[0].defined()) return {};
  Tensor g = run_hooks(leaf->hooks, grads[0]);
  // A leaf's gradient has the leaf's format (an elementwise backward may pass on one in channel blocks).
  if (g.is_channel_blocks() && leaf->format != MemoryFormat::channel_blocks) g = dense_copy(g, g.dtype(), g.device());
  CHERRY_CHECK(g.shape() == leaf->shape, "backward", "gradient ", g.describe(), " does not match leaf shape ", shape_str(leaf->shape));
  if (!leaf->grad) {
    leaf->grad = g.clone().impl_ptr();  // own it: g may alias another tensor's gradient
  } else {
    Tensor(leaf->grad).add_(g);
  }
  return {};
}

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& grads, bool retain_graph) {
  NoGradGuard no_grad;                  // backward formulas build no graph
  AutocastGuard no_autocast(DType::f32);  // and keep their operands' dtypes
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::vector<Tensor>> buffers;
  std::vector<std::shared_ptr<Node>> ready, stack;

  auto add_into = [](std::vector<Tensor>& buf, size_t slot, const Tensor& g) {
    if (buf.size() <= slot) buf.resize(slot + 1);
    buf[slot] = buf[slot].defined() ? add(buf[slot], g) : g;
  };

  std::vector<std::shared_ptr<Node>> root_nodes;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    CHERRY_CHECK(r.requires_grad(), "backward", "tensor ", r.describe(), " does not require grad and has no grad_fn");
    Edge e = edge_of(r);
    CHERRY_CHECK(grads[i].shape() == r.shape(), "backward", "gradient ", grads[i].describe(), " for output ", r.describe());
    auto& buf = buffers[e.fn.get()];
    buf.resize(std::max<size_t>(buf.size(), e.fn->outputs.size()));
    add_into(buf, e.input_nr, grads[i]);
    root_nodes.push_back(e.fn);
  }
  // Dependency count: how many edges point at each node.
  std::unordered_map<Node*, bool> seen;
  for (auto& n : root_nodes)
    if (!seen[n.get()]) seen[n.get()] = true, stack.push_back(n);
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    for (auto& e : n->next_edges) {
      if (!e.valid()) continue;
      deps[e.fn.get()]++;
      if (!seen[e.fn.get()]) seen[e.fn.get()] = true, stack.push_back(e.fn);
    }
  }
  for (auto& n : root_nodes)
    if (deps[n.get()] == 0 && std::find(ready.begin(), ready.end(), n) == ready.end()) ready.push_back(n);

  while (!ready.empty()) {
    auto node = ready.back();
    ready.pop_back();
    std::vector<Tensor> in = std::move(buffers[node.get()]);
    buffers.erase(node.get());
    in.resize(std::max(in.size(), node->outputs.size()));
    for (size_t i = 0; i < node->pre_hooks.size() && i < in.size(); ++i)
      if (in[i].defined()) in[i] = run_hooks(node->pre_hooks[i], in[i]);
    std::vector<Tensor> out = node->apply(std::move(in));
    if (!retain_graph) node->release();
    for (size_t i = 0; i < out.size(); ++i) {
      const Edge& e = node->next_edges[i];
      if (!e.valid()) continue;
      if (out[i].defined()) add_into(buffers[e.fn.get()], e.input_nr, out[i]);
      if (--deps[e.fn.get()] == 0) ready.push_back(e.fn);
    }
  }
}

// --- Tensor's autograd members ---

Tensor& Tensor::set_requires_grad(bool on) {
  CHERRY_CHECK(is_leaf(), "requires_grad", "can only be set on leaf tensors; use detach() first");
  CHERRY_CHECK(!on || is_floating(dtype()), "requires_grad", "only floating tensors can require grad, got ", describe());
  impl().requires_grad = on;
  return *this;
}

Tensor Tensor::grad() const { return impl().grad ? Tensor(impl().grad) : Tensor(); }
void Tensor::set_grad(const Tensor& g) { impl().grad = g.defined() ? g.impl_ptr() : nullptr; }
void Tensor::zero_grad() { impl().grad = nullptr; }

void Tensor::backward(const Tensor& grad, bool retain_graph) const {
  Tensor g = grad;
  if (!g.defined()) {
    CHERRY_CHECK(numel() == 1, "backward", "grad can be implied only for scalar outputs, got ", describe());
    g = ones(shape(), dtype(), device());
  }
  run_backward({*this}, {g}, retain_graph);
}

void Tensor::register_hook(GradHook hook) {
  CHERRY_CHECK(requires_grad(), "register_hook", "tensor ", describe(), " does not require grad");
  if (is_leaf()) impl().hooks.push_back(std::move(hook));
  else grad_fn()->pre_hooks[impl().output_nr].push_back(std::move(hook));
}

Tensor Tensor::detach() const {
  auto d = std::make_shared<TensorImpl>();
  d->storage = impl().storage;
  d->shape = shape();
  d->strides = impl().strides;
  d->offset = offset();
  d->dtype = dtype();
  d->format = memory_format();
  return Tensor(std::move(d));
}

}  // namespace cherry
