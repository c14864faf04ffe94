// Scalar formulas shared by every backend's elementwise kernels (the math, not the loops).
#pragma once
#include <cmath>
#include <type_traits>

#include "backends/backend.h"

namespace cherry::math {

template <class T> inline T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }

// erfc with fractional error below 1.2e-7 everywhere (Numerical Recipes' erfcc, a Chebyshev fit
// times exp(-z^2)): relative accuracy holds in the far tail, and it is several times faster than
// glibc's erfcf, which took 13% of a BERT fine-tuning step through GELU. float only; double
// (gradient checks) keeps std::erfc.
inline float erfc_fast(float z) {
  const float a = z < 0.f ? -z : z;
  const float t = 1.f / (1.f + 0.5f * a);
  const float q = -1.26551223f + t * (1.00002368f + t * (0.37409196f + t * (0.09678418f + t * (-0.18628806f + t * (0.27886807f +
                  t * (-1.13520398f + t * (1.48851587f + t * (-0.82215223f + t * 0.17087277f))))))));
  // exp(-a^2) apart from exp(q): one float exponent near -64 would carry an absolute rounding
  // error of ~4e-6, which exp turns into a relative one. The square's own rounding error is
  // recovered exactly with an FMA.
  const float sq = a * a, sq_err = std::fma(a, a, -sq);
  const float r = t * std::exp(-sq) * std::exp(q) * (1.f - sq_err);
  return z < 0.f ? 2.f - r : r;
}
template <class T> inline T erfc_of(T z) {
  if constexpr (std::is_same_v<T, float>) return erfc_fast(z);
  else return std::erfc(z);
}
// Exact (erf) GELU, as BERT and PyTorch's default use. Written with erfc: 1 + erf(z) cancels
// catastrophically for z << 0, erfc(-z) does not.
template <class T> inline T gelu(T x) { return T(0.5) * x * erfc_of(-x * T(0.70710678118654752440)); }
template <class T> inline T gelu_grad(T x) {
  const T cdf = T(0.5) * erfc_of(-x * T(0.70710678118654752440));
  const T pdf = std::exp(T(-0.5) * x * x) * T(0.39894228040143267794);
  return cdf + x * pdf;
}
template <class T> inline T sign(T x) { return T((x > T(0)) - (x < T(0))); }

template <class T> inline T unary(UnaryOp op, T x) {
  switch (op) {
    case UnaryOp::neg: return -x;
    case UnaryOp::exp: return std::exp(x);
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
