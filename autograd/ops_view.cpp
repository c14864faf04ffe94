// View ops (no copy: a new layout over the same storage) and the copies that change layout,
// dtype or device. Gradients of views are views or sums of the incoming gradient.
#include <numeric>
#include <optional>

#include "autograd/op_helpers.h"

namespace cherry {
using namespace detail;

namespace {
Tensor make_view(const Tensor& t, Shape shape, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = t.storage();
  impl->shape = std::move(shape);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = t.dtype();
  return Tensor(std::move(impl));
}

// Records a view whose gradient is grad_fn(g) with the input's shape available.
template <class F> Tensor record_view(const char* name, const Tensor& in, Tensor out, F grad_fn) {
  if (needs_grad({in}))
    record(name, {out}, {in}, [shape = in.shape(), grad_fn](const Grads& g, const Needs&) -> Grads { return {grad_fn(g[0], shape)}; });
  return out;
}

Shape infer_shape(const Shape& shape, int64_t numel, const char* op) {
  Shape out = shape;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      CHERRY_CHECK(infer < 0, op, "only one dimension can be -1 in ", shape_str(shape));
      infer = int64_t(i);
    } else {
      CHERRY_CHECK(out[i] >= 0, op, "invalid size in ", shape_str(shape));
      known *= out[i];
    }
  }
  if (infer >= 0) {
    CHERRY_CHECK(known != 0 && numel % known == 0, op, "cannot infer -1 in ", shape_str(shape), " for ", numel, " elements");
    out[size_t(infer)] = numel / known;
  }
  CHERRY_CHECK(numel_of(out) == numel, op, "shape ", shape_str(shape), " is invalid for ", numel, " elements");
  return out;
}

