// Routes Backend calls to the cpu:: kernels; registers the fused DY-Conv kernel (f32, oneDNN).
#include "backends/cpu/cpu_backend.h"

#include <cblas.h>
#include <omp.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "backends/host_memory.h"
#include "core/error.h"

extern "C" int openblas_get_parallel(void);
extern "C" char* openblas_get_config(void);

namespace cherry {
namespace {

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  void* raw_allocate(size_t nbytes) override { return std::aligned_alloc(64, (nbytes + 63) / 64 * 64); }
  void raw_deallocate(void* p, size_t) override { std::free(p); }
  void copy_from_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  std::optional<size_t> free_memory() const override { return host_free_memory().available; }

#define CHERRY_KERNEL(name, params, args) \
  void name params override { cpu::name args; }
#include "backends/ops.def"

  bool has_channel_blocks(DType t) const override { return t == DType::f32 || t == DType::bf16; }  // oneDNN's nChw16c
  CustomKernel* custom_kernel(std::string_view name, DType t) override {
    if (name == MixedConv2dKernel::kName && (t == DType::f32 || t == DType::bf16)) return &cpu::mixed_conv2d_onednn();
    return nullptr;
  }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

void prefer_short_openmp_spin(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr || std::getenv("GOMP_SPINCOUNT") != nullptr) return;
  ::setenv("GOMP_SPINCOUNT", "3000", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on with the default policy
}

bool blas_uses_openmp() { return openblas_get_parallel() == 2; }

std::string blas_info() {
  const int par = openblas_get_parallel();
  const char* kind = par == 2 ? "OpenMP" : par == 1 ? "pthreads" : "sequential";
  return cat(openblas_get_config(), " (", kind, ", ", omp_get_max_threads(), " threads)");
}

}  // namespace cherry
