// Reductions (sum, mean, amax/amin, var), sum_to, and the last-dim row ops (argmax, topk,
// softmax, log-softmax). Row ops on another dim transpose it to the end first.
#include "autograd/op_helpers.h"

namespace cherry {
using namespace detail;

std::vector<bool> detail::reduce_mask(const Tensor& x, const std::vector<int64_t>& dims, const char* op) {
  std::vector<bool> mask(size_t(x.dim()), dims.empty());
  for (int64_t d : dims) {
    int64_t n = x.normalize_dim(d);
    CHERRY_CHECK(!mask[size_t(n)], op, "dim ", d, " repeated");
    mask[size_t(n)] = true;
  }
  return mask;
}

namespace {
Shape keep_shape(const Tensor& x, const std::vector<bool>& mask) {
  Shape s = x.shape();
  for (size_t d = 0; d < s.size(); ++d)
    if (mask[d]) s[d] = 1;
  return s;
}
Shape drop_shape(const Tensor& x, const std::vector<bool>& mask) {
  Shape s;
  for (size_t d = 0; d < mask.size(); ++d)
    if (!mask[d]) s.push_back(x.shape()[d]);
  return s;
}
// Returns the reduced tensor in keepdim form.
Tensor reduce_keep(ReduceOp op, const Tensor& x, const std::vector<bool>& mask) {
  Tensor out = empty(keep_shape(x, mask), x.dtype(), x.device());
  if (out.numel() == 0) return out;
  CHERRY_CHECK(x.numel() > 0 || op == ReduceOp::sum, op_name(op), "reduction of an empty tensor ", x.describe());
  if (x.numel() == 0) return out.fill_(0.0);
  if (x.is_channel_blocks())  // over the block order: out keeps C whole or reduces it to 1
    be(x).reduce(op, block_order_arg(x), block_order_arg(out));
  else
    be(x).reduce(op, x.arg(), out.arg());
  return out;
}
Tensor finish(const Tensor& keep, const Tensor& x, const std::vector<bool>& mask, bool keepdim) {
  return keepdim ? keep : keep.reshape(drop_shape(x, mask));
}
int64_t reduced_count(const Tensor& x, const std::vector<bool>& mask) {
  int64_t n = 1;
  for (size_t d = 0; d < mask.size(); ++d)
    if (mask[d]) n *= x.shape()[d];
  return n;
}
}  // namespace

Tensor sum(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  auto mask = reduce_mask(x, dims, "sum");
  Tensor out;
  {
    NoGradGuard ng;
    out = finish(reduce_keep(ReduceOp::sum, x, mask), x, mask, keepdim);
  }
  if (needs_grad({x}))
    record("sum", {out}, {x}, [in = x.shape(), keep = keep_shape(x, mask)](const Grads& g, const Needs&) -> Grads {
      return {g[0].reshape(keep).expand(in)};
    });
  return out;
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  auto mask = reduce_mask(x, dims, "mean");
  Tensor out;
  {
    NoGradGuard ng;
    out = finish(reduce_keep(ReduceOp::mean, x, mask), x, mask, keepdim);
  }
  if (needs_grad({x}))
    record("mean", {out}, {x}, [in = x.shape(), keep = keep_shape(x, mask), n = reduced_count(x, mask)](const Grads& g, const Needs&) -> Grads {
      return {(g[0] / double(n)).reshape(keep).expand(in)};
    });
  return out;
}

static Tensor extreme(ReduceOp op, const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  auto mask = reduce_mask(x, dims, op_name(op));
  Tensor keep;
  {
    NoGradGuard ng;
    keep = reduce_keep(op, x, mask);
  }
  Tensor out = finish(keep.detach(), x, mask, keepdim);
  if (needs_grad({x}))
    record(op_name(op), {out}, {x}, [sx = save(x), sk = save(keep), mask, shape = keep.shape()](const Grads& g, const Needs&) -> Grads {
      Tensor x = sx.get(), hit = eq(x, sk.get());
      std::vector<int64_t> dims;
      for (size_t d = 0; d < mask.size(); ++d)
        if (mask[d]) dims.push_back(int64_t(d));
      Tensor count = sum(hit.to(x.dtype()), dims, true);
      Tensor share = div(g[0].reshape(shape), count);
      return {where(hit, share, zeros({}, x.dtype(), x.device()))};
    });
  return out;
}
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return extreme(ReduceOp::max, x, dims, keepdim); }
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) { return extreme(ReduceOp::min, x, dims, keepdim); }

