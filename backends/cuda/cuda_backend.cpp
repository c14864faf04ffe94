// Routes Backend calls to the cuda:: kernels and owns the process-wide CUDA state: device memory,
// host<->device copies, the stream and cuBLAS handle of each device, the device-error slot, device
// queries. Every op has a kernel; nothing ever falls back to the CPU behind the caller's back.
#include "backends/cuda/cuda_backend.h"

#include <array>
#include <cmath>
#include <mutex>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"
#include "backends/allocator.h"
#include "core/error.h"

#ifndef CHERRY_CUDA_ARCHS
#define CHERRY_CUDA_ARCHS "?"
#endif

namespace cherry {

namespace cuda {
namespace {
constexpr int kMaxDevices = 64;

int current_device() {
  int dev = 0;
  CHERRY_CUDA_CHECK(cudaGetDevice(&dev));
  CHERRY_CHECK(dev >= 0 && dev < kMaxDevices, "cuda", "device ", dev, " beyond the ", kMaxDevices, " this backend tracks");
  return dev;
}

// Per-device state, created on first use. Never destroyed: at process exit the driver may already
// be torn down, and destroying handles then fails or crashes; the driver reclaims them.
struct PerDevice {
  std::once_flag once;
  cudaStream_t stream = nullptr;
  cublasHandle_t cublas = nullptr;
  DeviceErrorSlot* errors = nullptr;  // host-mapped: the device writes, the host reads without a copy
};
PerDevice& per_device() {
  static std::array<PerDevice, kMaxDevices> all;
  PerDevice& d = all[size_t(current_device())];
  std::call_once(d.once, [&d] {
    // Non-blocking: no implicit ordering with the legacy default stream, so every copy here names
    // this stream explicitly.
    CHERRY_CUDA_CHECK(cudaStreamCreateWithFlags(&d.stream, cudaStreamNonBlocking));
    CHERRY_CUBLAS_CHECK(cublasCreate(&d.cublas));
    CHERRY_CUBLAS_CHECK(cublasSetStream(d.cublas, d.stream));
    void* host = nullptr;
    CHERRY_CUDA_CHECK(cudaHostAlloc(&host, sizeof(DeviceErrorSlot), cudaHostAllocMapped));
    *static_cast<DeviceErrorSlot*>(host) = DeviceErrorSlot{0, 0, 0, 0};
    void* dev = nullptr;
    CHERRY_CUDA_CHECK(cudaHostGetDevicePointer(&dev, host, 0));
    CHERRY_CHECK(dev == host, "cuda", "mapped host memory has a different device address (no unified addressing?)");
    d.errors = static_cast<DeviceErrorSlot*>(dev);
  });
  return d;
}

const char* device_error_op(int code) {
  switch (DeviceError(code)) {
    case DeviceError::index_select: return "index_select";
    case DeviceError::index_add: return "index_add";
    case DeviceError::gather: return "gather";
    case DeviceError::scatter_add: return "scatter_add";
    case DeviceError::none: break;
  }
  return "cuda kernel";
}
}  // namespace

cudaStream_t stream() { return per_device().stream; }
cublasHandle_t cublas_handle() { return per_device().cublas; }
DeviceErrorSlot* device_error_slot() { return per_device().errors; }

void check_device_errors() {
  volatile DeviceErrorSlot* e = per_device().errors;
  if (e->code == 0) return;
  const int code = e->code;
  const long long index = e->index, size = e->size;
  e->code = 0;
  throw Error(device_error_op(code), cat("index ", index, " out of range [0, ", size,
                                         ") (found on the device; reported at the next synchronisation, so the op that failed ran earlier)"));
}

Scratch::Scratch(size_t nbytes) : n_(nbytes), p_(nbytes ? CachingAllocator::get(DeviceType::cuda).allocate(nbytes) : nullptr) {}
Scratch::~Scratch() {
  if (p_) CachingAllocator::get(DeviceType::cuda).deallocate(p_, n_);
}
}  // namespace cuda

namespace {

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
  // Only the allocator's empty_cache frees raw blocks; queued kernels may still use a cached block,
  // so wait for the stream first.
  void raw_deallocate(void* p, size_t) override {
    CHERRY_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
    CHERRY_CUDA_CHECK(cudaFree(p));
  }
  // Both copies wait for the stream: the host buffer may be reused (or read) as soon as they return.
  void copy_from_host(void* dst, const void* src, size_t n) override {
    CHERRY_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyHostToDevice, cuda::stream()));
    CHERRY_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
  }
  void copy_to_host(void* dst, const void* src, size_t n) override {
    CHERRY_CUDA_CHECK(cudaMemcpyAsync(dst, src, n, cudaMemcpyDeviceToHost, cuda::stream()));
    CHERRY_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
    cuda::check_device_errors();
  }
  std::optional<size_t> free_memory() const override {
    size_t free = 0, total = 0;
    if (cudaMemGetInfo(&free, &total) != cudaSuccess) {
      (void)cudaGetLastError();
      return std::nullopt;
    }
    return free;
  }
  void synchronize() override {
    CHERRY_CUDA_CHECK(cudaStreamSynchronize(cuda::stream()));
    cuda::check_device_errors();
  }

#define CHERRY_KERNEL(name, params, args) \
  void name params override { cuda::name args; }
#include "backends/ops.def"
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
