#include "autograd/autocast.h"

#include "core/error.h"
#include "core/tensor.h"

namespace cherry {

namespace {
thread_local DType g_autocast = DType::f32;
}

DType autocast_dtype() { return g_autocast; }
bool autocasts(const Tensor& t) { return g_autocast != DType::f32 && t.defined() && t.dtype() == DType::f32; }
Tensor autocast(const Tensor& t) { return autocasts(t) ? t.to(g_autocast) : t; }

AutocastGuard::AutocastGuard(DType compute) : previous_(g_autocast) {
  CHERRY_CHECK(compute == DType::f32 || compute == DType::bf16, "autocast", "compute dtype must be f32 or bf16, got ", dtype_name(compute));
  g_autocast = compute;
}
AutocastGuard::~AutocastGuard() { g_autocast = previous_; }

}  // namespace cherry
