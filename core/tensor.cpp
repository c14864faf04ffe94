// Tensor layout, data access, printing, creation and the in-place (non-recorded) ops.
#include "core/tensor.h"

#include <cstring>
#include <iomanip>
#include <sstream>

#include "backends/backend.h"
#include "core/broadcast.h"

namespace cherry {

Shape contiguous_strides(const Shape& shape) {
  Shape st(shape.size());
  int64_t s = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    st[d] = s;
    s *= shape[d];
  }
  return st;
}

int64_t numel_of(const Shape& shape) {
  int64_t n = 1;
  for (auto s : shape) n *= s;
  return n;
}

TensorImpl& Tensor::impl() const {
  CHERRY_CHECK(impl_ != nullptr, "tensor", "use of an undefined tensor");
  return *impl_;
}

int64_t Tensor::normalize_dim(int64_t d, int64_t extra) const {
  const int64_t n = dim() + extra;
  CHERRY_CHECK(d >= -n && d < (n == 0 ? 1 : n), "dim", "dimension ", d, " out of range for ", describe());
  return d < 0 ? d + n : d;
}

int64_t Tensor::size(int64_t d) const { return shape()[normalize_dim(d)]; }

const Shape& Tensor::strides() const {
  CHERRY_CHECK(!is_channel_blocks(), "strides", "a tensor in channel blocks has no strides (", describe(),
               "); an op that reads strides must take contiguous() first");
  return impl().strides;
}

bool Tensor::is_contiguous() const {
  if (is_channel_blocks()) return false;
  int64_t expect = 1;
  for (int64_t d = dim() - 1; d >= 0; --d) {
    if (shape()[d] != 1 && strides()[d] != expect) return false;
    expect *= shape()[d];
  }
  return true;
}

void* Tensor::raw_data() const {
  return static_cast<char*>(impl().storage->data()) + impl().offset * int64_t(dtype_size(dtype()));
}

template <class T> T* Tensor::data_ptr() const {
  CHERRY_CHECK(dtype() == dtype_of<T>(), "data_ptr", "tensor is ", dtype_name(dtype()), ", asked for ", dtype_name(dtype_of<T>()));
  CHERRY_CHECK(device().is_cpu(), "data_ptr", "tensor lives on ", device().str(), "; copy it to the CPU first");
  return static_cast<T*>(raw_data());
}

Arg Tensor::arg() const { return Arg{raw_data(), dtype(), shape(), strides()}; }
Arg Tensor::format_arg() const { return Arg{raw_data(), dtype(), shape(), impl().strides, impl().format}; }

// An Arg over t's elements whatever its format, in the order of its strides or of its blocks, with
// the matching Arg of a dense destination of t's shape.
static std::pair<Arg, Arg> copy_args(const Tensor& t, void* dst_data, DType dst_dtype) {
  if (t.is_channel_blocks()) {
    const Shape& s = t.shape();
    const int64_t N = s[0], C1 = s[1] / kChannelBlock, H = s[2], W = s[3];
    const Shape order{N, C1, kChannelBlock, H, W};  // the destination's order: sequential writes
    return {Arg{t.raw_data(), t.dtype(), order, {C1 * H * W * kChannelBlock, H * W * kChannelBlock, 1, W * kChannelBlock, kChannelBlock}},
            Arg{dst_data, dst_dtype, order, contiguous_strides(order)}};
  }
  return {t.arg(), Arg{dst_data, dst_dtype, t.shape(), contiguous_strides(t.shape())}};
}

Tensor dense_copy(const Tensor& t, DType dtype, Device device) {
  Tensor c = empty(t.shape(), dtype, t.device());
  if (t.numel()) {
    auto [src, dst] = copy_args(t, c.raw_data(), dtype);
    backend_for(t.device().type).copy(src, dst);
  }
  if (device == t.device()) return c;
  Tensor out = empty(t.shape(), dtype, device);
  const size_t nbytes = size_t(t.numel()) * dtype_size(dtype);
  if (nbytes == 0) return out;
  if (device.is_cpu()) backend_for(t.device().type).copy_to_host(out.raw_data(), c.raw_data(), nbytes);
  else backend_for(device.type).copy_from_host(out.raw_data(), c.raw_data(), nbytes);
  return out;
}