Tensor var(const Tensor& x, const std::vector<int64_t>& dims, int64_t correction, bool keepdim) {
  auto mask = reduce_mask(x, dims, "var");
  const int64_t n = reduced_count(x, mask);
  CHERRY_CHECK(n - correction > 0, "var", "needs more than ", correction, " elements, got ", n);
  Tensor centered = sub(x, mean(x, dims, true));
  return div(sum(square(centered), dims, keepdim), scalar_like(double(n - correction), x));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  const int64_t lead = x.dim() - int64_t(shape.size());
  CHERRY_CHECK(lead >= 0, "sum_to", "cannot reduce ", x.describe(), " to ", shape_str(shape));
  std::vector<int64_t> dims;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  Tensor s = dims.empty() ? x : sum(x, dims, true);
  return s.reshape(shape);
}

namespace {
// Moves dim to the end and makes the tensor a contiguous (M, N) matrix.
struct Rows {
  Tensor mat;
  Shape moved_shape;
  int64_t dim;
  bool moved;
  Rows(const Tensor& x, int64_t d) : dim(x.normalize_dim(d)), moved(dim != x.dim() - 1) {
    Tensor t = moved ? x.transpose(dim, -1) : x;
    moved_shape = t.shape();
    const int64_t n = x.dim() ? t.shape().back() : 1;
    mat = t.contiguous().reshape({n ? t.numel() / n : 0, n});
  }
  Tensor back(const Tensor& m, int64_t last) const {
    Shape s = moved_shape;
    if (!s.empty()) s.back() = last;
    Tensor t = m.reshape(s);
    return moved ? t.transpose(dim, -1) : t;
  }
};

Tensor softmax_impl(const Tensor& x, int64_t dim, bool log) {
  check_floating(x, log ? "log_softmax" : "softmax");
  Tensor y;
  {
    NoGradGuard ng;
    Rows r(x, dim);
    Tensor ym = empty(r.mat.shape(), x.dtype(), x.device());
    if (ym.numel()) be(x).softmax(r.mat.arg(), log, ym.arg());
    y = r.back(ym, r.mat.shape()[1]).contiguous();
  }
  if (needs_grad({x}))
    record(log ? "log_softmax" : "softmax", {y}, {x}, [sy = save(y), dim, log](const Grads& g, const Needs&) -> Grads {
      Tensor y = sy.get();
      Rows ry(y, dim), rg(g[0], dim);
      Tensor gx = empty(ry.mat.shape(), y.dtype(), y.device());
      if (gx.numel()) be(y).softmax_backward(ry.mat.arg(), rg.mat.arg(), log, gx.arg());
      return {ry.back(gx, ry.mat.shape()[1]).contiguous()};
    });
  return y;
}
}  // namespace

// Both compute in f32 (a bf16 input is cast up first): attention probabilities and losses keep f32.
Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl(upcast_bf16(x), dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl(upcast_bf16(x), dim, true); }

Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
  NoGradGuard ng;
  Rows r(x, dim);
  CHERRY_CHECK(r.mat.shape()[1] > 0, "argmax", "empty dimension in ", x.describe());
  Tensor idx = empty({r.mat.shape()[0]}, DType::i64, x.device());
  be(x).argmax(r.mat.arg(), idx.arg());
  Tensor out = r.back(idx, 1);
  return keepdim ? out.contiguous() : out.squeeze(r.dim).contiguous();
}

std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
  Tensor values, indices;
  int64_t d = x.normalize_dim(dim);
  {
    NoGradGuard ng;
    Rows r(x, d);
    CHERRY_CHECK(k >= 0 && k <= r.mat.shape()[1], "topk", "k=", k, " out of range for size ", r.mat.shape()[1], " of ", x.describe());
    Tensor v = empty({r.mat.shape()[0], k}, x.dtype(), x.device()), i = empty({r.mat.shape()[0], k}, DType::i64, x.device());
    if (v.numel()) be(x).topk(r.mat.arg(), k, largest, v.arg(), i.arg());
    values = r.back(v, k).contiguous();
    indices = r.back(i, k).contiguous();
  }
  if (needs_grad({x}))
    record("topk", {values}, {x}, [in = x.shape(), si = save(indices), d](const Grads& g, const Needs&) -> Grads {
      Tensor z = zeros(in, g[0].dtype(), g[0].device());
      return {scatter_add(z, d, si.get(), g[0])};
    });
  return {values, indices};
}

Tensor Tensor::sum(const std::vector<int64_t>& dims, bool keepdim) const { return cherry::sum(*this, dims, keepdim); }
Tensor Tensor::mean(const std::vector<int64_t>& dims, bool keepdim) const { return cherry::mean(*this, dims, keepdim); }

}  // namespace cherry
