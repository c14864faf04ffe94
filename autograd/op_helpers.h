// Small helpers shared by the ops_*.cpp files (not part of the public API).
#pragma once
#include "autograd/ops.h"
#include "core/broadcast.h"

namespace cherry::detail {

inline Backend& be(const Tensor& t) { return backend_for(t.device().type); }

inline void check_same(const Tensor& a, const Tensor& b, const char* op) {
  CHERRY_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", a.describe(), " vs ", b.describe());
  CHERRY_CHECK(a.device() == b.device(), op, "device mismatch: ", a.describe(), " vs ", b.describe());
}
// A parameter next to activation x: x's dtype, or f32 with bf16 activations (mixed precision).
inline void check_param(const Tensor& x, const Tensor& w, const char* op) {
  CHERRY_CHECK(w.dtype() == x.dtype() || (x.dtype() == DType::bf16 && w.dtype() == DType::f32), op, "dtype mismatch: ",
               x.describe(), " with parameter ", w.describe());
  CHERRY_CHECK(x.device() == w.device(), op, "device mismatch: ", x.describe(), " vs ", w.describe());
}
// Mixed precision: a bf16 operand meeting an f32 one is cast to f32 (a recorded cast), as a bf16
// activation meets an f32 residual or mask. Any other dtype mismatch (f32 with f64, ...) stays an
// error: it is a bug more often than an intent.
inline bool needs_promotion(const Tensor& a, const Tensor& b) {
  return (a.dtype() == DType::bf16 && b.dtype() == DType::f32) || (a.dtype() == DType::f32 && b.dtype() == DType::bf16);
}
// f32 for a bf16 tensor (ops that always compute in f32), else t.
inline Tensor upcast_bf16(const Tensor& t) { return t.dtype() == DType::bf16 ? t.to(DType::f32) : t; }
inline void check_floating(const Tensor& t, const char* op) {
  CHERRY_CHECK(is_floating(t.dtype()), op, "expected a floating tensor, got ", t.describe());
}
inline void check_dim(const Tensor& t, int64_t n, const char* op, const char* what) {
  CHERRY_CHECK(t.dim() == n, op, what, " must be ", n, "-D, got ", t.describe());
}
inline Tensor scalar_like(double v, const Tensor& t) { return scalar_tensor(v, t.dtype(), t.device()); }
inline Arg null_arg(DType dtype = DType::f32) { return Arg{nullptr, dtype, {}, {}}; }
inline Arg arg_or_null(const Tensor& t) { return t.defined() ? t.arg() : null_arg(); }

// Normalises a list of dims (negative allowed, empty = all) into a sorted, unique flag vector.
std::vector<bool> reduce_mask(const Tensor& x, const std::vector<int64_t>& dims, const char* op);

}  // namespace cherry::detail
