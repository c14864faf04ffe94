// Elementwise ops and their gradients. Broadcasting happens in the forward through stride-0
// views; the backward undoes it with sum_to.
#include <deque>

#include "autograd/op_helpers.h"

namespace cherry {
using namespace detail;

namespace {
// The layout of an elementwise result of shape s: channel blocks when an input is in them with that
// shape (every input is then read in block order, so nothing is converted), else strided (an input in
// channel blocks is read from a strided copy).
class Elementwise {
 public:
  Elementwise(std::initializer_list<const Tensor*> inputs, const Shape& s, const char* op) : shape_(s), op_(op) {
    for (const Tensor* t : inputs) blocks_ = blocks_ || (t->is_channel_blocks() && t->shape() == s);
  }
  Arg in(const Tensor& t) {
    const Tensor& src = t.is_channel_blocks() && (!blocks_ || t.shape() != shape_) ? strided_copy(t) : t;
    return blocks_ ? block_order_arg(src, shape_) : broadcast_arg(src, shape_, op_);
  }
  Tensor out(DType dtype, Device device) const {
    return empty(shape_, dtype, device, blocks_ ? MemoryFormat::channel_blocks : MemoryFormat::strided);
  }
  Arg out_arg(const Tensor& out) const { return elementwise_arg(out); }

 private:
  const Tensor& strided_copy(const Tensor& t) {
    NoGradGuard ng;  // the op records its own inputs
    return copies_.emplace_back(from_channel_blocks(t));
  }
  Shape shape_;
  const char* op_;
  bool blocks_ = false;
  std::deque<Tensor> copies_;  // alive until the kernel has run
};

Tensor binary_forward(BinaryOp op, const Tensor& a, const Tensor& b) {
  check_same(a, b, op_name(op));
  const Shape s = broadcast_shapes(a.shape(), b.shape(), op_name(op));
  Elementwise e({&a, &b}, s, op_name(op));
  Tensor out = e.out(is_comparison(op) ? DType::boolean : a.dtype(), a.device());
  if (out.numel()) be(a).binary(op, e.in(a), e.in(b), e.out_arg(out));
  return out;
}

Tensor unary_forward(UnaryOp op, const Tensor& x) {
  Elementwise e({&x}, x.shape(), op_name(op));
  Tensor out = e.out(x.dtype(), x.device());
  if (out.numel()) be(x).unary(op, e.in(x), e.out_arg(out));
  return out;
}

// Records a one-input op whose gradient is f(g, x, y).
template <class F> Tensor unary_op(UnaryOp op, const Tensor& x, F grad) {
  Tensor y = unary_forward(op, x);
  if (needs_grad({x}))
    record(op_name(op), {y}, {x}, [sx = save(x), sy = save(y), grad](const Grads& g, const Needs&) -> Grads {
      return {grad(g[0], sx.get(), sy.get())};
    });
  return y;
}

// A binary op on bf16 and f32 operands (needs_promotion): both in f32, then op.
template <class Op> Tensor promoted(Op op, const Tensor& a, const Tensor& b) { return op(a.to(DType::f32), b.to(DType::f32)); }
}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  if (needs_promotion(a, b)) return promoted(add, a, b);
  Tensor out = binary_forward(BinaryOp::add, a, b);
  if (needs_grad({a, b}))
    record("add", {out}, {a, b}, [sa = a.shape(), sb = b.shape()](const Grads& g, const Needs& n) -> Grads {
      return {n[0] ? sum_to(g[0], sa) : Tensor(), n[1] ? sum_to(g[0], sb) : Tensor()};
    });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  if (needs_promotion(a, b)) return promoted(sub, a, b);
  Tensor out = binary_forward(BinaryOp::sub, a, b);
  if (needs_grad({a, b}))
    record("sub", {out}, {a, b}, [sa = a.shape(), sb = b.shape()](const Grads& g, const Needs& n) -> Grads {
      return {n[0] ? sum_to(g[0], sa) : Tensor(), n[1] ? sum_to(neg(g[0]), sb) : Tensor()};
    });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  if (needs_promotion(a, b)) return promoted(mul, a, b);
  Tensor out = binary_forward(BinaryOp::mul, a, b);
  if (needs_grad({a, b}))
    record("mul", {out}, {a, b}, [sa = save(a), sb = save(b)](const Grads& g, const Needs& n) -> Grads {
      Tensor a = sa.get(), b = sb.get();
      return {n[0] ? sum_to(mul(g[0], b), a.shape()) : Tensor(), n[1] ? sum_to(mul(g[0], a), b.shape()) : Tensor()};
    });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  if (needs_promotion(a, b)) return promoted(div, a, b);
  Tensor out = binary_forward(BinaryOp::div, a, b);
  if (needs_grad({a, b}))
    record("div", {out}, {a, b}, [sa = save(a), sb = save(b)](const Grads& g, const Needs& n) -> Grads {
      Tensor a = sa.get(), b = sb.get();
      return {n[0] ? sum_to(div(g[0], b), a.shape()) : Tensor(),
              n[1] ? sum_to(neg(div(mul(g[0], a), mul(b, b))), b.shape()) : Tensor()};
    });
  return out;
}

