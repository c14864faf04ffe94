// Indexing ops: index_select/index_add and gather/scatter_add are each other's gradients;
// embedding is index_select on rows.
#include "autograd/op_helpers.h"

namespace cherry {
using namespace detail;

namespace {
void check_index(const Tensor& idx, const Tensor& x, const char* op) {
  CHERRY_CHECK(idx.dtype() == DType::i64, op, "indices must be i64, got ", idx.describe());
  CHERRY_CHECK(idx.device() == x.device(), op, "indices on ", idx.device().str(), ", input on ", x.device().str());
}
// gather/scatter indices: same rank as x, same sizes except along dim.
void check_gather_shape(const Tensor& x, int64_t dim, const Tensor& idx, const char* op) {
  CHERRY_CHECK(idx.dim() == x.dim(), op, "index ", idx.describe(), " must have the rank of ", x.describe());
  for (int64_t d = 0; d < x.dim(); ++d)
    CHERRY_CHECK(d == dim || idx.size(d) == x.size(d), op, "index ", idx.describe(), " must match ", x.describe(), " off dim ", dim);
}
}  // namespace

Tensor index_select(const Tensor& x_in, int64_t dim, const Tensor& index) {
  check_index(index, x_in, "index_select");
  CHERRY_CHECK(index.dim() == 1, "index_select", "index must be 1-D, got ", index.describe());
  dim = x_in.normalize_dim(dim);
  Tensor x = x_in.contiguous(), idx = index.contiguous();
  Shape s = x.shape();
  s[dim] = idx.numel();
  Tensor out = empty(s, x.dtype(), x.device());
  if (out.numel()) be(x).index_select(x.arg(), dim, idx.arg(), out.arg());
  if (needs_grad({x_in}))
    record("index_select", {out}, {x_in}, [dim, si = save(idx), in = x.shape()](const Grads& g, const Needs&) -> Grads {
      return {index_add(zeros(in, g[0].dtype(), g[0].device()), dim, si.get(), g[0])};
    });
  return out;
}

Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(index, x, "index_add");
  check_same(x, src, "index_add");
  dim = x.normalize_dim(dim);
  CHERRY_CHECK(index.dim() == 1 && src.dim() == x.dim() && src.size(dim) == index.numel(), "index_add", "src ", src.describe(),
               " and index ", index.describe(), " do not fit ", x.describe());
  for (int64_t d = 0; d < x.dim(); ++d)
    CHERRY_CHECK(d == dim || src.size(d) == x.size(d), "index_add", "src ", src.describe(), " must match ", x.describe(), " off dim ", dim);
  Tensor out = dense_copy(x, x.dtype(), x.device()), idx = index.contiguous();
  if (src.numel()) be(x).index_add(out.arg(), dim, idx.arg(), src.contiguous().arg());
  if (needs_grad({x, src}))
    record("index_add", {out}, {x, src}, [dim, si = save(idx)](const Grads& g, const Needs& n) -> Grads {
      return {n[0] ? g[0] : Tensor(), n[1] ? index_select(g[0], dim, si.get()) : Tensor()};
    });
  return out;
}

Tensor gather(const Tensor& x_in, int64_t dim, const Tensor& index) {
  check_index(index, x_in, "gather");
  dim = x_in.normalize_dim(dim);
  check_gather_shape(x_in, dim, index, "gather");
  Tensor x = x_in.contiguous(), idx = index.contiguous();
  Tensor out = empty(idx.shape(), x.dtype(), x.device());
  if (out.numel()) be(x).gather(x.arg(), dim, idx.arg(), out.arg());
  if (needs_grad({x_in}))
    record("gather", {out}, {x_in}, [dim, si = save(idx), in = x.shape()](const Grads& g, const Needs&) -> Grads {
      return {scatter_add(zeros(in, g[0].dtype(), g[0].device()), dim, si.get(), g[0])};
    });
  return out;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(index, x, "scatter_add");
  check_same(x, src, "scatter_add");
  dim = x.normalize_dim(dim);
  check_gather_shape(x, dim, index, "scatter_add");
  CHERRY_CHECK(src.shape() == index.shape(), "scatter_add", "src ", src.describe(), " must have the shape of index ", index.describe());
  Tensor out = dense_copy(x, x.dtype(), x.device()), idx = index.contiguous();
  if (src.numel()) be(x).scatter_add(out.arg(), dim, idx.arg(), src.contiguous().arg());
  if (needs_grad({x, src}))
    record("scatter_add", {out}, {x, src}, [dim, si = save(idx)](const Grads& g, const Needs& n) -> Grads {
      return {n[0] ? g[0] : Tensor(), n[1] ? gather(g[0], dim, si.get()) : Tensor()};
    });
  return out;
}

Tensor embedding(const Tensor& weight, const Tensor& indices) {
  CHERRY_CHECK(weight.dim() == 2, "embedding", "weight must be (V, D), got ", weight.describe());
  Shape s = indices.shape();
  s.push_back(weight.size(1));
  return index_select(weight, 0, indices.reshape({-1})).reshape(s);
}

}  // namespace cherry
