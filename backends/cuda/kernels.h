// The CUDA kernels' entry points, as the backend class sees them: free functions over Args (raw
// device pointers + shapes/strides in elements), mirroring backends/cpu/cpu_backend.h. Each host
// function validates what it needs, then launches on stream(). Internal to backends/cuda/.
#pragma once
#include <cublas_v2.h>
#include <cuda_runtime.h>

#include "backends/backend.h"

namespace cherry::cuda {

// The current device's stream (created on first use, non-blocking): every kernel, cuBLAS call and
// copy of the backend goes to it, so they run in the order they were issued. The host waits on it
// only where it must (copy_to_host, copy_from_host, synchronize, freeing raw memory).
cudaStream_t stream();
// The current device's cuBLAS handle, created on first use, bound to stream() (cuda_backend.cpp).
cublasHandle_t cublas_handle();

// elementwise.cu. Inputs are strided views already broadcast to out's shape (stride 0 allowed).
void fill(const Arg& out, double value);                               // out:(any) strided, every dtype
void copy(const Arg& src, const Arg& dst);                             // dst:(S) <- src:(S), casts between every dtype
void unary(UnaryOp op, const Arg& x, const Arg& out);                  // x,out:(S); f32/f64 (i64: integer-meaningful ops)
void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out);  // a,b,out:(S); comparisons write bool
void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out);  // cond bool/u8; a,b,out:(S) same dtype
void scale(const Arg& x, double s);                                    // x:(S) *= s, in place; f32/f64

// gemm.cpp: c:(B,M,N) = alpha * a:(B,M,K) @ b:(B,K,N) + beta * c, cuBLAS, f32/f64.
void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta);
// Row-major strided-batched GEMM on raw pointers, for the kernels that build their own operands:
// C[i]:(M,N) = alpha * op(A[i]) @ op(B[i]) + beta * C[i], i < batch, X[i] = X + i*sX (sX may be 0).
// A[i] is (M,K) with row stride lda, or (K,M) when ta; B[i] is (K,N) with row stride ldb, or (N,K) when tb.
template <class T>
void gemm_rm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, int64_t sA, const T* B, int64_t ldb,
             int64_t sB, T beta, T* C, int64_t ldc, int64_t sC, int64_t batch);

// reduce.cu
void reduce(ReduceOp op, const Arg& x, const Arg& out);  // out: x's rank, size 1 on reduced dims; strided
void argmax(const Arg& x, const Arg& out);               // x:(M,N) contiguous -> out:(M) i64
void topk(const Arg& x, int64_t k, bool largest, const Arg& values, const Arg& indices);  // x:(M,N) -> (M,k)
void softmax(const Arg& x, bool log, const Arg& y);                                       // x,y:(M,N) contiguous
void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx);               // all (M,N) contiguous

// conv.cu: NCHW / OIHW, contiguous; im2col + cuBLAS.
void conv2d_forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p);
void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias, const Conv2dParams& p);

// pool.cu: NCHW contiguous.
void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& indices, const Pool2dParams& p);
void max_pool2d_backward(const Arg& gy, const Arg& indices, const Arg& gx, const Pool2dParams& p);
void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p);
void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p);

// norm.cu
void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean, const Arg& running_var, bool training,
                        double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd);
void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd, const Arg& gx, const Arg& gw,
                         const Arg& gb);
void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y, const Arg& mean, const Arg& rstd);
void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd, const Arg& gx, const Arg& gw,
                         const Arg& gb);

// index.cu: contiguous operands, i64 indices (bad ones are reported at the next synchronisation).
void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out);
void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src);
void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out);
void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src);

// optim.cu
void sgd_step(const Arg& p, const Arg& g, const Arg& momentum_buffer, const SgdStep& s);
void adamw_step(const Arg& p, const Arg& g, const Arg& exp_avg, const Arg& exp_avg_sq, const AdamWStep& s);

}  // namespace cherry::cuda
