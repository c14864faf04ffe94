// The CPU backend: OpenBLAS for GEMM, oneDNN for f32 convolution, own OpenMP loops for the rest.
// Kernels are free functions over Args (raw pointers + sizes); the class only routes to them.
#pragma once
#include "backends/backend.h"

namespace cherry {
Backend& cpu_backend();
// Checks at start-up that the OpenMP build of OpenBLAS is the one loaded (one thread pool).
// Returns a human-readable description, e.g. "OpenBLAS 0.3.21 (OpenMP, 2 threads)".
std::string blas_info();
bool blas_uses_openmp();
}  // namespace cherry

namespace cherry::cpu {
void fill(const Arg& out, double value);
void copy(const Arg& src, const Arg& dst);
void unary(UnaryOp op, const Arg& x, const Arg& out);
void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out);
void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out);
void reduce(ReduceOp op, const Arg& x, const Arg& out);
void argmax(const Arg& x, const Arg& out);
void topk(const Arg& x, int64_t k, bool largest, const Arg& values, const Arg& indices);
void softmax(const Arg& x, bool log, const Arg& y);
void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx);
void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta);
void conv2d_forward_im2col(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p);
void conv2d_backward_im2col(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                            const Conv2dParams& p);
void conv2d_forward_onednn(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p);
void conv2d_backward_onednn(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                            const Conv2dParams& p);
void mixed_conv2d_forward_onednn(const Arg& x, const Arg& mix, const Arg& factors, const Arg& y, const Conv2dParams& p);
void mixed_conv2d_backward_onednn(const Arg& gy, const Arg& x, const Arg& mix, const Arg& factors, const Arg& gx,
                                  const Arg& gmix, const Arg& gfactors, const Conv2dParams& p);
void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& indices, const Pool2dParams& p);
void max_pool2d_backward(const Arg& gy, const Arg& indices, const Arg& gx);
void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p);
void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p);
void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean, const Arg& running_var,
                        bool training, double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd);
void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd,
                         const Arg& gx, const Arg& gw, const Arg& gb);
void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y, const Arg& mean, const Arg& rstd);
void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd,
                         const Arg& gx, const Arg& gw, const Arg& gb);
void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out);
void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src);
void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out);
void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src);
void sgd_step(const Arg& p, const Arg& g, const Arg& momentum_buffer, const SgdStep& s);
void adamw_step(const Arg& p, const Arg& g, const Arg& exp_avg, const Arg& exp_avg_sq, const AdamWStep& s);
}  // namespace cherry::cpu