// max/min: the winner gets the gradient; exact ties split it in half (as PyTorch does).
static Tensor extremum(BinaryOp op, const Tensor& a, const Tensor& b) {
  if (needs_promotion(a, b)) return promoted([op](const Tensor& x, const Tensor& y) { return extremum(op, x, y); }, a, b);
  Tensor out = binary_forward(op, a, b);
  if (needs_grad({a, b}))
    record(op_name(op), {out}, {a, b}, [op, sa = save(a), sb = save(b)](const Grads& g, const Needs& n) -> Grads {
      Tensor a = sa.get(), b = sb.get();
      Tensor a_wins = compare(op == BinaryOp::maximum ? BinaryOp::gt : BinaryOp::lt, a, b);
      Tensor half = mul(g[0], scalar_like(0.5, g[0]));
      Tensor zero = zeros({}, g[0].dtype(), g[0].device());
      Tensor ga = where(a_wins, g[0], where(eq(a, b), half, zero));
      Tensor gb = sub(g[0], ga);
      return {n[0] ? sum_to(ga, a.shape()) : Tensor(), n[1] ? sum_to(gb, b.shape()) : Tensor()};
    });
  return out;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::maximum, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return extremum(BinaryOp::minimum, a, b); }

Tensor pow(const Tensor& a, double e) {
  Tensor out = binary_forward(BinaryOp::pow, a, scalar_like(e, a));
  if (needs_grad({a}))
    record("pow", {out}, {a}, [sa = save(a), e](const Grads& g, const Needs&) -> Grads {
      Tensor a = sa.get();
      return {mul(g[0], mul(pow(a, e - 1), scalar_like(e, a)))};
    });
  return out;
}

Tensor neg(const Tensor& x) { return unary_op(UnaryOp::neg, x, [](const Tensor& g, const Tensor&, const Tensor&) { return neg(g); }); }
Tensor exp(const Tensor& x) { return unary_op(UnaryOp::exp, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, y); }); }
Tensor log(const Tensor& x) { return unary_op(UnaryOp::log, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return div(g, x); }); }
Tensor sqrt(const Tensor& x) {
  return unary_op(UnaryOp::sqrt, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return div(g, mul(y, scalar_like(2, y))); });
}
Tensor rsqrt(const Tensor& x) {  // d/dx x^-1/2 = -1/2 y^3
  return unary_op(UnaryOp::rsqrt, x, [](const Tensor& g, const Tensor&, const Tensor& y) {
    return mul(g, mul(mul(y, mul(y, y)), scalar_like(-0.5, y)));
  });
}
Tensor abs(const Tensor& x) { return unary_op(UnaryOp::abs, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, sign(x)); }); }
Tensor square(const Tensor& x) {
  return unary_op(UnaryOp::square, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return mul(g, mul(x, scalar_like(2, x))); });
}
Tensor reciprocal(const Tensor& x) {
  return unary_op(UnaryOp::reciprocal, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return neg(mul(g, mul(y, y))); });
}
Tensor relu(const Tensor& x) {
  return unary_op(UnaryOp::relu, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return binary_forward(BinaryOp::relu_backward, g, x); });
}
Tensor gelu(const Tensor& x) {
  return unary_op(UnaryOp::gelu, x, [](const Tensor& g, const Tensor& x, const Tensor&) { return binary_forward(BinaryOp::gelu_backward, g, x); });
}
Tensor erf(const Tensor& x) {  // d/dx erf = 2/sqrt(pi) exp(-x^2)
  return unary_op(UnaryOp::erf, x, [](const Tensor& g, const Tensor& x, const Tensor&) {
    return mul(g, mul(exp(neg(square(x))), scalar_like(1.12837916709551257390, x)));
  });
}
Tensor softplus(const Tensor& x) { return add(relu(x), log(add(exp(neg(abs(x))), scalar_like(1, x)))); }
Tensor normal_cdf(const Tensor& x) { return mul(add(erf(mul(x, scalar_like(0.70710678118654752440, x))), scalar_like(1, x)), scalar_like(0.5, x)); }
Tensor sigmoid(const Tensor& x) {
  return unary_op(UnaryOp::sigmoid, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, mul(y, sub(scalar_like(1, y), y))); });
}
Tensor tanh(const Tensor& x) {
  return unary_op(UnaryOp::tanh, x, [](const Tensor& g, const Tensor&, const Tensor& y) { return mul(g, sub(scalar_like(1, y), mul(y, y))); });
}
Tensor sign(const Tensor& x) { return unary_forward(UnaryOp::sign, x); }