// Strides for viewing (shape, strides) as new_shape without copying, if possible (PyTorch's rule:
// each run of old dims that are contiguous with each other can be split or merged freely).
std::optional<Shape> view_strides(const Shape& shape, const Shape& strides, const Shape& new_shape) {
  if (numel_of(shape) == 0 || shape.empty()) return contiguous_strides(new_shape);
  Shape out(new_shape.size());
  int64_t view_d = int64_t(new_shape.size()) - 1;
  int64_t chunk_stride = strides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    tensor_numel *= shape[d];
    if (d == 0 || (shape[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_stride)) {  // end of a chunk
      while (view_d >= 0 && (view_numel < tensor_numel || new_shape[view_d] == 1)) {
        out[view_d] = view_numel * chunk_stride;
        view_numel *= new_shape[view_d];
        view_d--;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) chunk_stride = strides[d - 1], tensor_numel = 1, view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}
}  // namespace

// Views address elements through strides, which channel blocks do not have: they view the strided
// copy (contiguous(), recorded, so the gradient goes back into channel blocks). One view keeps them:
// moving whole 16-channel blocks between the batch and channel dims ((B, C, H, W) as (1, B*C, H, W)
// and back) leaves every element where it is (DY-Conv's per-sample convolution runs on it).
static bool blocks_view_ok(const Tensor& t, const Shape& s) {
  return s.size() == 4 && s[2] == t.size(2) && s[3] == t.size(3) && s[1] > 0 && s[1] % kChannelBlock == 0;
}
Tensor Tensor::view(const Shape& new_shape) const {
  if (is_channel_blocks()) {
    const Shape s = infer_shape(new_shape, numel(), "view");
    if (!blocks_view_ok(*this, s)) return contiguous().view(s);
    Tensor v = make_view(*this, s, {}, offset());
    v.impl().format = MemoryFormat::channel_blocks;
    return record_view("view", *this, v, [](const Tensor& g, const Shape& in) { return g.reshape(in); });
  }
  Shape s = infer_shape(new_shape, numel(), "view");
  auto st = view_strides(shape(), strides(), s);
  CHERRY_CHECK(st.has_value(), "view", "cannot view ", describe(), " as ", shape_str(s), " without a copy; use reshape()");
  return record_view("view", *this, make_view(*this, s, *st, offset()), [](const Tensor& g, const Shape& in) { return g.reshape(in); });
}

Tensor Tensor::reshape(const Shape& new_shape) const {
  if (is_channel_blocks()) return view(new_shape);  // a copy where the blocks cannot stay
  Shape s = infer_shape(new_shape, numel(), "reshape");
  if (view_strides(shape(), strides(), s)) return view(s);
  return contiguous().view(s);
}

Tensor Tensor::permute(const std::vector<int64_t>& dims) const {
  if (is_channel_blocks()) return contiguous().permute(dims);
  CHERRY_CHECK(int64_t(dims.size()) == dim(), "permute", "got ", dims.size(), " dims for ", describe());
  Shape s(dims.size()), st(dims.size());
  std::vector<int64_t> inverse(dims.size());
  std::vector<bool> used(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = normalize_dim(dims[i]);
    CHERRY_CHECK(!used[size_t(d)], "permute", "repeated dim ", dims[i]);
    used[size_t(d)] = true;
    s[i] = shape()[d], st[i] = strides()[d], inverse[size_t(d)] = int64_t(i);
  }
  return record_view("permute", *this, make_view(*this, s, st, offset()),
                     [inverse](const Tensor& g, const Shape&) { return g.permute(inverse); });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  std::vector<int64_t> p(static_cast<size_t>(dim()));
  std::iota(p.begin(), p.end(), 0);
  std::swap(p[size_t(normalize_dim(d0))], p[size_t(normalize_dim(d1))]);
  return permute(p);
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  if (is_channel_blocks()) return contiguous().narrow(d, start, length);
  d = normalize_dim(d);
  CHERRY_CHECK(start >= 0 && length >= 0 && start + length <= shape()[d], "narrow", "range [", start, ", ", start + length,
               ") out of bounds for dim ", d, " of ", describe());
  Shape s = shape();
  s[d] = length;
  return record_view("narrow", *this, make_view(*this, s, strides(), offset() + start * strides()[d]),
                     [d, start, length](const Tensor& g, const Shape& in) {
                       Tensor full = zeros(in, g.dtype(), g.device());
                       full.narrow(d, start, length).copy_(g);
                       return full;
                     });
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  d = normalize_dim(d);
  if (index < 0) index += shape()[d];
  return narrow(d, index, 1).squeeze(d);
}

Tensor Tensor::expand(const Shape& target) const {
  if (is_channel_blocks()) return contiguous().expand(target);
  CHERRY_CHECK(int64_t(target.size()) >= dim(), "expand", "cannot expand ", describe(), " to ", shape_str(target));
  Shape s = target;
  const size_t lead = target.size() - size_t(dim());
  for (size_t i = 0; i < size_t(dim()); ++i)
    if (s[lead + i] == -1) s[lead + i] = shape()[i];
  Arg a = broadcast_arg(*this, s, "expand");
  return record_view("expand", *this, make_view(*this, s, a.strides, offset()), [](const Tensor& g, const Shape& in) { return sum_to(g, in); });
}

Tensor Tensor::squeeze(int64_t d) const {
  d = normalize_dim(d);
  if (shape()[d] != 1) return *this;
  if (is_channel_blocks()) return contiguous().squeeze(d);
  Shape s = shape(), st = strides();
  s.erase(s.begin() + d), st.erase(st.begin() + d);
  return record_view("squeeze", *this, make_view(*this, s, st, offset()), [](const Tensor& g, const Shape& in) { return g.reshape(in); });
}

Tensor Tensor::unsqueeze(int64_t d) const {
  if (is_channel_blocks()) return contiguous().unsqueeze(d);
  d = normalize_dim(d, 1);
  Shape s = shape(), st = strides();
  const int64_t stride = d < dim() ? shape()[d] * strides()[d] : 1;
  s.insert(s.begin() + d, 1), st.insert(st.begin() + d, stride);
  return record_view("unsqueeze", *this, make_view(*this, s, st, offset()), [](const Tensor& g, const Shape& in) { return g.reshape(in); });
}

Tensor Tensor::flatten(int64_t start, int64_t end) const {
  if (dim() == 0) return reshape({1});
  start = normalize_dim(start), end = normalize_dim(end);
  Shape s(shape().begin(), shape().begin() + start);
  s.push_back(numel_of(Shape(shape().begin() + start, shape().begin() + end + 1)));
  s.insert(s.end(), shape().begin() + end + 1, shape().end());
  return reshape(s);
}

Tensor Tensor::clone() const {
  Tensor out = empty(shape(), dtype(), device(), memory_format());  // channel blocks stay in them
  if (numel()) detail::be(*this).copy(elementwise_arg(*this), elementwise_arg(out));
  return record_view("clone", *this, out, [](const Tensor& g, const Shape&) { return g; });
}

Tensor Tensor::contiguous() const {
  if (is_channel_blocks()) return from_channel_blocks(*this);
  return is_contiguous() ? *this : clone();
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = empty(shape(), t, device(), memory_format());  // the copy keeps the format
  if (numel()) detail::be(*this).copy(elementwise_arg(*this), elementwise_arg(out));
  if (is_floating(t) && is_floating(dtype()))
    return record_view("to_dtype", *this, out, [from = dtype()](const Tensor& g, const Shape&) { return g.to(from); });
  return out;
}

Tensor Tensor::to(Device d) const {
  if (d == device()) return *this;
  if (is_channel_blocks()) return contiguous().to(d);
  Tensor src = contiguous();
  Tensor out = empty(shape(), dtype(), d);
  const size_t nbytes = size_t(numel()) * dtype_size(dtype());
  if (nbytes) {
    if (d.is_cpu()) detail::be(src).copy_to_host(out.raw_data(), src.raw_data(), nbytes);
    else backend_for(d.type).copy_from_host(out.raw_data(), src.raw_data(), nbytes);
  }
  return record_view("to_device", *this, out, [from = device()](const Tensor& g, const Shape&) { return g.to(from); });
}

Tensor cat(const std::vector<Tensor>& ts_in, int64_t dim) {
  CHERRY_CHECK(!ts_in.empty(), "cat", "needs at least one tensor");
  std::vector<Tensor> ts;
  for (const Tensor& t : ts_in) ts.push_back(t.is_channel_blocks() ? t.contiguous() : t);
  dim = ts[0].normalize_dim(dim);
  Shape s = ts[0].shape();
  s[dim] = 0;
  for (const auto& t : ts) {
    check_same(ts[0], t, "cat");
    CHERRY_CHECK(t.dim() == ts[0].dim(), "cat", "rank mismatch: ", ts[0].describe(), " vs ", t.describe());
    for (int64_t d = 0; d < t.dim(); ++d)
      CHERRY_CHECK(d == dim || t.shape()[d] == ts[0].shape()[d], "cat", "shape mismatch off dim ", dim, ": ", ts[0].describe(), " vs ", t.describe());
    s[dim] += t.shape()[dim];
  }
  Tensor out = empty(s, ts[0].dtype(), ts[0].device());
  std::vector<int64_t> sizes;
  int64_t at = 0;
  for (const auto& t : ts) {
    if (t.numel()) be(t).copy(t.arg(), out.narrow(dim, at, t.shape()[dim]).arg());
    sizes.push_back(t.shape()[dim]);
    at += t.shape()[dim];
  }
  if (needs_grad(ts))
    record("cat", {out}, ts, [dim, sizes](const Grads& g, const Needs& n) -> Grads {
      Grads out;
      int64_t at = 0;
      for (size_t i = 0; i < sizes.size(); ++i) {
        out.push_back(n[i] ? g[0].narrow(dim, at, sizes[i]).contiguous() : Tensor());
        at += sizes[i];
      }
      return out;
    });
  return out;
}

Tensor stack(const std::vector<Tensor>& ts, int64_t dim) {
  CHERRY_CHECK(!ts.empty(), "stack", "needs at least one tensor");
  const int64_t d = ts[0].normalize_dim(dim, 1);
  std::vector<Tensor> u;
  for (const auto& t : ts) u.push_back(t.unsqueeze(d));
  return cat(u, d);
}

}  // namespace cherry
