// Routes Backend calls to the cuda:: kernels and owns the process-wide CUDA state: device memory,
// host<->device copies, the cuBLAS handle, device queries. Ops without a CUDA kernel yet throw;
// nothing ever falls back to the CPU behind the caller's back.
#include "backends/cuda/cuda_backend.h"

#include <cmath>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "core/error.h"

#ifndef CHERRY_CUDA_ARCHS
#define CHERRY_CUDA_ARCHS "?"
#endif

namespace cherry {

namespace cuda {
cublasHandle_t cublas_handle() {
  // Never destroyed: at process exit the driver may already be torn down, and cublasDestroy would
  // then fail or crash; the driver reclaims the handle with the context.
  static const cublasHandle_t handle = [] {
    cublasHandle_t h = nullptr;
    CHERRY_CUBLAS_CHECK(cublasCreate(&h));
    CHERRY_CUBLAS_CHECK(cublasSetStream(h, stream()));
    return h;
  }();
  return handle;
}
}  // namespace cuda

namespace {

[[noreturn]] void missing(const char* op, SourceLocation loc = ::cherry::SourceLocation::current()) {
  throw Error(op, "not implemented on CUDA yet", loc);
}

std::string version_str(int v) { return v ? cat(v / 1000, ".", v % 1000 / 10) : std::string("none"); }

class CudaBackend final : public Backend {
 public:
  const char* name() const override { return "cuda"; }

  // nullptr on out-of-memory so core's CachingAllocator can empty its cache and retry; any other
  // failure (no device, a sticky fault from an earlier kernel) throws.
  void* raw_allocate(size_t nbytes) override {
    void* p = nullptr;
    const cudaError_t err = cudaMalloc(&p, nbytes);
    if (err == cudaErrorMemoryAllocation) {
      (void)cudaGetLastError();  // clear it, or the next unrelated check would report it
      return nullptr;
    }
    if (err != cudaSuccess) cuda::throw_cuda_error(cat("cudaMalloc(", nbytes, " bytes)"), err, ::cherry::SourceLocation::current());
    return p;
  }
  void raw_deallocate(void* p, size_t) override { CHERRY_CUDA_CHECK(cudaFree(p)); }
  // Synchronous cudaMemcpy on the legacy default stream: ordered after every kernel already queued.
  void copy_from_host(void* dst, const void* src, size_t n) override { CHERRY_CUDA_CHECK(cudaMemcpy(dst, src, n, cudaMemcpyHostToDevice)); }
  void copy_to_host(void* dst, const void* src, size_t n) override { CHERRY_CUDA_CHECK(cudaMemcpy(dst, src, n, cudaMemcpyDeviceToHost)); }
  void synchronize() override { CHERRY_CUDA_CHECK(cudaDeviceSynchronize()); }

  void fill(const Arg& out, double v) override { cuda::fill(out, v); }
  void copy(const Arg& src, const Arg& dst) override { cuda::copy(src, dst); }
  void unary(UnaryOp op, const Arg& x, const Arg& out) override { cuda::unary(op, x, out); }
  void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) override { cuda::binary(op, a, b, out); }
  void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) override { cuda::matmul(a, b, c, alpha, beta); }

  void where(const Arg&, const Arg&, const Arg&, const Arg&) override { missing("where"); }
  void reduce(ReduceOp op, const Arg&, const Arg&) override { missing(op_name(op)); }
  void argmax(const Arg&, const Arg&) override { missing("argmax"); }
  void topk(const Arg&, int64_t, bool, const Arg&, const Arg&) override { missing("topk"); }
  void softmax(const Arg&, bool log, const Arg&) override { missing(log ? "log_softmax" : "softmax"); }
  void softmax_backward(const Arg&, const Arg&, bool log, const Arg&) override {
    missing(log ? "log_softmax_backward" : "softmax_backward");
  }
  void conv2d_forward(const Arg&, const Arg&, const Arg&, const Arg&, const Conv2dParams&) override { missing("conv2d"); }
  void conv2d_backward(const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Conv2dParams&) override {
    missing("conv2d_backward");
  }
  void max_pool2d_forward(const Arg&, const Arg&, const Arg&, const Pool2dParams&) override { missing("max_pool2d"); }
  void max_pool2d_backward(const Arg&, const Arg&, const Arg&) override { missing("max_pool2d_backward"); }
  void avg_pool2d_forward(const Arg&, const Arg&, const Pool2dParams&) override { missing("avg_pool2d"); }
  void avg_pool2d_backward(const Arg&, const Arg&, const Pool2dParams&) override { missing("avg_pool2d_backward"); }
  void batch_norm_forward(const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, bool, double, double, const Arg&, const Arg&,
                          const Arg&) override {
    missing("batch_norm");
  }
  void batch_norm_backward(const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&) override {
    missing("batch_norm_backward");
  }
  void layer_norm_forward(const Arg&, const Arg&, const Arg&, double, const Arg&, const Arg&, const Arg&) override {
    missing("layer_norm");
  }
  void layer_norm_backward(const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&) override {
    missing("layer_norm_backward");
  }
  void index_select(const Arg&, int64_t, const Arg&, const Arg&) override { missing("index_select"); }
  void index_add(const Arg&, int64_t, const Arg&, const Arg&) override { missing("index_add"); }
  void gather(const Arg&, int64_t, const Arg&, const Arg&) override { missing("gather"); }
  void scatter_add(const Arg&, int64_t, const Arg&, const Arg&) override { missing("scatter_add"); }
};

}  // namespace

Backend& cuda_backend() {
  static CudaBackend instance;  // touches no CUDA API until an op runs
  return instance;
}

int cuda_device_count() {
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {  // no driver or no device: report 0, never throw
      (void)cudaGetLastError();
      return 0;
    }
    return n;
  }();
  return count;
}

std::string cuda_info() {
  int runtime = 0, driver = 0;
  (void)cudaRuntimeGetVersion(&runtime);
  (void)cudaDriverGetVersion(&driver);  // 0 when no driver is installed
  std::string s = cat("CUDA runtime ", version_str(runtime), ", driver ", version_str(driver), "; ");
  int n = 0;
  const cudaError_t err = cudaGetDeviceCount(&n);
  if (err != cudaSuccess || n == 0) {
    (void)cudaGetLastError();
    s += "no CUDA device";
    if (err != cudaSuccess) s += cat(" (", cudaGetErrorString(err), ")");
  } else {
    int dev = 0;
    cudaDeviceProp prop{};
    if (cudaGetDevice(&dev) == cudaSuccess && cudaGetDeviceProperties(&prop, dev) == cudaSuccess) {
      s += cat("device ", dev, " of ", n, ": ", prop.name, " (sm_", prop.major, prop.minor, ", ",
               double(std::llround(double(prop.totalGlobalMem) / double(1ull << 30) * 10)) / 10, " GiB)");
    } else {
      (void)cudaGetLastError();
      s += cat(n, " device(s), properties unavailable");
    }
  }
  return s + "; built for CUDA archs " + CHERRY_CUDA_ARCHS;
}

}  // namespace cherry
