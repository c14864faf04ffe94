// Max and average 2-D pooling on contiguous NCHW, parallel over (N*C) planes.
#include <algorithm>
#include <cstring>
#include <limits>

#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

// x:(N,C,H,W) -> y, indices:(N,C,OH,OW); index = h*W + w within the plane.
void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& indices, const Pool2dParams& p) {
  dispatch_floating_bf16(x.dtype, "max_pool2d", [&]<class T>() {
    using C = compute_t<T>;  // bf16: sums and comparisons in float
    const int64_t planes = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3], OH = y.shape[2], OW = y.shape[3];
#pragma omp parallel for if (x.numel() >= 16384)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* in = x.ptr<T>() + pl * H * W;
      T* out = y.ptr<T>() + pl * OH * OW;
      int64_t* idx = indices.ptr<int64_t>() + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = oh * p.stride[0] - p.padding[0], h1 = std::min(h0 + p.kernel[0], H);
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = ow * p.stride[1] - p.padding[1], w1 = std::min(w0 + p.kernel[1], W);
          C best = -std::numeric_limits<C>::infinity();
          int64_t bi = -1;
          for (int64_t h = std::max<int64_t>(h0, 0); h < h1; ++h)
            for (int64_t v = std::max<int64_t>(w0, 0); v < w1; ++v)
              if (bi < 0 || C(in[h * W + v]) > best) best = in[h * W + v], bi = h * W + v;
          out[oh * OW + ow] = T(best);
          idx[oh * OW + ow] = bi;
        }
      }
    }
  });
}

void max_pool2d_backward(const Arg& gy, const Arg& indices, const Arg& gx, const Pool2dParams&) {
  dispatch_floating_bf16(gy.dtype, "max_pool2d_backward", [&]<class T>() {
    using C = compute_t<T>;  // bf16: sums and comparisons in float
    const int64_t planes = gx.shape[0] * gx.shape[1], HW = gx.shape[2] * gx.shape[3], OHW = gy.shape[2] * gy.shape[3];
#pragma omp parallel for if (gx.numel() >= 16384)
    for (int64_t pl = 0; pl < planes; ++pl) {
      T* g = gx.ptr<T>() + pl * HW;
      std::fill(g, g + HW, T(0));
      const T* go = gy.ptr<T>() + pl * OHW;
      const int64_t* idx = indices.ptr<int64_t>() + pl * OHW;
      for (int64_t i = 0; i < OHW; ++i) g[idx[i]] = T(C(g[idx[i]]) + C(go[i]));
    }
  });
}

namespace {
int64_t avg_divisor(int64_t h0, int64_t w0, int64_t H, int64_t W, const Pool2dParams& p) {
  if (p.count_include_pad)
    return (std::min(h0 + p.kernel[0], H + p.padding[0]) - h0) * (std::min(w0 + p.kernel[1], W + p.padding[1]) - w0);
  return (std::min(h0 + p.kernel[0], H) - std::max<int64_t>(h0, 0)) * (std::min(w0 + p.kernel[1], W) - std::max<int64_t>(w0, 0));
}
}  // namespace

void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p) {
  dispatch_floating_bf16(x.dtype, "avg_pool2d", [&]<class T>() {
    using C = compute_t<T>;  // bf16: sums and comparisons in float
    const int64_t planes = x.shape[0] * x.shape[1], H = x.shape[2], W = x.shape[3], OH = y.shape[2], OW = y.shape[3];
#pragma omp parallel for if (x.numel() >= 16384)
    for (int64_t pl = 0; pl < planes; ++pl) {
      const T* in = x.ptr<T>() + pl * H * W;
      T* out = y.ptr<T>() + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = oh * p.stride[0] - p.padding[0];
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = ow * p.stride[1] - p.padding[1];
          C s = 0;
          for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + p.kernel[0], H); ++h)
            for (int64_t v = std::max<int64_t>(w0, 0); v < std::min(w0 + p.kernel[1], W); ++v) s += C(in[h * W + v]);
          out[oh * OW + ow] = T(s / C(avg_divisor(h0, w0, H, W, p)));
        }
      }
    }
  });
}

void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p) {
  dispatch_floating_bf16(gy.dtype, "avg_pool2d_backward", [&]<class T>() {
    using C = compute_t<T>;  // bf16: sums and comparisons in float
    const int64_t planes = gx.shape[0] * gx.shape[1], H = gx.shape[2], W = gx.shape[3], OH = gy.shape[2], OW = gy.shape[3];
#pragma omp parallel for if (gx.numel() >= 16384)
    for (int64_t pl = 0; pl < planes; ++pl) {
      T* g = gx.ptr<T>() + pl * H * W;
      std::fill(g, g + H * W, T(0));
      const T* go = gy.ptr<T>() + pl * OH * OW;
      for (int64_t oh = 0; oh < OH; ++oh) {
        const int64_t h0 = oh * p.stride[0] - p.padding[0];
        for (int64_t ow = 0; ow < OW; ++ow) {
          const int64_t w0 = ow * p.stride[1] - p.padding[1];
          const C v = C(go[oh * OW + ow]) / C(avg_divisor(h0, w0, H, W, p));
          for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + p.kernel[0], H); ++h)
            for (int64_t q = std::max<int64_t>(w0, 0); q < std::min(w0 + p.kernel[1], W); ++q) g[h * W + q] = T(C(g[h * W + q]) + v);
        }
      }
    }
  });
}

}  // namespace cherry::cpu
