// The CUDA kernels' entry points, as the backend class sees them: free functions over Args (raw
// device pointers + shapes/strides in elements), mirroring backends/cpu/cpu_backend.h. Each host
// function validates what it needs, then launches on stream(). Internal to backends/cuda/.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backends/backend.h"

namespace cherry::cuda {

// Every kernel, copy and cuBLAS call goes to the legacy default stream for now: it orders itself
// with the synchronous cudaMemcpy in copy_to_host/copy_from_host, so no extra synchronisation is
// needed. A dedicated stream later changes only this function (and the memcpys).
inline cudaStream_t stream() { return nullptr; }
// The per-process cuBLAS handle, created on first use, bound to stream() (cuda_backend.cpp).
cublasHandle_t cublas_handle();

// elementwise.cu. Inputs are strided views already broadcast to out's shape (stride 0 allowed).
void fill(const Arg& out, double value);                               // out:(any) strided, every dtype
void copy(const Arg& src, const Arg& dst);                             // dst:(S) <- src:(S), casts between every dtype
void unary(UnaryOp op, const Arg& x, const Arg& out);                  // x,out:(S); f32/f64 (i64: integer-meaningful ops)
void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out);  // a,b,out:(S); comparisons write bool
void scale(const Arg& x, double s);                                    // x:(S) *= s, in place; f32/f64

// gemm.cpp: c:(B,M,N) = alpha * a:(B,M,K) @ b:(B,K,N) + beta * c, cuBLAS, f32/f64.
void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta);

}  // namespace cherry::cuda
