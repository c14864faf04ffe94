// Max and average 2-D pooling on contiguous NCHW, one thread per output (forward) or per input
// pixel (backward). The backward kernels gather: each input pixel visits the windows that contain
// it in output order and sums what they send it, as the CPU's serial scatter does, so results
// carry the CPU's bits and need no atomics.
#include <cstdint>

#include "backends/cuda/common.cuh"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

struct PoolGeom {
  int64_t planes, H, W, OH, OW;
  int64_t kh, kw, sh, sw, ph, pw;
  bool include_pad;
};

PoolGeom pool_geometry(const char* op, const Arg& x, const Arg& y, const Pool2dParams& p) {
  CHERRY_CHECK(x.dim() == 4 && y.dim() == 4 && x.shape[0] == y.shape[0] && x.shape[1] == y.shape[1], op, "shapes ", shape_str(x.shape),
               " and ", shape_str(y.shape), " do not pair as (N,C,H,W) -> (N,C,OH,OW)");
  CHERRY_CHECK(x.is_contiguous() && y.is_contiguous(), op, "operands must be contiguous");
  return {x.shape[0] * x.shape[1], x.shape[2], x.shape[3], y.shape[2], y.shape[3], p.kernel[0], p.kernel[1], p.stride[0], p.stride[1],
          p.padding[0], p.padding[1], p.count_include_pad};
}

// The first and last window index (along one axis) whose full window [o*s - pad, o*s - pad + k)
// holds input position i; empty when lo > hi.
__device__ __forceinline__ void windows_holding(int64_t i, int64_t k, int64_t s, int64_t pad, int64_t n_out, int64_t& lo, int64_t& hi) {
  const int64_t first = i + pad - k + 1;  // o*s >= first
  lo = first <= 0 ? 0 : (first + s - 1) / s;
  hi = (i + pad) / s;
  if (hi > n_out - 1) hi = n_out - 1;
}

__device__ __forceinline__ int64_t avg_divisor(int64_t h0, int64_t w0, const PoolGeom& g) {
  const auto mn = [](int64_t a, int64_t b) { return a < b ? a : b; };
  const auto mx = [](int64_t a, int64_t b) { return a > b ? a : b; };
  if (g.include_pad) return (mn(h0 + g.kh, g.H + g.ph) - h0) * (mn(w0 + g.kw, g.W + g.pw) - w0);
  return (mn(h0 + g.kh, g.H) - mx(h0, 0)) * (mn(w0 + g.kw, g.W) - mx(w0, 0));
}

// x:(planes,H,W) -> y, indices:(planes,OH,OW); the first maximum in (h, w) order, as the CPU.
template <class T>
__global__ void __launch_bounds__(kBlock) max_pool_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ indices,
                                                         PoolGeom g) {
  const int64_t total = g.planes * g.OH * g.OW;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const T* in = x + pl * g.H * g.W;
    const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const int64_t h1 = h0 + g.kh < g.H ? h0 + g.kh : g.H, w1 = w0 + g.kw < g.W ? w0 + g.kw : g.W;
    T best = -infinity<T>();
    int64_t bi = -1;
    for (int64_t h = h0 > 0 ? h0 : 0; h < h1; ++h)
      for (int64_t v = w0 > 0 ? w0 : 0; v < w1; ++v)
        if (bi < 0 || in[h * g.W + v] > best) best = in[h * g.W + v], bi = h * g.W + v;
    y[i] = best;
    indices[i] = bi;
  }
}

