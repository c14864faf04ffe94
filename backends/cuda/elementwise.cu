// Elementwise CUDA kernels: fill, copy/cast, unary, binary (comparisons write bool), where, scale. One
// grid-stride kernel shape serves them all: each thread finds its element's offset in every operand
// (linear i*stride when the dims merge to one, else an unravel over <= 8 dims, in 32-bit arithmetic
// when the element count allows) and hands them to a small functor that does the element's work.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/scalar_math.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/strided.h"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = int64_t(1) << 16;  // ample for 132 SMs; the grid-stride loop covers the rest

// Linear path: s.ndim == 1, element i sits at i * stride in each operand.
// s: the iteration space (numel elements), f(off): the element's work given its N offsets.
template <int N, class F>
__global__ void __launch_bounds__(kThreads) linear_kernel(Strided<N> s, F f) {
  int64_t st[N];
#pragma unroll
  for (int k = 0; k < N; ++k) st[k] = s.strides[k][0];
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += step) {
    int64_t off[N];
#pragma unroll
    for (int k = 0; k < N; ++k) off[k] = i * st[k];
    f(off);
  }
}

// General path: unravel i over s.shape (last dim fastest). I = uint32_t when numel fits, since
// 64-bit division costs several times more on the GPU.
template <int N, class I, class F>
__global__ void __launch_bounds__(kThreads) strided_kernel(Strided<N> s, F f) {
  const int64_t step = int64_t(gridDim.x) * blockDim.x;
  for (int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x; i < s.numel; i += step) {
    int64_t off[N] = {};
    I rest = I(i);
#pragma unroll
    for (int d = kMaxDims - 1; d >= 0; --d) {  // unrolled so s.shape/s.strides are indexed statically
      if (d >= s.ndim) continue;
      const I size = I(s.shape[d]);
      const I q = rest / size;
      const I r = rest - q * size;
      rest = q;
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += int64_t(r) * s.strides[k][d];
    }
    f(off);
  }
}

template <int N, class F>
void launch(const Strided<N>& s, const F& f) {
  if (s.numel == 0) return;
  const unsigned blocks = unsigned(std::min<int64_t>((s.numel + kThreads - 1) / kThreads, kMaxBlocks));
  if (s.ndim == 1)
    linear_kernel<N, F><<<blocks, kThreads, 0, stream()>>>(s, f);
  else if (s.numel <= int64_t(std::numeric_limits<uint32_t>::max()))
    strided_kernel<N, uint32_t, F><<<blocks, kThreads, 0, stream()>>>(s, f);
  else
    strided_kernel<N, int64_t, F><<<blocks, kThreads, 0, stream()>>>(s, f);
  CHERRY_CUDA_CHECK_LAUNCH();
}

// ---- Element functors: raw device pointers + the op; off[0] is always the output. ----

template <class T>
struct FillFn {
  T* out;
  T value;
  __device__ void operator()(const int64_t (&off)[1]) const { out[off[0]] = value; }
};

template <class D, class S>
struct CastFn {
  D* dst;
  const S* src;
  __device__ void operator()(const int64_t (&off)[2]) const { dst[off[0]] = static_cast<D>(src[off[1]]); }
};

template <UnaryOp Op, class T>
struct UnaryFn {
  T* out;
  const T* x;
  __device__ void operator()(const int64_t (&off)[2]) const { out[off[0]] = math::unary<Op>(x[off[1]]); }
};

template <BinaryOp Op, class T>
struct BinaryFn {
  T* out;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t (&off)[3]) const { out[off[0]] = math::binary<Op>(a[off[1]], b[off[2]]); }
};

template <BinaryOp Op, class T>
struct CompareFn {
  bool* out;
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t (&off)[3]) const { out[off[0]] = math::compare<Op>(a[off[1]], b[off[2]]); }
};

template <class T>
struct IsFiniteFn {
  bool* out;
  const T* x;
  __device__ void operator()(const int64_t (&off)[2]) const { out[off[0]] = math::is_finite(x[off[1]]); }
};

template <class T, class C>
struct WhereFn {
  T* out;
  const C* cond;  // bool or uint8_t: nonzero selects a
  const T* a;
  const T* b;
  __device__ void operator()(const int64_t (&off)[4]) const { out[off[0]] = cond[off[1]] ? a[off[2]] : b[off[3]]; }
};

template <class T>
struct ScaleFn {
  T* x;
  T s;
  __device__ void operator()(const int64_t (&off)[1]) const { x[off[0]] *= s; }
};