template <class T> std::vector<T> Tensor::to_vector() const {
  CHERRY_CHECK(dtype() == dtype_of<T>(), "to_vector", "tensor is ", dtype_name(dtype()), ", asked for ", dtype_name(dtype_of<T>()));
  std::vector<T> out(static_cast<size_t>(numel()));
  if (!numel()) return out;
  const Tensor host = device().is_cpu() ? *this : dense_copy(*this, dtype(), kCPU);
  auto [src, dst] = copy_args(host, out.data(), dtype());
  backend_for(DeviceType::cpu).copy(src, dst);
  return out;
}

template <class T> T Tensor::item() const {
  CHERRY_CHECK(numel() == 1, "item", "expected one element, got ", describe());
  return to_vector<T>()[0];
}

template <class T> T Tensor::at(const std::vector<int64_t>& index) const {
  CHERRY_CHECK(int64_t(index.size()) == dim(), "at", "index has ", index.size(), " dims, tensor ", describe());
  int64_t off = 0;
  for (int64_t d = 0; d < dim(); ++d) {
    CHERRY_CHECK(index[d] >= 0 && index[d] < shape()[d], "at", "index ", index[d], " out of range in dim ", d, " of ", describe());
    off += index[d] * strides()[d];
  }
  return data_ptr<T>()[off];
}

std::string Tensor::describe() const {
  if (!defined()) return "undefined";
  return cat(dtype_name(dtype()), shape_str(shape()), " ", device().str(), is_channel_blocks() ? " channel_blocks" : "");
}

std::string Tensor::str(int64_t max_per_dim) const {
  if (!defined()) return "Tensor(undefined)";
  Tensor t = dense_copy(*this, DType::f64, kCPU);
  std::vector<double> v = t.to_vector<double>();
  std::ostringstream os;
  os << std::setprecision(5);
  // Recursive over dims is fine here: rank is small and this is printing, not the graph.
  std::function<void(int64_t, int64_t)> rec = [&](int64_t d, int64_t base) {
    if (d == dim()) {
      os << v[size_t(base)];
      return;
    }
    int64_t stride = numel_of(Shape(shape().begin() + d + 1, shape().end()));
    os << "[";
    for (int64_t i = 0; i < shape()[d]; ++i) {
      if (i == max_per_dim / 2 && shape()[d] > max_per_dim) {
        os << "..., ";
        i = shape()[d] - max_per_dim / 2;
      }
      rec(d + 1, base + i * stride);
      if (i + 1 < shape()[d]) os << ", ";
    }
    os << "]";
  };
  rec(0, 0);
  return cat("Tensor(", os.str(), ", ", describe(), requires_grad() ? ", requires_grad" : "", ")");
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// --- creation ---

Tensor empty(const Shape& shape, DType dtype, Device device) {
  for (auto s : shape) CHERRY_CHECK(s >= 0, "empty", "negative size in ", shape_str(shape));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::make_shared<Storage>(size_t(numel_of(shape)) * dtype_size(dtype), device);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  Tensor t = empty(shape, dtype, device);
  if (t.numel()) backend_for(device.type).fill(t.arg(), value);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype, Device device) { return full(shape, 0.0, dtype, device); }
Tensor ones(const Shape& shape, DType dtype, Device device) { return full(shape, 1.0, dtype, device); }
Tensor scalar_tensor(double value, DType dtype, Device device) { return full({}, value, dtype, device); }
Tensor empty_channel_blocks(const Shape& shape, DType dtype, Device device) {
  CHERRY_CHECK(shape.size() == 4 && shape[1] % kChannelBlock == 0 && shape[1] > 0, "channel_blocks",
               "expected (N, C, H, W) with C a positive multiple of ", kChannelBlock, ", got ", shape_str(shape));
  Tensor t = empty(shape, dtype, device);
  t.impl().strides.clear();
  t.impl().format = MemoryFormat::channel_blocks;
  return t;
}

Arg block_order_arg(const Tensor& t, const Shape& s) {
  CHERRY_CHECK(s.size() == 4 && (s[1] == 1 || s[1] % kChannelBlock == 0), "channel_blocks",
               "block order needs (N, C, H, W) with C 1 or a multiple of ", kChannelBlock, ", got ", shape_str(s));
  if (t.is_channel_blocks()) {
    CHERRY_CHECK(t.shape() == s, "channel_blocks", "cannot broadcast ", t.describe(), " to ", shape_str(s));
    const Shape phys{s[0], s[1] / kChannelBlock, s[2], s[3], kChannelBlock};
    return Arg{t.raw_data(), t.dtype(), phys, contiguous_strides(phys)};
  }
  const Arg a = broadcast_arg(t, s, "channel_blocks");
  const Shape& st = a.strides;
  if (s[1] == 1) return Arg{a.data, a.dtype, {s[0], 1, s[2], s[3], 1}, {st[0], 0, st[2], st[3], 0}};
  return Arg{a.data, a.dtype, {s[0], s[1] / kChannelBlock, s[2], s[3], kChannelBlock}, {st[0], st[1] * kChannelBlock, st[2], st[3], st[1]}};
}
Arg block_order_arg(const Tensor& t) { return block_order_arg(t, t.shape()); }
Arg elementwise_arg(const Tensor& t) { return t.is_channel_blocks() ? block_order_arg(t) : t.arg(); }
Tensor empty(const Shape& shape, DType dtype, Device device, MemoryFormat format) {
  return format == MemoryFormat::channel_blocks ? empty_channel_blocks(shape, dtype, device) : empty(shape, dtype, device);
}

Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype(), t.device()); }
Tensor empty_like(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device()); }

