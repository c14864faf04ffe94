// Matrix products. Everything funnels into bmm3, one batched GEMM over (B,M,K) @ (B,K,N) whose
// operands may be transposed views or have a broadcast (stride 0) batch: no copies for either.
#include "autograd/flops.h"
#include "autograd/op_helpers.h"

namespace cherry {
using namespace detail;

namespace {
// a:(B,M,K) @ b:(B,K,N) -> (B,M,N)
Tensor bmm3(const Tensor& a, const Tensor& b) {
  Tensor out = empty({a.shape()[0], a.shape()[1], b.shape()[2]}, a.dtype(), a.device());
  FlopCounter::add(2 * out.numel() * a.shape()[2]);
  if (out.numel()) be(a).matmul(a.arg(), b.arg(), out.arg(), 1.0, 0.0);
  if (needs_grad({a, b}))
    record("matmul", {out}, {a, b}, [sa = save(a), sb = save(b)](const Grads& g, const Needs& n) -> Grads {
      Tensor a = sa.get(), b = sb.get();
      return {n[0] ? bmm3(g[0], b.transpose(1, 2)) : Tensor(), n[1] ? bmm3(a.transpose(1, 2), g[0]) : Tensor()};
    });
  return out;
}
}  // namespace

// Under autocast both operands are cast to bf16 (the weight too, per call: its gradient arrives in
// bf16 and is cast back to f32 by the cast's backward, as in PyTorch); the product accumulates in
// f32 and is stored bf16.
Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  if (autocasts(a_in) || autocasts(b_in)) return matmul(autocast(a_in), autocast(b_in));
  check_same(a_in, b_in, "matmul");
  check_floating(a_in, "matmul");
  CHERRY_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul", "operands must be at least 1-D: ", a_in.describe(), ", ", b_in.describe());
  const bool a_vec = a_in.dim() == 1, b_vec = b_in.dim() == 1;
  Tensor a = a_vec ? a_in.unsqueeze(0) : a_in, b = b_vec ? b_in.unsqueeze(1) : b_in;
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  CHERRY_CHECK(b.size(-2) == K, "matmul", "inner dimensions differ: ", a_in.describe(), " @ ", b_in.describe());
  Shape a_batch(a.shape().begin(), a.shape().end() - 2), b_batch(b.shape().begin(), b.shape().end() - 2);
  Tensor out;
  if (b_batch.empty()) {  // (...,M,K) @ (K,N): fold the batch into M, one GEMM
    Shape s = a_batch;
    s.push_back(M), s.push_back(N);
    out = bmm3(a.reshape({1, -1, K}), b.unsqueeze(0)).reshape(s);
  } else {
    Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
    Shape ea = batch, eb = batch, s = batch;
    ea.push_back(M), ea.push_back(K), eb.push_back(K), eb.push_back(N), s.push_back(M), s.push_back(N);
    const int64_t B = numel_of(batch);
    Tensor a3 = a.expand(ea), b3 = b.expand(eb);
    a3 = a_batch.size() == 1 && a_batch == batch ? a3 : a3.reshape({B, M, K});
    b3 = b_batch.size() == 1 && b_batch == batch ? b3 : b3.reshape({B, K, N});
    out = bmm3(a3, b3).reshape(s);
  }
  if (a_vec) out = out.squeeze(-2);
  if (b_vec) out = out.squeeze(-1);
  return out;
}

Tensor Tensor::matmul(const Tensor& other) const { return cherry::matmul(*this, other); }

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  CHERRY_CHECK(weight.dim() == 2, "linear", "weight must be (out, in), got ", weight.describe());
  CHERRY_CHECK(x.dim() >= 1 && x.size(-1) == weight.size(1), "linear", "input ", x.describe(), " does not match weight ", weight.describe());
  Tensor y = matmul(x, weight.transpose(0, 1));
  if (bias.defined()) {
    CHERRY_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), "linear", "bias ", bias.describe(), " for weight ", weight.describe());
    y = add(y, y.dtype() == DType::bf16 && autocasts(bias) ? autocast(bias) : bias);  // a bf16 product stays bf16
  }
  return y;
}

