// Scalar formulas shared by every backend's elementwise kernels (the math, not the loops).
#pragma once
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

#include "backends/backend.h"

namespace cherry::math {

// Forced: GCC otherwise keeps these out of line inside the large elementwise dispatch functions,
// and a call per element stops the loops from vectorising.
#define CHERRY_SCALAR inline __attribute__((always_inline))
#define CHERRY_SCALAR_LAMBDA __attribute__((always_inline))

// exp for float with relative error below 2e-7 (Cephes' expf: x = n ln2 + r, |r| <= ln2/2, a
// degree-6 polynomial for e^r, 2^n put into the exponent bits). Branch-free and inline, so the
// compiler vectorises the loops that call it; glibc's expf is a scalar call (12% of a BERT step
// went to it through softmax and GELU). Results below float's normal range flush to 0 (std::exp
// would return subnormals down to x = -103.97).
CHERRY_SCALAR float exp_fast(float x) {
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
template <class T> CHERRY_SCALAR T exp_of(T x) {
  if constexpr (std::is_same_v<T, float>) return exp_fast(x);
  else return std::exp(x);
}

template <class T> CHERRY_SCALAR T sigmoid(T x) { return T(1) / (T(1) + exp_of(-x)); }

// erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' erfcc, a Chebyshev fit
// times exp(-z^2)): relative accuracy holds in the far tail, and it is several times faster than
// glibc's erfcf, which took 13% of a BERT fine-tuning step through GELU. float only; double
// (gradient checks) keeps std::erfc.
CHERRY_SCALAR float erfc_fast(float z) {
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
template <class T> CHERRY_SCALAR T erfc_of(T z) {
  if constexpr (std::is_same_v<T, float>) return erfc_fast(z);
  else return std::erfc(z);
}
// Exact (erf) GELU, as BERT and PyTorch's default use. Written with erfc: 1 + erf(z) cancels
// catastrophically for z << 0, erfc(-z) does not.
template <class T> CHERRY_SCALAR T gelu(T x) { return T(0.5) * x * erfc_of(-x * T(0.70710678118654752440)); }
template <class T> CHERRY_SCALAR T gelu_grad(T x) {
  const T cdf = T(0.5) * erfc_of(-x * T(0.70710678118654752440));
  const T pdf = exp_of(T(-0.5) * x * x) * T(0.39894228040143267794);
  return cdf + x * pdf;
}
template <class T> inline T sign(T x) { return T((x > T(0)) - (x < T(0))); }

template <class T> inline T unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return exp_of(x);
    case UnaryOp::log: return std::log(x);
    case UnaryOp::sqrt: return std::sqrt(x);
    case UnaryOp::rsqrt: return T(1) / std::sqrt(x);
    case UnaryOp::abs: return std::abs(x);
    case UnaryOp::relu: return x > T(0) ? x : T(0);
    case UnaryOp::sigmoid: return sigmoid(x);
    case UnaryOp::tanh: return std::tanh(x);
    case UnaryOp::gelu: return gelu(x);
    case UnaryOp::sign: return sign(x);
    case UnaryOp::square: return x * x;
    case UnaryOp::reciprocal: return T(1) / x;
    case UnaryOp::erf: return std::erf(x);
  }
  return x;
}

// Arithmetic binary ops (comparisons are handled separately: they produce bool).
template <class T> inline T binary(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::add: return a + b;
    case BinaryOp::sub: return a - b;
    case BinaryOp::mul: return a * b;
    case BinaryOp::div: return a / b;
    case BinaryOp::maximum: return a > b ? a : b;
    case BinaryOp::minimum: return a < b ? a : b;
    case BinaryOp::pow: return T(std::pow(a, b));
    case BinaryOp::relu_backward: return b > T(0) ? a : T(0);
    case BinaryOp::gelu_backward: return a * gelu_grad(b);
    default: return T(0);
  }
}

template <class T> inline bool compare(BinaryOp op, T a, T b) {
  switch (op) {
    case BinaryOp::eq: return a == b;
    case BinaryOp::ne: return a != b;
    case BinaryOp::lt: return a < b;
    case BinaryOp::le: return a <= b;
    case BinaryOp::gt: return a > b;
    case BinaryOp::ge: return a >= b;
    default: return false;
  }
}

}  // namespace cherry::math
