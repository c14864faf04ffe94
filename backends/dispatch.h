// dtype -> C++ type dispatch for kernels: dispatch_floating(dtype, op, [&]<class T>() { ... }), and
// runtime op -> template argument: with_unary_op(op, [&]<UnaryOp Op>() { ... }), so each loop or
// device kernel is compiled with one formula of backends/scalar_math.h.
#pragma once
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

template <class F> decltype(auto) dispatch_all(DType t, F&& f) {
  switch (t) {
    case DType::f32: return f.template operator()<float>();
    case DType::f64: return f.template operator()<double>();
    case DType::i64: return f.template operator()<int64_t>();
    case DType::u8: return f.template operator()<uint8_t>();
    case DType::boolean: return f.template operator()<bool>();
  }
  throw Error("dispatch", "unknown dtype");
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