Tensor arange(int64_t n, DType dtype, Device device) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = double(i);
  return dense_copy(from_vector<double>(v, {n}, device), dtype, device);
}

template <class T> Tensor from_vector(const std::vector<T>& values, const Shape& shape, Device device) {
  CHERRY_CHECK(int64_t(values.size()) == numel_of(shape), "from_vector", values.size(), " values for shape ", shape_str(shape));
  Tensor t = empty(shape, dtype_of<T>(), device);
  if constexpr (std::is_same_v<T, bool>) {  // std::vector<bool> is packed
    std::vector<uint8_t> bytes(values.begin(), values.end());
    backend_for(device.type).copy_from_host(t.raw_data(), bytes.data(), bytes.size());
  } else {
    backend_for(device.type).copy_from_host(t.raw_data(), values.data(), values.size() * sizeof(T));
  }
  return t;
}

Tensor from_storage(std::shared_ptr<Storage> storage, const Shape& shape, DType dtype, int64_t offset) {
  CHERRY_CHECK(size_t(offset + numel_of(shape)) * dtype_size(dtype) <= storage->nbytes(), "from_storage",
               shape_str(shape), " at offset ", offset, " does not fit in ", storage->nbytes(), " bytes");
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = std::move(storage);
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->offset = offset;
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

// --- broadcasting ---

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CHERRY_CHECK(x == y || x == 1 || y == 1, op, "shapes ", shape_str(a), " and ", shape_str(b), " do not broadcast");
    out[i] = x == 1 ? y : x;
  }
  return out;
}

Arg broadcast_arg(const Tensor& t, const Shape& shape, const char* op) {
  Arg a = t.arg();
  const size_t lead = shape.size() - a.shape.size();
  CHERRY_CHECK(a.shape.size() <= shape.size(), op, "cannot broadcast ", t.describe(), " to ", shape_str(shape));
  Shape st(shape.size(), 0);
  for (size_t i = 0; i < a.shape.size(); ++i) {
    CHERRY_CHECK(a.shape[i] == shape[lead + i] || a.shape[i] == 1, op, "cannot broadcast ", t.describe(), " to ", shape_str(shape));
    st[lead + i] = a.shape[i] == 1 && shape[lead + i] != 1 ? 0 : a.strides[i];
  }
  a.shape = shape;
  a.strides = st;
  return a;
}

