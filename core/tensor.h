// Tensor: a cheap handle (shared_ptr) to a TensorImpl = shared Storage + layout (shape, strides in
// elements, offset) + dtype + autograd slots. Copies of a Tensor alias; views share storage.
// Layout accessors and creation live in core/; the differentiable methods (views, math) are
// declared here for call-site comfort and implemented in autograd/ next to their backward formulas.
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "backends/arg.h"
#include "core/dtype.h"
#include "core/error.h"
#include "core/storage.h"

namespace cherry {

class Node;
class Tensor;
using GradHook = std::function<Tensor(const Tensor&)>;  // return an undefined Tensor to keep the grad

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape shape, strides;  // shape is logical; strides empty for MemoryFormat::channel_blocks (dense, offset 0)
  int64_t offset = 0;
  DType dtype = DType::f32;
  MemoryFormat format = MemoryFormat::strided;
  // autograd
  bool requires_grad = false;
  std::shared_ptr<Node> grad_fn;  // null for leaves
  uint32_t output_nr = 0;
  std::shared_ptr<TensorImpl> grad;
  std::vector<GradHook> hooks;  // leaves only; non-leaf hooks live on grad_fn
};

Shape contiguous_strides(const Shape& shape);
int64_t numel_of(const Shape& shape);

class Tensor {
 public:
  Tensor() = default;
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- layout and data (core/tensor.cpp) ---
  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const { return impl().shape; }
  const Shape& strides() const;  // strided tensors only: channel blocks have none
  MemoryFormat memory_format() const { return impl().format; }
  bool is_channel_blocks() const { return impl().format == MemoryFormat::channel_blocks; }
  int64_t offset() const { return impl().offset; }
  int64_t dim() const { return int64_t(impl().shape.size()); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const { return numel_of(impl().shape); }
  DType dtype() const { return impl().dtype; }
  Device device() const { return impl().storage->device(); }
  bool is_contiguous() const;  // strided and row-major dense (channel blocks: false)
  const std::shared_ptr<Storage>& storage() const { return impl().storage; }
  void* raw_data() const;  // first element, any device
  template <class T> T* data_ptr() const;  // CPU only, dtype checked
  Arg arg() const;         // what a backend sees; a strided tensor (channel blocks need format_arg)
  Arg format_arg() const;  // any format: for the kernels that take channel blocks (conv, batch norm)
  template <class T> T item() const;
  template <class T> T at(const std::vector<int64_t>& index) const;  // CPU, for tests
  template <class T> std::vector<T> to_vector() const;                 // any device, row-major
  std::string str(int64_t max_per_dim = 6) const;
  std::string describe() const;  // "f32[2, 3] cpu"
  TensorImpl& impl() const;
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }
  bool same(const Tensor& o) const { return impl_ == o.impl_; }
  int64_t normalize_dim(int64_t d, int64_t ndim_extra = 0) const;

  // --- autograd (autograd/) ---
  bool requires_grad() const { return impl().requires_grad; }
  Tensor& set_requires_grad(bool on = true);
  bool is_leaf() const { return impl().grad_fn == nullptr; }
  const std::shared_ptr<Node>& grad_fn() const { return impl().grad_fn; }
  Tensor grad() const;
  void set_grad(const Tensor& g);
  void zero_grad();  // drops the grad (next backward allocates); like set_to_none=True
  void backward(const Tensor& grad = {}, bool retain_graph = false) const;
  void register_hook(GradHook hook);
  Tensor detach() const;

  // --- views (differentiable, autograd/ops_view.cpp) ---
  Tensor reshape(const Shape& shape) const;
  Tensor view(const Shape& shape) const;  // must be expressible without a copy
  Tensor permute(const std::vector<int64_t>& dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor expand(const Shape& shape) const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start = 0, int64_t end = -1) const;
  Tensor contiguous() const;  // strided, row-major dense (converts channel blocks)
  Tensor clone() const;
  Tensor to(Device device) const;
  Tensor to(DType dtype) const;

  // --- math sugar (autograd/ops_*.cpp) ---
  Tensor sum(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor mean(const std::vector<int64_t>& dims = {}, bool keepdim = false) const;
  Tensor matmul(const Tensor& other) const;

  // --- in-place, never recorded by autograd; bump the storage version (core/tensor.cpp) ---
  Tensor& fill_(double value);
  Tensor& zero_() { return fill_(0.0); }
  Tensor& copy_(const Tensor& src);  // broadcasts and casts src
  Tensor& add_(const Tensor& other, double alpha = 1.0);
  Tensor& mul_(double value);
  // Replaces this tensor's data (storage, layout, dtype) with other's, keeping its identity and
  // autograd flags: every handle to it sees the new data (how Module::to converts parameters).
  void set_data(const Tensor& other);

 private:
  std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// --- creation (core/tensor.cpp) ---
Tensor empty(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor zeros(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor ones(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32, Device device = kCPU);
Tensor scalar_tensor(double value, DType dtype = DType::f32, Device device = kCPU);
Tensor arange(int64_t n, DType dtype = DType::i64, Device device = kCPU);
template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device = kCPU);
Tensor zeros_like(const Tensor& t);
Tensor empty_like(const Tensor& t);  // same shape, dtype and device; strided
// A dense, strided copy of t's values in dtype on device, outside autograd (core's own copies; the
// recorded ones are Tensor::to and contiguous).
Tensor dense_copy(const Tensor& t, DType dtype, Device device);
// An (N, C, H, W) tensor in channel blocks (C % 16 == 0), uninitialised.
Tensor empty_channel_blocks(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
Tensor empty(const Shape& shape, DType dtype, Device device, MemoryFormat format);  // either format
// The 5-D strided Arg (N, C/16, H, W, 16) that addresses t's elements, broadcast to shape (N, C, H,
// W), in channel-block order: for channel blocks (of that shape) their dense layout, for a strided
// tensor a view of it (C == 1: (N, 1, H, W, 1)). Elementwise kernels on mixed formats run over these.
Arg block_order_arg(const Tensor& t, const Shape& shape);
Arg block_order_arg(const Tensor& t);  // t's own shape
// For kernels that treat every element alike (fill, copy, elementwise): block order for channel
// blocks, the strides otherwise.
Arg elementwise_arg(const Tensor& t);
// A tensor over an existing storage (no copy), e.g. a memory-mapped file.
Tensor from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype, int64_t offset = 0);

}  // namespace cherry
