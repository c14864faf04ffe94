// Scalar formulas shared by every backend's elementwise kernels (the math, not the loops).
#pragma once
#include <cmath>

#include "backends/backend.h"

namespace cherry::math {

template <class T> inline T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
// Exact (erf) GELU, as BERT and PyTorch's default use. Written with erfc: 1 + erf(z) cancels
// catastrophically for z << 0, erfc(-z) does not.
template <class T> inline T gelu(T x) { return T(0.5) * x * std::erfc(-x * T(0.70710678118654752440)); }
template <class T> inline T gelu_grad(T x) {
  const T cdf = T(0.5) * std::erfc(-x * T(0.70710678118654752440));
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
