// The CUDA kernels' entry points: one free function over Args (raw device pointers + shapes/strides
// in elements) per op-table kernel (backends/ops.def), defined in the .cu file of its family
// (elementwise, reduce, gemm, conv, pool, norm, index, optim). Each validates what it needs, then
// launches on stream(). Internal to backends/cuda/.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backends/backend.h"

namespace cherry::cuda {

#define CHERRY_KERNEL(name, params, args) void name params;
#include "backends/ops.def"

// The current device's stream (created on first use, non-blocking): every kernel, cuBLAS call and
// copy of the backend goes to it, so they run in the order they were issued. The host waits on it
// only where it must (copy_to_host, copy_from_host, synchronize, freeing raw memory).
cudaStream_t stream();
// The current device's cuBLAS handle, created on first use, bound to stream() (cuda_backend.cpp).
cublasHandle_t cublas_handle();

// elementwise.cu: x:(S) *= s, in place; f32/f64.
void scale(const Arg& x, double s);

// gemm.cpp. Row-major strided-batched GEMM on raw pointers, for the kernels that build their own operands:
// C[i]:(M,N) = alpha * op(A[i]) @ op(B[i]) + beta * C[i], i < batch, X[i] = X + i*sX (sX may be 0).
// A[i] is (M,K) with row stride lda, or (K,M) when ta; B[i] is (K,N) with row stride ldb, or (N,K) when tb.
template <class T>
void gemm_rm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, int64_t sA, const T* B, int64_t ldb,
             int64_t sB, T beta, T* C, int64_t ldc, int64_t sC, int64_t batch);

}  // namespace cherry::cuda
