// The CPU backend: OpenBLAS for f32/f64 GEMM, oneDNN for f32/bf16 convolution and bf16 GEMM, own
// OpenMP loops for the rest.
// Kernels are free functions over Args (raw pointers + sizes); the backend class only routes to them.
#pragma once
#include "backends/backend.h"
#include "backends/custom_kernel.h"

namespace cherry {
Backend& cpu_backend();
}  // namespace cherry

namespace cherry::cpu {
// One kernel per op-table entry (backends/ops.def), defined in the file of its family.
#define CHERRY_KERNEL(name, params, args) void name params;
#include "backends/ops.def"

// The two convolution paths conv2d_forward/backward choose between (conv_onednn.cpp): oneDNN for
// f32, im2col + GEMM for the rest (f64 gradient checks); and the fused DY-Conv kernel.
void conv2d_forward_im2col(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p);
void conv2d_backward_im2col(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                            const Conv2dParams& p);
MixedConv2dKernel& mixed_conv2d_onednn();
// matmul with bf16 operands (matmul_onednn.cpp); matmul routes there.
void matmul_bf16(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta);
}  // namespace cherry::cpu