namespace {
// c = a @ b + beta c on 2-D views (rows of a group), without copies.
void gemm_into(const Tensor& c, const Tensor& a, const Tensor& b, double beta) {
  be(c).matmul(a.unsqueeze(0).arg(), b.unsqueeze(0).arg(), c.unsqueeze(0).arg(), 1.0, beta);
}
}  // namespace

Tensor grouped_linear(const Tensor& x, const std::vector<int64_t>& group_sizes, const Tensor& weight, const Tensor& bias) {
  if (autocasts(x) || autocasts(weight))  // as matmul
    return grouped_linear(autocast(x), group_sizes, autocast(weight), bias.defined() ? autocast(bias) : bias);
  check_same(x, weight, "grouped_linear");
  check_floating(x, "grouped_linear");
  check_dim(x, 2, "grouped_linear", "input");
  check_dim(weight, 3, "grouped_linear", "weight");
  const int64_t G = weight.size(0), O = weight.size(1), I = weight.size(2);
  CHERRY_CHECK(int64_t(group_sizes.size()) == G, "grouped_linear", group_sizes.size(), " group sizes for ", G, " weights");
  int64_t rows = 0;
  for (int64_t n : group_sizes) {
    CHERRY_CHECK(n >= 0, "grouped_linear", "negative group size ", n);
    rows += n;
  }
  CHERRY_CHECK(x.size(0) == rows && x.size(1) == I, "grouped_linear", "input ", x.describe(), " for ", rows, " rows of weight ",
               weight.describe());
  if (bias.defined()) {
    check_same(x, bias, "grouped_linear");
    CHERRY_CHECK(bias.dim() == 2 && bias.size(0) == G && bias.size(1) == O, "grouped_linear", "bias ", bias.describe(), " for weight ",
                 weight.describe());
  }
  Tensor out = empty({rows, O}, x.dtype(), x.device());
  FlopCounter::add(2 * rows * O * I);
  {
    NoGradGuard ng;
    for (int64_t g = 0, at = 0; g < G; at += group_sizes[size_t(g)], ++g) {
      const int64_t n = group_sizes[size_t(g)];
      if (n == 0) continue;
      Tensor y = out.narrow(0, at, n);
      if (bias.defined()) y.copy_(bias.select(0, g).unsqueeze(0).expand({n, O}));
      gemm_into(y, x.narrow(0, at, n), weight.select(0, g).transpose(0, 1), bias.defined() ? 1.0 : 0.0);
    }
  }
  if (needs_grad({x, weight, bias}))
    record("grouped_linear", {out}, {x, weight, bias},
           [sizes = group_sizes, sx = save(x), sw = save(weight), has_bias = bias.defined()](const Grads& gr, const Needs& need) -> Grads {
             const Tensor x = sx.get(), w = sw.get(), gy = gr[0].contiguous();  // may be an expand (stride 0)
             Tensor gx = need[0] ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
             Tensor gw = need[1] ? zeros(w.shape(), w.dtype(), w.device()) : Tensor();
             Tensor gb = need[2] && has_bias ? zeros({w.size(0), w.size(1)}, w.dtype(), w.device()) : Tensor();
             for (int64_t g = 0, at = 0; g < int64_t(sizes.size()); at += sizes[size_t(g)], ++g) {
               const int64_t n = sizes[size_t(g)];
               if (n == 0) continue;
               const Tensor gyg = gy.narrow(0, at, n);
               if (gx.defined()) gemm_into(gx.narrow(0, at, n), gyg, w.select(0, g), 0.0);
               if (gw.defined()) gemm_into(gw.select(0, g), gyg.transpose(0, 1), x.narrow(0, at, n), 0.0);
               if (gb.defined()) gb.select(0, g).copy_(sum(gyg, {0}));
             }
             return {gx, gw, gb};
           });
  return out;
}

}  // namespace cherry
