// Device versions of backends/scalar_math.h (that header is host-only: std:: calls in plain inline
// functions). Same formulas, same edge cases (relu/sign of NaN give 0, exact GELU via erfc), with the op
// chosen at compile time so each kernel carries one formula. Keep the two files in step.
#pragma once
#include <cstdint>
#include <type_traits>

#include "backends/backend.h"

namespace cherry::cuda::dmath {

// f32 stays f32 (expf, not exp); f64 uses the double versions.
__device__ __forceinline__ float exp(float x) { return ::expf(x); }
__device__ __forceinline__ double exp(double x) { return ::exp(x); }
__device__ __forceinline__ float log(float x) { return ::logf(x); }
__device__ __forceinline__ double log(double x) { return ::log(x); }
__device__ __forceinline__ float sqrt(float x) { return ::sqrtf(x); }
__device__ __forceinline__ double sqrt(double x) { return ::sqrt(x); }
__device__ __forceinline__ float tanh(float x) { return ::tanhf(x); }
__device__ __forceinline__ double tanh(double x) { return ::tanh(x); }
__device__ __forceinline__ float erfc(float x) { return ::erfcf(x); }
__device__ __forceinline__ double erfc(double x) { return ::erfc(x); }
__device__ __forceinline__ float pow(float a, float b) { return ::powf(a, b); }
__device__ __forceinline__ double pow(double a, double b) { return ::pow(a, b); }
__device__ __forceinline__ int64_t pow(int64_t a, int64_t b) { return int64_t(::pow(double(a), double(b))); }
__device__ __forceinline__ float abs(float x) { return ::fabsf(x); }
__device__ __forceinline__ double abs(double x) { return ::fabs(x); }
__device__ __forceinline__ int64_t abs(int64_t x) { return x < 0 ? -x : x; }

template <class T>
__device__ __forceinline__ T sigmoid(T x) {
  return T(1) / (T(1) + exp(-x));
}
// Exact (erf) GELU, as BERT and PyTorch's default use. Written with erfc: 1 + erf(z) cancels
// catastrophically for z << 0, erfc(-z) does not.
template <class T>
__device__ __forceinline__ T gelu(T x) {
  return T(0.5) * x * erfc(-x * T(0.70710678118654752440));
}
template <class T>
__device__ __forceinline__ T gelu_grad(T x) {
  const T cdf = T(0.5) * erfc(-x * T(0.70710678118654752440));
  const T pdf = exp(T(-0.5) * x * x) * T(0.39894228040143267794);
  return cdf + x * pdf;
}
template <class T>
__device__ __forceinline__ T sign(T x) {
  return T((x > T(0)) - (x < T(0)));
}

// Which ops mean something on i64 (the rest throw on the host before any launch).
constexpr bool integer_ok(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::abs || op == UnaryOp::relu || op == UnaryOp::sign || op == UnaryOp::square;
}
constexpr bool integer_ok(BinaryOp op) { return op != BinaryOp::gelu_backward; }

template <UnaryOp Op, class T>
__device__ __forceinline__ T unary(T x) {
  if constexpr (Op == UnaryOp::neg)
    return -x;
  else if constexpr (Op == UnaryOp::exp)
    return exp(x);
  else if constexpr (Op == UnaryOp::log)
    return log(x);
  else if constexpr (Op == UnaryOp::sqrt)
    return sqrt(x);
  else if constexpr (Op == UnaryOp::rsqrt)
    return T(1) / sqrt(x);
  else if constexpr (Op == UnaryOp::abs)
    return abs(x);
  else if constexpr (Op == UnaryOp::relu)
    return x > T(0) ? x : T(0);
  else if constexpr (Op == UnaryOp::sigmoid)
    return sigmoid(x);
  else if constexpr (Op == UnaryOp::tanh)
    return tanh(x);
  else if constexpr (Op == UnaryOp::gelu)
    return gelu(x);
  else if constexpr (Op == UnaryOp::erf)
    return erf(x);
  else if constexpr (Op == UnaryOp::sign)
    return sign(x);
  else if constexpr (Op == UnaryOp::square)
    return x * x;
  else {
    static_assert(Op == UnaryOp::reciprocal);
    return T(1) / x;
  }
}

// Arithmetic binary ops (comparisons are compare() below: they produce bool).
template <BinaryOp Op, class T>
__device__ __forceinline__ T binary(T a, T b) {
  if constexpr (Op == BinaryOp::add)
    return a + b;
  else if constexpr (Op == BinaryOp::sub)
    return a - b;
  else if constexpr (Op == BinaryOp::mul)
    return a * b;
  else if constexpr (Op == BinaryOp::div)
    return a / b;
  else if constexpr (Op == BinaryOp::maximum)
    return a > b ? a : b;
  else if constexpr (Op == BinaryOp::minimum)
    return a < b ? a : b;
  else if constexpr (Op == BinaryOp::pow)
    return pow(a, b);
  else if constexpr (Op == BinaryOp::relu_backward)
    return b > T(0) ? a : T(0);
  else {
    static_assert(Op == BinaryOp::gelu_backward);
    return a * gelu_grad(b);
  }
}

template <BinaryOp Op, class T>
__device__ __forceinline__ bool compare(T a, T b) {
  if constexpr (Op == BinaryOp::eq)
    return a == b;
  else if constexpr (Op == BinaryOp::ne)
    return a != b;
  else if constexpr (Op == BinaryOp::lt)
    return a < b;
  else if constexpr (Op == BinaryOp::le)
    return a <= b;
  else if constexpr (Op == BinaryOp::gt)
    return a > b;
  else {
    static_assert(Op == BinaryOp::ge);
    return a >= b;
  }
}

}  // namespace cherry::cuda::dmath
