// dtype -> C++ type dispatch for kernels: dispatch_floating(dtype, op, [&]<class T>() { ... }), and
// runtime op -> template argument: with_unary_op(op, [&]<UnaryOp Op>() { ... }), so each loop or
// device kernel is compiled with one formula of backends/scalar_math.h.
#pragma once
#include <type_traits>
#include <utility>

#include "backends/backend.h"
#include "core/dtype.h"
#include "core/error.h"

namespace cherry {

template <class F> decltype(auto) dispatch_floating(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    default: throw Error(op, cat("expected a floating dtype (f32/f64), got ", dtype_name(t)));
  }
}

// Types that support arithmetic: f32, f64, i64.
template <class F> decltype(auto) dispatch_arith(DType t, const char* op, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<int64_t>();
    default: throw Error(op, cat("expected f32/f64/i64, got ", dtype_name(t)));
  }
}

// Every dtype but bf16 (a backend without bf16 kernels gets a clear error).
template <class F> decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    case DType::boolean: return f.template operator()<bool>();
    case DType::bf16: break;
  }
  throw Error("dispatch", cat("no kernel for dtype ", dtype_name(t), " on this backend (bf16 runs on the CPU)"));
}

// bf16 is a storage type: a kernel that takes it loads float, computes in compute_t<T> and rounds
// once on store (CPU kernels; see core/bf16.h).
template <class T> using compute_t = std::conditional_t<std::is_same_v<T, bf16>, float, T>;

// Every dtype, bf16 included: for kernels that only move or convert elements.
template <class F> decltype(auto) dispatch_storage(DType t, F&& f) {
  if (t == DType::bf16) return f.template operator()<bf16>();
  return dispatch_all(t, std::forward<F>(f));
}

// f32, f64, i64 and bf16: arithmetic kernels written in compute_t<T>.
template <class F> decltype(auto) dispatch_compute(DType t, const char* op, F&& f) {
  if (t == DType::bf16) return f.template operator()<bf16>();
  return dispatch_arith(t, op, std::forward<F>(f));
}

// f32, f64 and bf16.
template <class F> decltype(auto) dispatch_floating_bf16(DType t, const char* op, F&& f) {
  if (t == DType::bf16) return f.template operator()<bf16>();
  return dispatch_floating(t, op, std::forward<F>(f));
}

template <class F> decltype(auto) with_unary_op(UnaryOp op, F&& f) {
  switch (op) {
#define CHERRY_UNARY_OP(name) \
  case UnaryOp::name: return f.template operator()<UnaryOp::name>();
#include "backends/ops.def"
  }
  throw Error("unary", "unknown op");
}

// The arithmetic binary ops (comparisons: with_compare_op).
template <class F> decltype(auto) with_arith_op(BinaryOp op, F&& f) {
  switch (op) {
#define CHERRY_BINARY_OP(name) \
  case BinaryOp::name: return f.template operator()<BinaryOp::name>();
#include "backends/ops.def"
    default: throw Error(op_name(op), "not an arithmetic op");
  }
}

template <class F> decltype(auto) with_compare_op(BinaryOp op, F&& f) {
  switch (op) {
#define CHERRY_COMPARE_OP(name) \
  case BinaryOp::name: return f.template operator()<BinaryOp::name>();
#include "backends/ops.def"
    default: throw Error(op_name(op), "not a comparison");
  }
}

}  // namespace cherry
