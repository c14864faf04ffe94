// Elementwise CPU kernels: fill, copy/cast, unary, binary (with broadcasting through stride 0),
// where. The op switch sits outside the loop so each inner loop is a plain vectorisable lambda.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/strided_loop.h"
#include "backends/dispatch.h"
#include "backends/scalar_math.h"

namespace cherry::cpu {

void fill(const Arg& out, double value) {
  dispatch_all(out.dtype, [&]<class T>() {
    const T v = static_cast<T>(value);
    StridedLoop<1> loop(out.shape, {&out.strides});
    T* o = out.ptr<T>();
    loop.run([&](auto base, int64_t n, auto st) {
      T* p = o + base[0];
      if (st[0] == 1)
        for (int64_t i = 0; i < n; ++i) p[i] = v;
      else
        for (int64_t i = 0; i < n; ++i) p[i * st[0]] = v;
    });
  });
}

void copy(const Arg& src, const Arg& dst) {
  dispatch_all(src.dtype, [&]<class S>() {
    dispatch_all(dst.dtype, [&]<class D>() {
      StridedLoop<2> loop(dst.shape, {&dst.strides, &src.strides});
      D* d = dst.ptr<D>();
      const S* s = src.ptr<S>();
      loop.run([&](auto base, int64_t n, auto st) {
        D* dp = d + base[0];
        const S* sp = s + base[1];
        if (st[0] == 1 && st[1] == 1)
          for (int64_t i = 0; i < n; ++i) dp[i] = static_cast<D>(sp[i]);
        else
          for (int64_t i = 0; i < n; ++i) dp[i * st[0]] = static_cast<D>(sp[i * st[1]]);
      });
    });
  });
}

namespace {
// Applies f elementwise over (out, a[, b]) with fast paths for unit and zero inner strides.
template <class TO, class TA, class F> void map1(const Arg& x, const Arg& out, F f) {
  StridedLoop<2> loop(out.shape, {&out.strides, &x.strides});
  TO* o = out.ptr<TO>();
  const TA* a = x.ptr<TA>();
  loop.run([&](auto base, int64_t n, auto st) {
    TO* op = o + base[0];
    const TA* ap = a + base[1];
    if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) op[i * st[0]] = f(ap[i * st[1]]);
    }
  });
}

template <class TO, class TA, class F> void map2(const Arg& a, const Arg& b, const Arg& out, F f) {
  StridedLoop<3> loop(out.shape, {&out.strides, &a.strides, &b.strides});
  TO* o = out.ptr<TO>();
  const TA* pa = a.ptr<TA>();
  const TA* pb = b.ptr<TA>();
  loop.run([&](auto base, int64_t n, auto st) {
    TO* op = o + base[0];
    const TA* ap = pa + base[1];
    const TA* bp = pb + base[2];
    if (st[0] == 1 && st[1] == 1 && st[2] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bp[i]);
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const TA bv = *bp;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(ap[i], bv);
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const TA av = *ap;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) op[i] = f(av, bp[i]);
    } else {
      for (int64_t i = 0; i < n; ++i) op[i * st[0]] = f(ap[i * st[1]], bp[i * st[2]]);
    }
  });
}
}  // namespace

void unary(UnaryOp op, const Arg& x, const Arg& out) {
  dispatch_arith(x.dtype, op_name(op), [&]<class T>() {
    switch (op) {
      case UnaryOp::neg: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(-v); });
      case UnaryOp::exp: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return math::exp_of(v); });
      case UnaryOp::log: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(std::log(v)); });
      case UnaryOp::sqrt: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(std::sqrt(v)); });
      case UnaryOp::rsqrt: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(T(1) / std::sqrt(v)); });
      case UnaryOp::abs: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(v < T(0) ? -v : v); });
      case UnaryOp::relu: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return v > T(0) ? v : T(0); });
      case UnaryOp::sigmoid: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(math::sigmoid(v)); });
      case UnaryOp::tanh: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(std::tanh(v)); });
      case UnaryOp::gelu: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(math::gelu(v)); });
      case UnaryOp::sign: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return math::sign(v); });
      case UnaryOp::square: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(v * v); });
      case UnaryOp::reciprocal: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(T(1) / v); });
      case UnaryOp::erf: return map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return T(std::erf(v)); });
    }
  });
}

void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) {
  if (is_comparison(op)) {
    dispatch_all(a.dtype, [&]<class T>() {
      switch (op) {
        case BinaryOp::eq: return map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x == y; });
        case BinaryOp::ne: return map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x != y; });
        case BinaryOp::lt: return map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x < y; });
        case BinaryOp::le: return map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x <= y; });
        case BinaryOp::gt: return map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x > y; });
        default: return map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x >= y; });
      }
    });
    return;
  }
  dispatch_arith(a.dtype, op_name(op), [&]<class T>() {
    switch (op) {
      case BinaryOp::add: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return T(x + y); });
      case BinaryOp::sub: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return T(x - y); });
      case BinaryOp::mul: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return T(x * y); });
      case BinaryOp::div: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return T(x / y); });
      case BinaryOp::maximum: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x > y ? x : y; });
      case BinaryOp::minimum: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return x < y ? x : y; });
      case BinaryOp::pow: return map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return T(std::pow(x, y)); });
      case BinaryOp::relu_backward: return map2<T, T>(a, b, out, [](T g, T x) CHERRY_SCALAR_LAMBDA { return x > T(0) ? g : T(0); });
      case BinaryOp::gelu_backward: return map2<T, T>(a, b, out, [](T g, T x) CHERRY_SCALAR_LAMBDA { return T(g * math::gelu_grad(x)); });
      default: throw Error(op_name(op), "not an arithmetic op");
    }
  });
}

void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out) {
  dispatch_all(out.dtype, [&]<class T>() {
    StridedLoop<4> loop(out.shape, {&out.strides, &cond.strides, &a.strides, &b.strides});
    T* o = out.ptr<T>();
    const uint8_t* c = static_cast<const uint8_t*>(cond.data);  // bool and u8 are both one byte
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    loop.run([&](auto base, int64_t n, auto st) {
      for (int64_t i = 0; i < n; ++i)
        o[base[0] + i * st[0]] = c[base[1] + i * st[1]] ? pa[base[2] + i * st[2]] : pb[base[3] + i * st[3]];
    });
  });
}

}  // namespace cherry::cpu
