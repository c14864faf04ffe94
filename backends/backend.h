// The Backend interface: one virtual call per op (never per element). Each device implements it
// (cpu/, cuda/, and reference/ for tests); the ops layer in autograd/ is the only caller.
// Args are already validated there: shapes agree, broadcast dims carry stride 0.
#pragma once
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "backends/arg.h"

namespace cherry {

struct CustomKernel;

#define CHERRY_UNARY_OP(name) name,
enum class UnaryOp {
#include "backends/ops.def"
};
#define CHERRY_BINARY_OP(name) name,
#define CHERRY_COMPARE_OP(name) name,
enum class BinaryOp {  // the arithmetic ops, then the comparisons
#include "backends/ops.def"
};
#define CHERRY_REDUCE_OP(name) name,
enum class ReduceOp {
#include "backends/ops.def"
};

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(ReduceOp op);
constexpr bool is_comparison(BinaryOp op) {
  switch (op) {
#define CHERRY_COMPARE_OP(name) \
  case BinaryOp::name: return true;
#include "backends/ops.def"
    default: return false;
  }
}

struct Conv2dParams {
  int64_t stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
  int64_t groups = 1;
};
struct Pool2dParams {
  int64_t kernel[2] = {2, 2}, stride[2] = {2, 2}, padding[2] = {0, 0};
  bool count_include_pad = true;  // avg pool only
};

// One optimizer update of one parameter (optim/sgd.h, optim/adamw.h give the formulas). Scalars
// are rounded to the parameter's dtype before use; each element rounds where PyTorch's kernels do.
struct SgdStep {
  double lr = 0.0, weight_decay = 0.0, momentum = 0.0;
  bool nesterov = false;
  bool first = false;  // the parameter's first update: the momentum buffer takes the gradient itself
};
struct AdamWStep {
  double decay = 1.0;  // 1 - lr*wd
  double one_minus_beta1 = 0.1, beta2 = 0.999, one_minus_beta2 = 0.001;
  double bc2_sqrt = 1.0;   // sqrt(1 - beta2^t)
  double step_size = 0.0;  // lr / (1 - beta1^t)
  double eps = 1e-8;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory (raw; the CachingAllocator, backends/allocator.h, sits on top).
  virtual void* raw_allocate(size_t nbytes) = 0;
  virtual void raw_deallocate(void* p, size_t nbytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void synchronize() {}
  // Bytes a new allocation can still get (host: backends/host_memory.h; CUDA: cudaMemGetInfo's
  // free), or nullopt where unknown. The apps' memory check before training compares with it.
  virtual std::optional<size_t> free_memory() const { return std::nullopt; }

  // One pure virtual method per kernel of the op table (backends/ops.def, which documents each).
#define CHERRY_KERNEL(name, params, args) virtual void name params = 0;
#include "backends/ops.def"

  // Channel blocks (MemoryFormat, backends/arg.h): where has_channel_blocks(dtype), the activations of
  // conv2d, the mixed_conv2d custom kernel and batch norm may come in them (Arg::format); elsewhere
  // the ops layer converts around a strided call.
  virtual bool has_channel_blocks(DType) const { return false; }

  // The extension point for model-specific fused kernels (backends/custom_kernel.h): the kernel this
  // backend registers under `name` for dtype, or nullptr, and the op runs its composed default.
  virtual CustomKernel* custom_kernel(std::string_view /*name*/, DType /*dtype*/) { return nullptr; }
};

// Every Backend kernel's name, in op-table order (the test harness checks each one is exercised).
#define CHERRY_KERNEL(name, params, args) #name,
inline constexpr std::string_view kBackendOps[] = {
#include "backends/ops.def"
};

// The registry (backends/registry.cpp, the only #ifdef CHERRY_CUDA).
Backend& backend_for(DeviceType device);
bool backend_available(DeviceType device);
// One line about a device's backend, for logs and skip messages: for CUDA the runtime, driver,
// device and built archs, or why there is none ("this build has no CUDA backend", "no CUDA device").
std::string backend_info(DeviceType device);
// The BLAS library the CPU backend loaded, e.g. "OpenBLAS 0.3.21 (OpenMP, 2 threads)", and whether it
// is the OpenMP build (the apps refuse one with its own thread pool at start-up).
std::string blas_info();
bool blas_uses_openmp();
// Re-executes the program with GOMP_SPINCOUNT=3000 unless the user set it or OMP_WAIT_POLICY: a
// thread waiting at an OpenMP barrier spins that long (tens of microseconds), then sleeps. libgomp's
// default spin (300000) let waiting threads starve the data-loading threads on 2 cores (4-6x slower
// training, measured with train_resnet and cherry_demo); sleeping at once (PASSIVE) pays a futex
// wake-up per parallel region. On 2 cores, `train_resnet --conv dynamic --dataset cifar10 --max-steps
// 40 --threads 2`, settings alternated: 459-484 img/s with 3000, 370-418 with PASSIVE. libgomp reads
// the variable when it loads, before main, hence the re-exec. Call first thing in main.
void prefer_short_openmp_spin(char** argv);

// Tests swap the CPU backend for the reference backend for the lifetime of this guard.
class ScopedBackendOverride {
 public:
  ScopedBackendOverride(DeviceType device, Backend* replacement);
  ~ScopedBackendOverride();
  ScopedBackendOverride(const ScopedBackendOverride&) = delete;
  ScopedBackendOverride& operator=(const ScopedBackendOverride&) = delete;

 private:
  DeviceType device_;
  Backend* previous_;
};

}  // namespace cherry
