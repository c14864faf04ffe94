// Wrappers that turn a failed CUDA runtime or cuBLAS call into a cherry::Error naming the call,
// the error and the source line. Every runtime/cuBLAS call in backends/cuda/ goes through one.
// Usable from .cu and .cpp files alike (host code only).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include <string>

#include "core/error.h"

namespace cherry::cuda {
// "cuda: cudaMalloc(&p, n) failed: out of memory (cudaErrorMemoryAllocation)"
[[noreturn]] inline void throw_cuda_error(const std::string& what, cudaError_t err, SourceLocation loc) {
  throw Error("cuda", cat(what, " failed: ", cudaGetErrorString(err), " (", cudaGetErrorName(err), ")"), loc);
}
// "cublas: cublasSgemm(...) failed: CUBLAS_STATUS_INVALID_VALUE (an invalid numeric value was used as an argument)"
[[noreturn]] inline void throw_cublas_error(const std::string& what, cublasStatus_t st, SourceLocation loc) {
  throw Error("cublas", cat(what, " failed: ", cublasGetStatusName(st), " (", cublasGetStatusString(st), ")"), loc);
}
}  // namespace cherry::cuda

#define CHERRY_CUDA_CHECK(expr)                                                              \
  do {                                                                                       \
    const cudaError_t cherry_err_ = (expr);                                                  \
    if (cherry_err_ != cudaSuccess) [[unlikely]]                                             \
      ::cherry::cuda::throw_cuda_error(#expr, cherry_err_, ::cherry::SourceLocation::current()); \
  } while (0)

#define CHERRY_CUBLAS_CHECK(expr)                                                             \
  do {                                                                                        \
    const cublasStatus_t cherry_st_ = (expr);                                                 \
    if (cherry_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                     \
      ::cherry::cuda::throw_cublas_error(#expr, cherry_st_, ::cherry::SourceLocation::current()); \
  } while (0)

// After a kernel launch: catches bad launch configurations at the call site (faults inside the
// kernel are asynchronous and surface at the next synchronising call instead).
#define CHERRY_CUDA_CHECK_LAUNCH() CHERRY_CUDA_CHECK(cudaGetLastError())