Tensor clamp(const Tensor& x, double lo, double hi) {
  Tensor out;
  {
    NoGradGuard ng;
    out = minimum(maximum(x, scalar_like(lo, x)), scalar_like(hi, x));
  }
  if (needs_grad({x}))
    record("clamp", {out}, {x}, [sx = save(x), lo, hi](const Grads& g, const Needs&) -> Grads {
      Tensor x = sx.get(), zero = zeros({}, g[0].dtype(), g[0].device());
      return {where(lt(x, scalar_like(lo, x)), zero, where(gt(x, scalar_like(hi, x)), zero, g[0]))};
    });
  return out;
}

Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
  if (needs_promotion(a, b)) return promoted([&cond](const Tensor& x, const Tensor& y) { return where(cond, x, y); }, a, b);
  check_same(a, b, "where");
  CHERRY_CHECK(cond.dtype() == DType::boolean || cond.dtype() == DType::u8, "where", "condition must be bool/u8, got ", cond.describe());
  const Shape s = broadcast_shapes(broadcast_shapes(cond.shape(), a.shape(), "where"), b.shape(), "where");
  Elementwise e({&cond, &a, &b}, s, "where");
  Tensor out = e.out(a.dtype(), a.device());
  if (out.numel()) be(a).where(e.in(cond), e.in(a), e.in(b), e.out_arg(out));
  if (needs_grad({a, b}))
    record("where", {out}, {a, b}, [sc = save(cond), sa = a.shape(), sb = b.shape()](const Grads& g, const Needs& n) -> Grads {
      Tensor zero = zeros({}, g[0].dtype(), g[0].device()), c = sc.get();
      return {n[0] ? sum_to(where(c, g[0], zero), sa) : Tensor(), n[1] ? sum_to(where(c, zero, g[0]), sb) : Tensor()};
    });
  return out;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) { return where(mask, scalar_like(value, x), x); }

Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b) {
  CHERRY_CHECK(is_comparison(op), "compare", op_name(op), " is not a comparison");
  if (needs_promotion(a, b)) return promoted([op](const Tensor& x, const Tensor& y) { return compare(op, x, y); }, a, b);
  return binary_forward(op, a, b);
}
Tensor eq(const Tensor& a, const Tensor& b) { return compare(BinaryOp::eq, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::gt, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare(BinaryOp::lt, a, b); }

Tensor isfinite(const Tensor& x) {
  Elementwise e({&x}, x.shape(), "isfinite");
  Tensor out = e.out(DType::boolean, x.device());
  if (out.numel()) be(x).isfinite(e.in(x), e.out_arg(out));
  return out;
}

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator-(const Tensor& a) { return neg(a); }
Tensor operator+(const Tensor& a, double s) { return add(a, scalar_like(s, a)); }
Tensor operator-(const Tensor& a, double s) { return sub(a, scalar_like(s, a)); }
Tensor operator*(const Tensor& a, double s) { return mul(a, scalar_like(s, a)); }
Tensor operator/(const Tensor& a, double s) { return div(a, scalar_like(s, a)); }
Tensor operator+(double s, const Tensor& a) { return add(scalar_like(s, a), a); }
Tensor operator-(double s, const Tensor& a) { return sub(scalar_like(s, a), a); }
Tensor operator*(double s, const Tensor& a) { return mul(scalar_like(s, a), a); }
Tensor operator/(double s, const Tensor& a) { return div(scalar_like(s, a), a); }

}  // namespace cherry