void check_dtype(const char* op, const Arg& x, DType expected, const char* what) {
  CHERRY_CHECK(x.dtype == expected, op, what, " must be ", dtype_name(expected), ", got ", dtype_name(x.dtype));
}

}  // namespace

void fill(const Arg& out, double value) {
  const auto s = make_strided<1>("fill", out.shape, {&out.strides});
  dispatch_all(out.dtype, [&]<class T>() { launch(s, FillFn<T>{out.ptr<T>(), static_cast<T>(value)}); });
}

void copy(const Arg& src, const Arg& dst) {
  const auto s = make_strided<2>("copy", dst.shape, {&dst.strides, &src.strides});
  if (src.dtype == dst.dtype && all_contiguous(s)) {
    if (s.numel > 0)
      CHERRY_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, size_t(s.numel) * dtype_size(dst.dtype), cudaMemcpyDeviceToDevice, stream()));
    return;
  }
  dispatch_all(src.dtype, [&]<class S>() {
    dispatch_all(dst.dtype, [&]<class D>() { launch(s, CastFn<D, S>{dst.ptr<D>(), src.ptr<S>()}); });
  });
}

void unary(UnaryOp op, const Arg& x, const Arg& out) {
  check_dtype(op_name(op), out, x.dtype, "out");
  const auto s = make_strided<2>(op_name(op), out.shape, {&out.strides, &x.strides});
  dispatch_arith(x.dtype, op_name(op), [&]<class T>() {
    with_unary_op(op, [&]<UnaryOp Op>() {
      if constexpr (std::is_integral_v<T> && !math::integer_ok(Op))
        throw Error(op_name(op), "not defined for i64 on CUDA");
      else
        launch(s, UnaryFn<Op, T>{out.ptr<T>(), x.ptr<T>()});
    });
  });
}

void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) {
  check_dtype(op_name(op), b, a.dtype, "b");
  const auto s = make_strided<3>(op_name(op), out.shape, {&out.strides, &a.strides, &b.strides});
  if (is_comparison(op)) {
    check_dtype(op_name(op), out, DType::boolean, "out");
    dispatch_all(a.dtype, [&]<class T>() {
      with_compare_op(op, [&]<BinaryOp Op>() { launch(s, CompareFn<Op, T>{out.ptr<bool>(), a.ptr<T>(), b.ptr<T>()}); });
    });
    return;
  }
  check_dtype(op_name(op), out, a.dtype, "out");
  dispatch_arith(a.dtype, op_name(op), [&]<class T>() {
    with_arith_op(op, [&]<BinaryOp Op>() {
      if constexpr (std::is_integral_v<T> && !math::integer_ok(Op))
        throw Error(op_name(op), "not defined for i64 on CUDA");
      else
        launch(s, BinaryFn<Op, T>{out.ptr<T>(), a.ptr<T>(), b.ptr<T>()});
    });
  });
}

void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out) {
  check_dtype("where", a, out.dtype, "a");
  check_dtype("where", b, out.dtype, "b");
  CHERRY_CHECK(cond.dtype == DType::boolean || cond.dtype == DType::u8, "where", "condition must be bool/u8, got ", dtype_name(cond.dtype));
  const auto s = make_strided<4>("where", out.shape, {&out.strides, &cond.strides, &a.strides, &b.strides});
  dispatch_all(out.dtype, [&]<class T>() {
    if (cond.dtype == DType::boolean)
      launch(s, WhereFn<T, bool>{out.ptr<T>(), cond.ptr<bool>(), a.ptr<T>(), b.ptr<T>()});
    else
      launch(s, WhereFn<T, uint8_t>{out.ptr<T>(), cond.ptr<uint8_t>(), a.ptr<T>(), b.ptr<T>()});
  });
}

void isfinite(const Arg& x, const Arg& out) {
  check_dtype("isfinite", out, DType::boolean, "out");
  const auto s = make_strided<2>("isfinite", out.shape, {&out.strides, &x.strides});
  dispatch_all(x.dtype, [&]<class T>() { launch(s, IsFiniteFn<T>{out.ptr<bool>(), x.ptr<T>()}); });
}

void scale(const Arg& x, double factor) {
  const auto s = make_strided<1>("scale", x.shape, {&x.strides});
  dispatch_floating(x.dtype, "scale", [&]<class T>() { launch(s, ScaleFn<T>{x.ptr<T>(), static_cast<T>(factor)}); });
}

}  // namespace cherry::cuda
