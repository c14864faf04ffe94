// The backend registry: maps a device to its Backend. The only place that knows CUDA may be absent.
#include <array>

#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "core/error.h"
#ifdef CHERRY_CUDA
#include "backends/cuda/cuda_backend.h"
#endif

namespace cherry {
namespace {
std::array<Backend*, 2>& overrides() {
  static std::array<Backend*, 2> o{nullptr, nullptr};
  return o;
}
}  // namespace

Backend& backend_for(DeviceType device) {
  if (Backend* o = overrides()[size_t(device)]) return *o;
  if (device == DeviceType::cpu) return cpu_backend();
#ifdef CHERRY_CUDA
  return cuda_backend();
#else
  throw Error("backend", "this build has no CUDA backend; reconfigure with -DCHERRY_CUDA=ON");
#endif
}

bool backend_available(DeviceType device) {
  if (device == DeviceType::cpu) return true;
#ifdef CHERRY_CUDA
  return cuda_device_count() > 0;
#else
  return false;
#endif
}

std::string backend_info(DeviceType device) {
  if (device == DeviceType::cpu) return blas_info();
#ifdef CHERRY_CUDA
  return cuda_info();
#else
  return "this build has no CUDA backend (reconfigure with -DCHERRY_CUDA=ON)";
#endif
}

ScopedBackendOverride::ScopedBackendOverride(DeviceType device, Backend* replacement)
    : device_(device), previous_(overrides()[size_t(device)]) {
  overrides()[size_t(device)] = replacement;
}
ScopedBackendOverride::~ScopedBackendOverride() { overrides()[size_t(device_)] = previous_; }

const char* op_name(UnaryOp op) {
#define CHERRY_UNARY_OP(name) #name,
  static const char* names[] = {
#include "backends/ops.def"
  };
  return names[int(op)];
}
const char* op_name(BinaryOp op) {
#define CHERRY_BINARY_OP(name) #name,
#define CHERRY_COMPARE_OP(name) #name,
  static const char* names[] = {
#include "backends/ops.def"
  };
  return names[int(op)];
}
const char* op_name(ReduceOp op) {
#define CHERRY_REDUCE_OP(name) #name,
  static const char* names[] = {
#include "backends/ops.def"
  };
  return names[int(op)];
}

}  // namespace cherry
