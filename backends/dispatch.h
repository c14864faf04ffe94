// dtype -> C++ type dispatch for kernels: dispatch_floating(dtype, op, [&]<class T>() { ... }).
#pragma once
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

}  // namespace cherry
