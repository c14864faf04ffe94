// Elementwise CPU kernels: fill, copy/cast, unary, binary (with broadcasting through stride 0),
// where. The op switch sits outside the loop so each inner loop is a plain vectorisable lambda.
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/strided_loop.h"
#include "backends/dispatch.h"
#include "backends/scalar_math.h"

namespace cherry::cpu {

void fill(const Arg& out, double value) {
  dispatch_storage(out.dtype, [&]<class T>() {
    T v;
    store(v, value);
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
  dispatch_storage(src.dtype, [&]<class S>() {
    dispatch_storage(dst.dtype, [&]<class D>() {
      StridedLoop<2> loop(dst.shape, {&dst.strides, &src.strides});
      D* d = dst.ptr<D>();
      const S* s = src.ptr<S>();
      loop.run([&](auto base, int64_t n, auto st) {
        D* dp = d + base[0];
        const S* sp = s + base[1];
        if (st[0] == 1 && st[1] == 1)
          for (int64_t i = 0; i < n; ++i) store(dp[i], compute_t<S>(sp[i]));
        else
          for (int64_t i = 0; i < n; ++i) store(dp[i * st[0]], compute_t<S>(sp[i * st[1]]));
      });
    });
  });
}

namespace {
// Applies f elementwise over (out, a[, b]) with fast paths for unit and zero inner strides; f
// returns the value to store (rounded once by store()).
template <class TO, class TA, class F> void map1(const Arg& x, const Arg& out, F f) {
  StridedLoop<2> loop(out.shape, {&out.strides, &x.strides});
  TO* o = out.ptr<TO>();
  const TA* a = x.ptr<TA>();
  loop.run([&](auto base, int64_t n, auto st) {
    TO* op = o + base[0];
    const TA* ap = a + base[1];
    if (st[0] == 1 && st[1] == 1) {
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) store(op[i], f(ap[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) store(op[i * st[0]], f(ap[i * st[1]]));
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
      for (int64_t i = 0; i < n; ++i) store(op[i], f(ap[i], bp[i]));
    } else if (st[0] == 1 && st[1] == 1 && st[2] == 0) {
      const TA bv = *bp;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) store(op[i], f(ap[i], bv));
    } else if (st[0] == 1 && st[1] == 0 && st[2] == 1) {
      const TA av = *ap;
#pragma omp simd
      for (int64_t i = 0; i < n; ++i) store(op[i], f(av, bp[i]));
    } else {
      for (int64_t i = 0; i < n; ++i) store(op[i * st[0]], f(ap[i * st[1]], bp[i * st[2]]));
    }
  });
}
}  // namespace

// bf16 operands compute in float (compute_t) and round once on store.
void unary(UnaryOp op, const Arg& x, const Arg& out) {
  dispatch_compute(x.dtype, op_name(op), [&]<class T>() {
    using C = compute_t<T>;
    with_unary_op(op, [&]<UnaryOp Op>() { map1<T, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return math::unary<Op>(C(v)); }); });
  });
}

void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) {
  if (is_comparison(op)) {
    dispatch_storage(a.dtype, [&]<class T>() {
      using C = compute_t<T>;
      with_compare_op(op, [&]<BinaryOp Op>() {
        map2<bool, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return math::compare<Op>(C(x), C(y)); });
      });
    });
    return;
  }
  dispatch_compute(a.dtype, op_name(op), [&]<class T>() {
    using C = compute_t<T>;
    with_arith_op(op, [&]<BinaryOp Op>() { map2<T, T>(a, b, out, [](T x, T y) CHERRY_SCALAR_LAMBDA { return math::binary<Op>(C(x), C(y)); }); });
  });
}

void isfinite(const Arg& x, const Arg& out) {
  dispatch_storage(x.dtype, [&]<class T>() { map1<bool, T>(x, out, [](T v) CHERRY_SCALAR_LAMBDA { return math::is_finite(compute_t<T>(v)); }); });
}

void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out) {
  dispatch_storage(out.dtype, [&]<class T>() {
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