// gx:(planes,H,W) = sum of gy over the outputs whose index names the pixel.
template <class T>
__global__ void __launch_bounds__(kBlock) max_pool_backward_kernel(const T* __restrict__ gy, const int64_t* __restrict__ indices,
                                                                  T* __restrict__ gx, PoolGeom g) {
  const int64_t total = g.planes * g.H * g.W;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H), self = h * g.W + w;
    int64_t oh0, oh1, ow0, ow1;
    windows_holding(h, g.kh, g.sh, g.ph, g.OH, oh0, oh1);
    windows_holding(w, g.kw, g.sw, g.pw, g.OW, ow0, ow1);
    const int64_t base = pl * g.OH * g.OW;
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow)
        if (indices[base + oh * g.OW + ow] == self) acc += gy[base + oh * g.OW + ow];
    gx[i] = acc;
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) avg_pool_kernel(const T* __restrict__ x, T* __restrict__ y, PoolGeom g) {
  const int64_t total = g.planes * g.OH * g.OW;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t ow = i % g.OW, oh = (i / g.OW) % g.OH, pl = i / (g.OW * g.OH);
    const T* in = x + pl * g.H * g.W;
    const int64_t h0 = oh * g.sh - g.ph, w0 = ow * g.sw - g.pw;
    const int64_t h1 = h0 + g.kh < g.H ? h0 + g.kh : g.H, w1 = w0 + g.kw < g.W ? w0 + g.kw : g.W;
    T s = T(0);
    for (int64_t h = h0 > 0 ? h0 : 0; h < h1; ++h)
      for (int64_t v = w0 > 0 ? w0 : 0; v < w1; ++v) s += in[h * g.W + v];
    y[i] = s / T(avg_divisor(h0, w0, g));
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) avg_pool_backward_kernel(const T* __restrict__ gy, T* __restrict__ gx, PoolGeom g) {
  const int64_t total = g.planes * g.H * g.W;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t w = i % g.W, h = (i / g.W) % g.H, pl = i / (g.W * g.H);
    int64_t oh0, oh1, ow0, ow1;
    windows_holding(h, g.kh, g.sh, g.ph, g.OH, oh0, oh1);
    windows_holding(w, g.kw, g.sw, g.pw, g.OW, ow0, ow1);
    const int64_t base = pl * g.OH * g.OW;
    T acc = T(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow)
        acc += gy[base + oh * g.OW + ow] / T(avg_divisor(oh * g.sh - g.ph, ow * g.sw - g.pw, g));
    gx[i] = acc;
  }
}

}  // namespace

// x:(N,C,H,W) -> y, indices:(N,C,OH,OW); index = h*W + w within the plane.
void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& indices, const Pool2dParams& p) {
  const PoolGeom g = pool_geometry("max_pool2d", x, y, p);
  CHERRY_CHECK(indices.dtype == DType::i64 && indices.is_contiguous() && indices.shape == y.shape, "max_pool2d",
               "indices must be contiguous i64 of the output's shape");
  if (y.numel() == 0) return;
  dispatch_floating(x.dtype, "max_pool2d", [&]<class T>() {
    max_pool_kernel<T><<<blocks_for(y.numel()), kBlock, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), indices.ptr<int64_t>(), g);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

void max_pool2d_backward(const Arg& gy, const Arg& indices, const Arg& gx, const Pool2dParams& p) {
  const PoolGeom g = pool_geometry("max_pool2d_backward", gx, gy, p);
  CHERRY_CHECK(indices.dtype == DType::i64 && indices.is_contiguous() && indices.shape == gy.shape, "max_pool2d_backward",
               "indices must be contiguous i64 of the output's shape");
  if (gx.numel() == 0) return;
  dispatch_floating(gy.dtype, "max_pool2d_backward", [&]<class T>() {
    max_pool_backward_kernel<T><<<blocks_for(gx.numel()), kBlock, 0, stream()>>>(gy.ptr<T>(), indices.ptr<int64_t>(), gx.ptr<T>(), g);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p) {
  const PoolGeom g = pool_geometry("avg_pool2d", x, y, p);
  if (y.numel() == 0) return;
  dispatch_floating(x.dtype, "avg_pool2d", [&]<class T>() {
    avg_pool_kernel<T><<<blocks_for(y.numel()), kBlock, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), g);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p) {
  const PoolGeom g = pool_geometry("avg_pool2d_backward", gx, gy, p);
  if (gx.numel() == 0) return;
  dispatch_floating(gy.dtype, "avg_pool2d_backward", [&]<class T>() {
    avg_pool_backward_kernel<T><<<blocks_for(gx.numel()), kBlock, 0, stream()>>>(gy.ptr<T>(), gx.ptr<T>(), g);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace cherry::cuda
