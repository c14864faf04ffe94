// Wrappers that turn a failed CUDA runtime or cuBLAS call into a cherry::Error naming the call,
// the error and the source line. Every runtime/cuBLAS call in backends/cuda/ goes through one.
// Usable from .cu and .cpp files alike (host code only).
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "core/error.h"

// CHERRY_CUDA_CHECK(cudaMalloc(&p, n)): throws "cuda: cudaMalloc(&p, n) failed: out of memory (cudaErrorMemoryAllocation)".
#define CHERRY_CUDA_CHECK(expr)                                                                         \
  do {                                                                                                  \
    const cudaError_t cherry_err_ = (expr);                                                             \
    if (cherry_err_ != cudaSuccess) [[unlikely]]                                                        \
      throw ::cherry::Error("cuda", ::cherry::cat(#expr, " failed: ", cudaGetErrorString(cherry_err_), \
                                                  " (", cudaGetErrorName(cherry_err_), ")"),            \
                            std::source_location::current());                                           \
  } while (0)

// CHERRY_CUBLAS_CHECK(cublasSgemm(...)): throws "cublas: cublasSgemm(...) failed: CUBLAS_STATUS_... (description)".
#define CHERRY_CUBLAS_CHECK(expr)                                                                         \
  do {                                                                                                    \
    const cublasStatus_t cherry_st_ = (expr);                                                             \
    if (cherry_st_ != CUBLAS_STATUS_SUCCESS) [[unlikely]]                                                 \
      throw ::cherry::Error("cublas", ::cherry::cat(#expr, " failed: ", cublasGetStatusName(cherry_st_), \
                                                    " (", cublasGetStatusString(cherry_st_), ")"),        \
                            std::source_location::current());                                             \
  } while (0)

// After a kernel launch: catches bad launch configurations at the call site (asynchronous faults
// surface at the next synchronizing call instead).
#define CHERRY_CUDA_CHECK_LAUNCH() CHERRY_CUDA_CHECK(cudaGetLastError())
