// Mixed precision, as PyTorch's autocast: inside an AutocastGuard(DType::bf16), the compute-bound
// ops (conv2d, mixed_conv2d, matmul, linear, grouped_linear) cast their f32 activations to bf16 and
// return bf16. Everything else follows its inputs' dtypes: bf16 activations stay bf16 through
// elementwise ops, views, pooling and batch norm (whose arithmetic and statistics are f32); mixed
// bf16/f32 operands promote to f32; softmax, log-softmax, layer norm and the losses always compute
// in f32 (a bf16 input is cast up). Parameters, their gradients and optimizer state stay f32:
// conv2d and mixed_conv2d take f32 weights and return f32 weight gradients, matmul casts its
// weight per call. Backward runs with autocast off: a gradient has its tensor's dtype.
#pragma once
#include "core/dtype.h"

namespace cherry {

class Tensor;

DType autocast_dtype();                // f32 when autocast is off
bool autocasts(const Tensor& t);       // autocast is on and t is an f32 activation to cast
Tensor autocast(const Tensor& t);      // t in the autocast dtype when autocasts(t), else t

// The dtype that parameters, statistics and routing (DY-Conv attention, kernel mixing, MoE gates)
// use next to activations of dtype t: f32 for bf16, else t.
constexpr DType master_dtype(DType t) { return t == DType::bf16 ? DType::f32 : t; }

class AutocastGuard {
 public:
  explicit AutocastGuard(DType compute);  // f32 turns autocast off (e.g. routing that stays f32)
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  DType previous_;
};

}  // namespace cherry
