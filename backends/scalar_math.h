// Scalar formulas of the elementwise ops, written once for every backend: compiled for the host (CPU
// and reference kernels) and, under nvcc, for the device (CUDA kernels). An op's formula is chosen
// at compile time (unary<Op>), so each loop or kernel carries one formula. Host and device differ
// only in the primitives (exp_of, erfc_of, ...): the host's float versions are fast approximations
// that vectorise, the device calls its own math library. Same edge cases everywhere: relu and sign
// of NaN give 0, GELU is the exact (erf) one.
#pragma once
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/backend.h"

// Forced inline: GCC otherwise keeps these out of line inside the large elementwise dispatch
// functions, and a call per element stops the loops from vectorising.
#if defined(__CUDACC__)
#define CHERRY_SCALAR __host__ __device__ __forceinline__
#else
#define CHERRY_SCALAR inline __attribute__((always_inline))
#endif
#define CHERRY_SCALAR_LAMBDA __attribute__((always_inline))

namespace cherry::math {

// exp for float with relative error below 2e-7 (Cephes' expf: x = n ln2 + r, |r| <= ln2/2, a
// degree-6 polynomial for e^r, 2^n put into the exponent bits). Branch-free and inline, so the
// compiler vectorises the loops that call it; glibc's expf is a scalar call (12% of a BERT step
// went to it through softmax and GELU). Results below float's normal range flush to 0 (std::exp
// would return subnormals down to x = -103.97). Host only.
inline __attribute__((always_inline)) float exp_fast(float x) {
  const float hi = 88.7228317f, lo = -87.3365479f;  // ln(FLT_MAX) and just below ln(FLT_MIN)
  const float xc = x > hi ? hi : (x < lo ? lo : x);  // NaN passes through (both compares false)
  const float n = std::nearbyint(xc * 1.44269504088896341f);
  float r = std::fma(n, -0.693359375f, xc);  // ln2 split in two so n*ln2 is exact enough
  r = std::fma(n, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = std::fma(p, r, 1.3981999507e-3f);
  p = std::fma(p, r, 8.3334519073e-3f);
  p = std::fma(p, r, 4.1665795894e-2f);
  p = std::fma(p, r, 1.6666665459e-1f);
  p = std::fma(p, r, 5.0000001201e-1f);
  const float er = std::fma(p * r, r, r) + 1.f;
  // 2^n as two factors: n reaches 128 at the top of the range, one past float's largest exponent.
  const int ni = n == n ? int(n) : 0, n1 = ni / 2;  // NaN: er carries it; int(NaN) is undefined
  const float s1 = std::bit_cast<float>((n1 + 127) << 23), s2 = std::bit_cast<float>((ni - n1 + 127) << 23);
  const float y = er * s1 * s2;
  return x > hi ? std::numeric_limits<float>::infinity() : (x < lo ? 0.f : y);
}

// erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' erfcc, a Chebyshev fit
// times exp(-z^2)): relative accuracy holds in the far tail, and it is several times faster than
// glibc's erfcf, which took 13% of a BERT fine-tuning step through GELU. Host only.
inline __attribute__((always_inline)) float erfc_fast(float z) {
  const float a = z < 0.f ? -z : z;
  const float t = 1.f / (1.f + 0.5f * a);
  const float q = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f + t * (0.27886807f +
                  t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  // exp(-a^2) apart from exp(q): one float exponent near -64 would carry an absolute rounding
  // error of ~4e-6, which exp turns into a relative one. The square's own rounding error is
  // recovered exactly with an FMA.
  const float sq = a * a, sq_err = std::fma(a, a, -sq);
  const float r = t * exp_fast(-sq) * exp_fast(q) * (1.f - sq_err);
  return z < 0.f ? 2.f - r : r;
}

// --- primitives: f32 stays f32 (expf, not exp) on the device; double (gradient checks) and wider
// types use the library's exact functions on the host; integers go through double ---
#if defined(__CUDA_ARCH__)
#define CHERRY_PRIMITIVE(name, host_float, device_f32, device_f64)                     \
  template <class T> CHERRY_SCALAR T name(T x) {                                        \
    if constexpr (std::is_same_v<T, float>) return device_f32(x);                       \
    else return T(device_f64(double(x)));                                               \
  }
#else
#define CHERRY_PRIMITIVE(name, host_float, device_f32, device_f64)                     \
  template <class T> CHERRY_SCALAR T name(T x) {                                        \
    if constexpr (std::is_integral_v<T>) return T(host_float(double(x)));               \
    else return T(host_float(x));                                                       \
  }
#endif
template <class T> inline __attribute__((always_inline)) T host_exp(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_fast(x);
  else return std::exp(x);
}
template <class T> inline __attribute__((always_inline)) T host_erfc(T x) {
  if constexpr (std::is_same_v<T, float>) return erfc_fast(x);
  else return std::erfc(x);
}
template <class T> inline __attribute__((always_inline)) T host_log(T x) { return std::log(x); }
template <class T> inline __attribute__((always_inline)) T host_sqrt(T x) { return std::sqrt(x); }
template <class T> inline __attribute__((always_inline)) T host_tanh(T x) { return std::tanh(x); }
template <class T> inline __attribute__((always_inline)) T host_erf(T x) { return std::erf(x); }
CHERRY_PRIMITIVE(exp_of, host_exp, ::expf, ::exp)
CHERRY_PRIMITIVE(erfc_of, host_erfc, ::erfcf, ::erfc)
CHERRY_PRIMITIVE(log_of, host_log, ::logf, ::log)
CHERRY_PRIMITIVE(sqrt_of, host_sqrt, ::sqrtf, ::sqrt)
CHERRY_PRIMITIVE(tanh_of, host_tanh, ::tanhf, ::tanh)
CHERRY_PRIMITIVE(erf_of, host_erf, ::erff, ::erf)
#undef CHERRY_PRIMITIVE
template <class T> CHERRY_SCALAR T pow_of(T a, T b) {
#if defined(__CUDA_ARCH__)
  if constexpr (std::is_same_v<T, float>) return ::powf(a, b);
  else return T(::pow(double(a), double(b)));
#else
  return T(std::pow(a, b));
#endif
}

// --- the formulas ---
template <class T> CHERRY_SCALAR T sigmoid(T x) { return T(1) / (T(1) + exp_of(-x)); }
// Exact (erf) GELU, as BERT and PyTorch's default use. Written with erfc: 1 + erf(z) cancels
// catastrophically for z << 0, erfc(-z) does not.
template <class T> CHERRY_SCALAR T gelu(T x) { return T(0.5) * x * erfc_of(-x * T(0.70710678118654752440)); }
template <class T> CHERRY_SCALAR T gelu_grad(T x) {
  const T cdf = T(0.5) * erfc_of(-x * T(0.70710678118654752440));
  const T pdf = exp_of(T(-0.5) * x * x) * T(0.39894228040143267794);
  return cdf + x * pdf;
}
template <class T> CHERRY_SCALAR T sign(T x) { return T((x > T(0)) - (x < T(0))); }

template <UnaryOp Op, class T> CHERRY_SCALAR T unary(T x) {
  if constexpr (Op == UnaryOp::neg) return T(-x);
  else if constexpr (Op == UnaryOp::exp) return exp_of(x);
  else if constexpr (Op == UnaryOp::log) return log_of(x);
  else if constexpr (Op == UnaryOp::sqrt) return sqrt_of(x);
  else if constexpr (Op == UnaryOp::rsqrt) return T(T(1) / sqrt_of(x));
  else if constexpr (Op == UnaryOp::abs) return T(x < T(0) ? -x : x);
  else if constexpr (Op == UnaryOp::relu) return x > T(0) ? x : T(0);
  else if constexpr (Op == UnaryOp::sigmoid) return T(sigmoid(x));
  else if constexpr (Op == UnaryOp::tanh) return tanh_of(x);
  else if constexpr (Op == UnaryOp::gelu) return T(gelu(x));
  else if constexpr (Op == UnaryOp::sign) return sign(x);
  else if constexpr (Op == UnaryOp::square) return T(x * x);
  else if constexpr (Op == UnaryOp::reciprocal) return T(T(1) / x);
  else {
    static_assert(Op == UnaryOp::erf, "a unary op of backends/ops.def has no formula here");
    return erf_of(x);
  }
}

// The arithmetic binary ops (comparisons: compare below, they produce bool).
template <BinaryOp Op, class T> CHERRY_SCALAR T binary(T a, T b) {
  if constexpr (Op == BinaryOp::add) return T(a + b);
  else if constexpr (Op == BinaryOp::sub) return T(a - b);
  else if constexpr (Op == BinaryOp::mul) return T(a * b);
  else if constexpr (Op == BinaryOp::div) return T(a / b);
  else if constexpr (Op == BinaryOp::maximum) return a > b ? a : b;
  else if constexpr (Op == BinaryOp::minimum) return a < b ? a : b;
  else if constexpr (Op == BinaryOp::pow) return pow_of(a, b);
  else if constexpr (Op == BinaryOp::relu_backward) return b > T(0) ? a : T(0);
  else {
    static_assert(Op == BinaryOp::gelu_backward, "a binary op of backends/ops.def has no formula here");
    return T(a * gelu_grad(b));
  }
}

template <BinaryOp Op, class T> CHERRY_SCALAR bool compare(T a, T b) {
  if constexpr (Op == BinaryOp::eq) return a == b;
  else if constexpr (Op == BinaryOp::ne) return a != b;
  else if constexpr (Op == BinaryOp::lt) return a < b;
  else if constexpr (Op == BinaryOp::le) return a <= b;
  else if constexpr (Op == BinaryOp::gt) return a > b;
  else {
    static_assert(Op == BinaryOp::ge, "a comparison of backends/ops.def has no formula here");
    return a >= b;
  }
}

// Neither inf nor NaN: v - v is 0 for every finite v and NaN otherwise (unlike std::isfinite it
// vectorises on the CPU); integers and bool are always finite.
template <class T> CHERRY_SCALAR bool is_finite(T v) {
  if constexpr (std::is_integral_v<T>) return true;
  else return v - v == T(0);
}

// Which ops mean something on integers (the CUDA backend refuses the rest for i64).
constexpr bool integer_ok(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::relu || op == UnaryOp::sign || op == UnaryOp::square;
}
constexpr bool integer_ok(BinaryOp op) { return op != BinaryOp::gelu_backward; }

}  // namespace cherry::math
