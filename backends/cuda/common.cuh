// Building blocks shared by the CUDA kernel files (.cu only): launch sizes, grid-stride loops,
// deterministic warp/block reductions (fixed shuffle trees, so the same inputs give the same bits),
// explicitly rounded arithmetic (no implicit FMA contraction where the CPU rounds twice), scratch
// and the device side of the bad-index report (device_state.h has the host side).
#pragma once
#include <cuda_runtime.h>
#include <math_constants.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/device_state.h"
#include "backends/cuda/kernels.h"

namespace cherry::cuda {

constexpr int kBlock = 256;
constexpr int64_t kMaxGrid = int64_t(1) << 16;  // grid-stride loops cover the rest

// Blocks for n items at `per_block` items per block, at least 1, capped for grid-stride loops.
inline unsigned blocks_for(int64_t n, int64_t per_block = kBlock, int64_t cap = kMaxGrid) {
  return unsigned(std::clamp<int64_t>((n + per_block - 1) / per_block, 1, cap));
}

// Kernels may index with uint32_t when `total` (plus one grid-stride step) fits, else int64_t:
// 64-bit division costs several times more on the GPU.
inline bool fits32(int64_t total) { return total <= int64_t(std::numeric_limits<uint32_t>::max()) - kMaxGrid * kBlock; }

__device__ __forceinline__ int64_t global_thread() { return int64_t(blockIdx.x) * blockDim.x + threadIdx.x; }
__device__ __forceinline__ int64_t grid_threads() { return int64_t(gridDim.x) * blockDim.x; }

template <class T>
__device__ __forceinline__ T infinity();
template <>
__device__ __forceinline__ float infinity<float>() {
  return CUDART_INF_F;
}
template <>
__device__ __forceinline__ double infinity<double>() {
  return CUDART_INF;
}

// ---- Rounded arithmetic: each call rounds once, as the CPU code (built with -ffp-contract=off) does.
__device__ __forceinline__ float mul_rn(float a, float b) { return __fmul_rn(a, b); }
__device__ __forceinline__ double mul_rn(double a, double b) { return __dmul_rn(a, b); }
__device__ __forceinline__ float add_rn(float a, float b) { return __fadd_rn(a, b); }
__device__ __forceinline__ double add_rn(double a, double b) { return __dadd_rn(a, b); }
__device__ __forceinline__ float sub_rn(float a, float b) { return __fsub_rn(a, b); }
__device__ __forceinline__ double sub_rn(double a, double b) { return __dsub_rn(a, b); }
__device__ __forceinline__ float div_rn(float a, float b) { return __fdiv_rn(a, b); }
__device__ __forceinline__ double div_rn(double a, double b) { return __ddiv_rn(a, b); }
__device__ __forceinline__ float sqrt_rn(float a) { return __fsqrt_rn(a); }
__device__ __forceinline__ double sqrt_rn(double a) { return __dsqrt_rn(a); }
__device__ __forceinline__ float fma_rn(float a, float b, float c) { return __fmaf_rn(a, b, c); }
__device__ __forceinline__ double fma_rn(double a, double b, double c) { return __fma_rn(a, b, c); }

// ---- Reductions. Every lane/thread ends with the same result; the combination order is fixed.
template <class T, class Op>
__device__ __forceinline__ T warp_reduce(T v, Op op) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = op(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// blockDim.x must be a multiple of 32 (at most 1024); every thread of the block must call it.
// shared: at least 33 slots. Returns the block's result to every thread.
template <class T, class Op>
__device__ __forceinline__ T block_reduce(T v, Op op, T* shared) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  v = warp_reduce(v, op);
  __syncthreads();  // the previous call's readers are done with shared
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  if (threadIdx.x == 0) {
    T r = shared[0];
    for (int i = 1; i < warps; ++i) r = op(r, shared[i]);
    shared[32] = r;
  }
  __syncthreads();
  return shared[32];
}

struct SumOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a + b; }
};
// max/min that skip NaN like the CPU's std::max(acc, v) / std::min(acc, v) with acc never NaN.
struct MaxOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return a < b ? b : a; }
};
struct MinOp {
  template <class T>
  __device__ __forceinline__ T operator()(T a, T b) const { return b < a ? b : a; }
};

// ---- A kernel records a bad index in the device-error slot (device_state.h) and skips the element.
__device__ __forceinline__ void report_bad_index(DeviceErrorSlot* slot, DeviceError code, int64_t index, int64_t size) {
  if (atomicCAS(&slot->code, 0, int(code)) == 0) {
    slot->index = index;
    slot->size = size;
    __threadfence_system();
  }
}

}  // namespace cherry::cuda