// --- in-place ---

Tensor& Tensor::fill_(double value) {
  if (numel()) backend_for(device().type).fill(elementwise_arg(*this), value);
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::copy_(const Tensor& src) {
  CHERRY_CHECK(src.device() == device(), "copy_", "source on ", src.device().str(), ", destination on ", device().str());
  if (numel() && (is_channel_blocks() || src.is_channel_blocks())) {
    CHERRY_CHECK(src.shape() == shape(), "copy_", "into or from channel blocks the shapes must match: ", src.describe(), " -> ", describe());
    backend_for(device().type).copy(block_order_arg(src), block_order_arg(*this));
  } else if (numel()) {
    backend_for(device().type).copy(broadcast_arg(src, shape(), "copy_"), arg());
  }
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::add_(const Tensor& other, double alpha) {
  CHERRY_CHECK(is_contiguous() || is_channel_blocks(), "add_", "in-place add needs a contiguous destination, got ", describe());
  Backend& be = backend_for(device().type);
  const bool blocks = is_channel_blocks();
  const Tensor o_src = !blocks && other.is_channel_blocks() ? dense_copy(other, other.dtype(), other.device()) : other;
  const Arg me = elementwise_arg(*this), o = blocks ? block_order_arg(o_src, shape()) : broadcast_arg(o_src, shape(), "add_");
  if (alpha == 1.0) {
    be.binary(BinaryOp::add, me, o, me);
  } else {
    Tensor s = scalar_tensor(alpha, dtype(), device());
    Tensor scaled = empty(shape(), dtype(), device(), memory_format());
    const Arg sc = elementwise_arg(scaled);
    be.binary(BinaryOp::mul, o, blocks ? block_order_arg(s, shape()) : broadcast_arg(s, shape(), "add_"), sc);
    be.binary(BinaryOp::add, me, sc, me);
  }
  storage()->bump_version();
  return *this;
}

Tensor& Tensor::mul_(double value) {
  CHERRY_CHECK(is_contiguous() || is_channel_blocks(), "mul_", "in-place mul needs a contiguous destination, got ", describe());
  Tensor s = scalar_tensor(value, dtype(), device());
  const Arg me = elementwise_arg(*this);
  backend_for(device().type).binary(BinaryOp::mul, me, is_channel_blocks() ? block_order_arg(s, shape()) : broadcast_arg(s, shape(), "mul_"), me);
  storage()->bump_version();
  return *this;
}

void Tensor::set_data(const Tensor& other) {
  CHERRY_CHECK(!impl().requires_grad || is_floating(other.dtype()), "set_data", "a tensor that requires grad needs floating data, got ",
               other.describe());
  TensorImpl& me = impl();
  me.storage = other.storage();
  me.shape = other.shape();
  me.strides = other.impl().strides;
  me.offset = other.offset();
  me.dtype = other.dtype();
  me.format = other.memory_format();
  me.grad = nullptr;
}

#define CHERRY_INSTANTIATE(T)                                                            \
  template T* Tensor::data_ptr<T>() const;                                               \
  template T Tensor::item<T>() const;                                                    \
  template T Tensor::at<T>(const std::vector<int64_t>&) const;                           \
  template std::vector<T> Tensor::to_vector<T>() const;                                  \
  template Tensor from_vector<T>(const std::vector<T>&, const Shape&, Device);
CHERRY_INSTANTIATE(float)
CHERRY_INSTANTIATE(double)
CHERRY_INSTANTIATE(int64_t)
CHERRY_INSTANTIATE(uint8_t)
#undef CHERRY_INSTANTIATE
template bool* Tensor::data_ptr<bool>() const;
template bool Tensor::at<bool>(const std::vector<int64_t>&) const;
template Tensor from_vector<bool>(const std::vector<bool>&, const Shape&, Device);

}  // namespace cherry
