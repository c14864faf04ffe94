// Batch norm and layer norm, forward and backward, on contiguous inputs. Statistics accumulate in
// double like the CPU's, through fixed splits and fixed reduction trees (same bits every run).
// Batch norm per channel: partial sums over (N, S) chunks, a per-channel finish (mean, invstd,
// running stats, the affine scale/shift), then one elementwise pass. Layer norm: one warp (or
// block, for long rows) per row; the weight/bias gradients are column sums over row chunks.
#include <cmath>
#include <cstdint>

#include "backends/cuda/common.cuh"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

// ============================ batch norm ============================

struct BnGeom {
  int64_t N, C, S, count, splits, chunk;  // per channel: count = N*S elements in `splits` chunks
};

BnGeom bn_geometry(const char* op, const Arg& x) {
  CHERRY_CHECK(x.dim() >= 2 && x.is_contiguous(), op, "x must be contiguous (N,C,...), got shape ", shape_str(x.shape));
  BnGeom g{x.shape[0], x.shape[1], 0, 0, 1, 0};
  g.S = g.N * g.C != 0 ? x.numel() / (g.N * g.C) : 0;
  g.count = g.N * g.S;
  // >= 16K elements per block, at most ~2K blocks in all.
  g.splits = std::clamp<int64_t>(g.count / 16384, 1, std::max<int64_t>(1, 2048 / std::max<int64_t>(g.C, 1)));
  g.chunk = std::max<int64_t>((g.count + g.splits - 1) / g.splits, 1);
  g.splits = std::max<int64_t>((g.count + g.chunk - 1) / g.chunk, 1);
  return g;
}

// Element j of channel c (j < N*S) sits at (n*C + c)*S + i with n = j / S, i = j % S.
__device__ __forceinline__ int64_t bn_offset(const BnGeom& g, int64_t c, int64_t j) { return ((j / g.S) * g.C + c) * g.S + j % g.S; }

// Sum over split s of the channel's partials, in split order (each block of a channel gets the same).
__device__ __forceinline__ double sum_splits(const double* partial, int64_t c, int64_t splits) {
  double s = 0.0;
  for (int64_t k = 0; k < splits; ++k) s += partial[c * splits + k];
  return s;
}

// Block (c, s): partial[c*splits + s] = sum of x over chunk s of channel c. With `centered`, the
// sum of (x - mean)^2 instead, the mean taken from `sums` (the first pass's partials).
template <class T, bool Centered>
__global__ void __launch_bounds__(kBlock) bn_partial_kernel(const T* __restrict__ x, BnGeom g, const double* __restrict__ sums,
                                                            double* __restrict__ partial) {
  __shared__ double shared[33];
  const int64_t c = blockIdx.x, s = blockIdx.y;
  double mu = 0.0;
  if constexpr (Centered) mu = sum_splits(sums, c, g.splits) / double(g.count);
  const int64_t lo = s * g.chunk, hi = lo + g.chunk < g.count ? lo + g.chunk : g.count;
  double acc = 0.0;
  for (int64_t j = lo + threadIdx.x; j < hi; j += blockDim.x) {
    const double v = double(x[bn_offset(g, c, j)]);
    acc += Centered ? (v - mu) * (v - mu) : v;
  }
  acc = block_reduce(acc, SumOp(), shared);
  if (threadIdx.x == 0) partial[c * g.splits + s] = acc;
}

// Per channel: batch stats (training) or running stats (eval) -> scale/shift for the apply pass;
// training also writes mean/invstd and updates the running stats (unbiased variance).
template <class T>
__global__ void __launch_bounds__(kBlock) bn_finish_kernel(BnGeom g, const double* __restrict__ sums, const double* __restrict__ sq,
                                                           bool training, double momentum, double eps, const T* __restrict__ w,
                                                           const T* __restrict__ b, T* __restrict__ running_mean,
                                                           T* __restrict__ running_var, T* __restrict__ mean, T* __restrict__ invstd,
                                                           T* __restrict__ scale, T* __restrict__ shift) {
  for (int64_t c = global_thread(); c < g.C; c += grid_threads()) {
    double mu, var;
    if (training) {
      mu = sum_splits(sums, c, g.splits) / double(g.count);
      var = sum_splits(sq, c, g.splits) / double(g.count);
      mean[c] = T(mu);
      invstd[c] = T(1.0 / sqrt(var + eps));
      if (running_mean) {
        const double unbiased = var * double(g.count) / double(g.count > 1 ? g.count - 1 : 1);
        running_mean[c] = T((1 - momentum) * double(running_mean[c]) + momentum * mu);
        running_var[c] = T((1 - momentum) * double(running_var[c]) + momentum * unbiased);
      }
    } else {
      mu = double(running_mean[c]);
      var = double(running_var[c]);
    }
    const double is = 1.0 / sqrt(var + eps);
    const T sc = T(is * (w ? double(w[c]) : 1.0));
    scale[c] = sc;
    shift[c] = T((b ? double(b[c]) : 0.0) - mu * double(sc));
  }
}

// y = x*scale[c] + shift[c], rounded twice like the CPU's loop.
template <class T>
__global__ void __launch_bounds__(kBlock) bn_apply_kernel(const T* __restrict__ x, T* __restrict__ y, const T* __restrict__ scale,
                                                          const T* __restrict__ shift, int64_t C, int64_t S, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t c = (i / S) % C;
    y[i] = add_rn(mul_rn(x[i], scale[c]), shift[c]);
  }
}

// Block (c, s): partial sums of gy and of gy*(x - mean) over chunk s of channel c.
template <class T>
__global__ void __launch_bounds__(kBlock) bn_backward_partial_kernel(const T* __restrict__ gy, const T* __restrict__ x,
                                                                     const T* __restrict__ mean, BnGeom g, double* __restrict__ part_g,
                                                                     double* __restrict__ part_gx) {
  __shared__ double shared[33];
  const int64_t c = blockIdx.x, s = blockIdx.y;
  const double mu = double(mean[c]);
  const int64_t lo = s * g.chunk, hi = lo + g.chunk < g.count ? lo + g.chunk : g.count;
  double sg = 0.0, sgx = 0.0;
  for (int64_t j = lo + threadIdx.x; j < hi; j += blockDim.x) {
    const int64_t off = bn_offset(g, c, j);
    const double d = double(gy[off]);
    sg += d;
    sgx += d * (double(x[off]) - mu);
  }
  sg = block_reduce(sg, SumOp(), shared);
  sgx = block_reduce(sgx, SumOp(), shared);
  if (threadIdx.x == 0) part_g[c * g.splits + s] = sg, part_gx[c * g.splits + s] = sgx;
}

// Per channel: gx = a*gy + b1*x + b0 coefficients (the CPU's formula), gw, gb.
template <class T>
__global__ void __launch_bounds__(kBlock) bn_backward_finish_kernel(BnGeom g, const double* __restrict__ part_g,
                                                                    const double* __restrict__ part_gx, const T* __restrict__ w,
                                                                    const T* __restrict__ mean, const T* __restrict__ invstd,
                                                                    T* __restrict__ coef, T* __restrict__ gw, T* __restrict__ gb) {
  const double count = double(g.count);
  for (int64_t c = global_thread(); c < g.C; c += grid_threads()) {
    const double mu = double(mean[c]), is = double(invstd[c]);
    const double sum_g = sum_splits(part_g, c, g.splits), sum_gx = sum_splits(part_gx, c, g.splits);
    const double sum_gxhat = sum_gx * is;
    const double k = (w ? double(w[c]) : 1.0) * is;
    coef[3 * c] = T(k);
    coef[3 * c + 1] = T(-k / count * sum_g + k / count * mu * is * sum_gxhat);
    coef[3 * c + 2] = T(-k / count * is * sum_gxhat);
    if (gw) gw[c] = T(sum_gxhat);
    if (gb) gb[c] = T(sum_g);
  }
}

template <class T>
__global__ void __launch_bounds__(kBlock) bn_backward_apply_kernel(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ coef,
                                                                   T* __restrict__ gx, int64_t C, int64_t S, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t c = (i / S) % C;
    gx[i] = add_rn(add_rn(mul_rn(coef[3 * c], gy[i]), mul_rn(coef[3 * c + 2], x[i])), coef[3 * c + 1]);
  }
}

template <class T>
T* ptr_or_null(const Arg& a) {
  return a.data ? a.ptr<T>() : nullptr;
}

// ============================ layer norm ============================

constexpr int64_t kWarpRowMax = 1024;

template <int TPO>
__device__ __forceinline__ double group_sum(double v, double* shared) {
  if constexpr (TPO == 32)
    return warp_reduce(v, SumOp());
  else
    return block_reduce(v, SumOp(), shared);
}

// x, y:(M,N); w, b:(N) optional; mean, rstd:(M).
template <int TPO, class T>
__global__ void __launch_bounds__(kBlock) ln_forward_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                                                            double eps, T* __restrict__ y, T* __restrict__ mean, T* __restrict__ rstd,
                                                            int64_t M, int64_t N) {
  __shared__ double shared[33];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  for (int64_t m0 = int64_t(blockIdx.x) * kGroups; m0 < M; m0 += int64_t(gridDim.x) * kGroups) {
    const int64_t m = m0 + group;
    const bool live = m < M;
    const T* r = x + (live ? m : 0) * N;
    double s = 0.0;
    if (live)
      for (int64_t n = lane; n < N; n += TPO) s += double(r[n]);
    const double mu = group_sum<TPO>(s, shared) / double(N);
    double ss = 0.0;
    if (live)
      for (int64_t n = lane; n < N; n += TPO) ss += (double(r[n]) - mu) * (double(r[n]) - mu);
    const double rs = 1.0 / sqrt(group_sum<TPO>(ss, shared) / double(N) + eps);
    if (!live) continue;
    if (lane == 0) mean[m] = T(mu), rstd[m] = T(rs);
    const T tmu = T(mu), trs = T(rs);
    T* o = y + m * N;
    for (int64_t n = lane; n < N; n += TPO) {
      T v = mul_rn(sub_rn(r[n], tmu), trs);
      if (w) v = mul_rn(v, w[n]);
      if (b) v = add_rn(v, b[n]);
      o[n] = v;
    }
  }
}

// gx = rstd * (gy*w - mean(gy*w) - xhat * mean(gy*w*xhat)), in double per row.
template <int TPO, class T>
__global__ void __launch_bounds__(kBlock) ln_backward_kernel(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ w,
                                                             const T* __restrict__ mean, const T* __restrict__ rstd, T* __restrict__ gx,
                                                             int64_t M, int64_t N) {
  __shared__ double shared[33];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  for (int64_t m0 = int64_t(blockIdx.x) * kGroups; m0 < M; m0 += int64_t(gridDim.x) * kGroups) {
    const int64_t m = m0 + group;
    const bool live = m < M;
    const int64_t row = (live ? m : 0) * N;
    const double mu = double(mean[live ? m : 0]), rs = double(rstd[live ? m : 0]);
    double a = 0.0, bs = 0.0;
    if (live)
      for (int64_t n = lane; n < N; n += TPO) {
        const double xhat = (double(x[row + n]) - mu) * rs, gwn = double(gy[row + n]) * (w ? double(w[n]) : 1.0);
        a += gwn;
        bs += gwn * xhat;
      }
    a = group_sum<TPO>(a, shared) / double(N);
    bs = group_sum<TPO>(bs, shared) / double(N);
    if (!live) continue;
    for (int64_t n = lane; n < N; n += TPO) {
      const double xhat = (double(x[row + n]) - mu) * rs, gwn = double(gy[row + n]) * (w ? double(w[n]) : 1.0);
      gx[row + n] = T(rs * (gwn - a - xhat * bs));
    }
  }
}

// Block (column tile, split s): partial[s*N + n] = sum over the split's rows of gy*xhat (gw) and gy (gb).
template <class T>
__global__ void __launch_bounds__(kBlock) ln_param_partial_kernel(const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ mean,
                                                                  const T* __restrict__ rstd, int64_t M, int64_t N, int64_t rows_per_split,
                                                                  double* __restrict__ part_w, double* __restrict__ part_b) {
  const int64_t n = int64_t(blockIdx.x) * blockDim.x + threadIdx.x, s = blockIdx.y;
  if (n >= N) return;
  const int64_t lo = s * rows_per_split, hi = lo + rows_per_split < M ? lo + rows_per_split : M;
  double sw = 0.0, sb = 0.0;
  for (int64_t m = lo; m < hi; ++m) {
    const double g = double(gy[m * N + n]);
    sb += g;
    if (part_w) sw += g * ((double(x[m * N + n]) - double(mean[m])) * double(rstd[m]));
  }
  if (part_w) part_w[s * N + n] = sw;
  if (part_b) part_b[s * N + n] = sb;
}

template <class T>
__global__ void __launch_bounds__(kBlock) ln_param_finish_kernel(const double* __restrict__ part_w, const double* __restrict__ part_b,
                                                                 int64_t N, int64_t splits, T* __restrict__ gw, T* __restrict__ gb) {
  for (int64_t n = global_thread(); n < N; n += grid_threads()) {
    double sw = 0.0, sb = 0.0;
    for (int64_t s = 0; s < splits; ++s) {
      if (gw) sw += part_w[s * N + n];
      if (gb) sb += part_b[s * N + n];
    }
    if (gw) gw[n] = T(sw);
    if (gb) gb[n] = T(sb);
  }
}

void check_matrix(const char* op, const Arg& a, const char* what) {
  CHERRY_CHECK(a.dim() == 2 && a.is_contiguous(), op, what, " must be a contiguous (M,N) matrix, got ", shape_str(a.shape));
}

}  // namespace

// x, y:(N,C,S...) contiguous; w, b, running stats, mean, invstd:(C).
void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean, const Arg& running_var, bool training,
                        double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd) {
  const BnGeom g = bn_geometry("batch_norm", x);
  CHERRY_CHECK(y.is_contiguous() && y.numel() == x.numel(), "batch_norm", "y must be contiguous like x");
  CHERRY_CHECK(training || (running_mean.data && running_var.data), "batch_norm", "evaluation mode needs running statistics");
  CHERRY_CHECK(!running_mean.data == !running_var.data, "batch_norm", "running mean and variance come together");
  if (g.C == 0) return;
  CHERRY_CHECK(!training || g.count > 0, "batch_norm", "training needs values per channel");
  dispatch_floating(x.dtype, "batch_norm", [&]<class T>() {
    Scratch sums(training ? size_t(2 * g.C * g.splits) * sizeof(double) : 0), affine(size_t(2 * g.C) * sizeof(T));
    double* psum = sums.as<double>();
    double* psq = training ? psum + g.C * g.splits : nullptr;
    T* scale = affine.as<T>();
    T* shift = scale + g.C;
    if (training) {
      const dim3 grid(unsigned(g.C), unsigned(g.splits));
      CHERRY_CHECK(g.C <= 0x7fffffff && g.splits <= 65535, "batch_norm", "too many channels: ", g.C);
      bn_partial_kernel<T, false><<<grid, kBlock, 0, stream()>>>(x.ptr<T>(), g, nullptr, psum);
      CHERRY_CUDA_CHECK_LAUNCH();
      bn_partial_kernel<T, true><<<grid, kBlock, 0, stream()>>>(x.ptr<T>(), g, psum, psq);
      CHERRY_CUDA_CHECK_LAUNCH();
    }
    bn_finish_kernel<T><<<blocks_for(g.C), kBlock, 0, stream()>>>(g, psum, psq, training, momentum, eps, ptr_or_null<T>(w),
                                                                  ptr_or_null<T>(b), ptr_or_null<T>(running_mean), ptr_or_null<T>(running_var),
                                                                  ptr_or_null<T>(mean), ptr_or_null<T>(invstd), scale, shift);
    CHERRY_CUDA_CHECK_LAUNCH();
    if (x.numel() == 0) return;
    bn_apply_kernel<T><<<blocks_for(x.numel()), kBlock, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), scale, shift, g.C, g.S, x.numel());
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// Training-mode backward: gx = w*invstd/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)); gw, gb optional.
void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd, const Arg& gx, const Arg& gw,
                         const Arg& gb) {
  const BnGeom g = bn_geometry("batch_norm_backward", x);
  CHERRY_CHECK(gy.is_contiguous() && gy.numel() == x.numel(), "batch_norm_backward", "gy must be contiguous like x");
  CHERRY_CHECK(!gx.data || (gx.is_contiguous() && gx.numel() == x.numel()), "batch_norm_backward", "gx must be contiguous like x");
  if (g.C == 0) return;
  dispatch_floating(x.dtype, "batch_norm_backward", [&]<class T>() {
    Scratch parts(size_t(2 * g.C * g.splits) * sizeof(double)), coefs(size_t(3 * g.C) * sizeof(T));
    double* part_g = parts.as<double>();
    double* part_gx = part_g + g.C * g.splits;
    CHERRY_CHECK(g.splits <= 65535, "batch_norm_backward", "too many splits");
    bn_backward_partial_kernel<T><<<dim3(unsigned(g.C), unsigned(g.splits)), kBlock, 0, stream()>>>(gy.ptr<T>(), x.ptr<T>(), mean.ptr<T>(), g,
                                                                                                 part_g, part_gx);
    CHERRY_CUDA_CHECK_LAUNCH();
    bn_backward_finish_kernel<T><<<blocks_for(g.C), kBlock, 0, stream()>>>(g, part_g, part_gx, ptr_or_null<T>(w), mean.ptr<T>(),
                                                                           invstd.ptr<T>(), coefs.as<T>(), ptr_or_null<T>(gw),
                                                                           ptr_or_null<T>(gb));
    CHERRY_CUDA_CHECK_LAUNCH();
    if (!gx.data || x.numel() == 0) return;
    bn_backward_apply_kernel<T><<<blocks_for(x.numel()), kBlock, 0, stream()>>>(gy.ptr<T>(), x.ptr<T>(), coefs.as<T>(), gx.ptr<T>(), g.C,
                                                                                g.S, x.numel());
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// x, y:(M,N); w, b:(N) optional; mean, rstd:(M).
void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y, const Arg& mean, const Arg& rstd) {
  check_matrix("layer_norm", x, "x");
  check_matrix("layer_norm", y, "y");
  const int64_t M = x.shape[0], N = x.shape[1];
  if (M == 0 || N == 0) return;
  dispatch_floating(x.dtype, "layer_norm", [&]<class T>() {
    if (N <= kWarpRowMax)
      ln_forward_kernel<32, T><<<blocks_for(M, kBlock / 32), kBlock, 0, stream()>>>(x.ptr<T>(), ptr_or_null<T>(w), ptr_or_null<T>(b), eps,
                                                                                    y.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), M, N);
    else
      ln_forward_kernel<kBlock, T><<<blocks_for(M, 1), kBlock, 0, stream()>>>(x.ptr<T>(), ptr_or_null<T>(w), ptr_or_null<T>(b), eps,
                                                                              y.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), M, N);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// gw = sum_m gy*xhat; gb = sum_m gy (each optional); gx always.
void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd, const Arg& gx, const Arg& gw,
                         const Arg& gb) {
  check_matrix("layer_norm_backward", x, "x");
  check_matrix("layer_norm_backward", gy, "gy");
  const int64_t M = x.shape[0], N = x.shape[1];
  if (N == 0) return;
  dispatch_floating(x.dtype, "layer_norm_backward", [&]<class T>() {
    if (gx.data && M > 0) {
      check_matrix("layer_norm_backward", gx, "gx");
      if (N <= kWarpRowMax)
        ln_backward_kernel<32, T><<<blocks_for(M, kBlock / 32), kBlock, 0, stream()>>>(gy.ptr<T>(), x.ptr<T>(), ptr_or_null<T>(w), mean.ptr<T>(),
                                                                                       rstd.ptr<T>(), gx.ptr<T>(), M, N);
      else
        ln_backward_kernel<kBlock, T><<<blocks_for(M, 1), kBlock, 0, stream()>>>(gy.ptr<T>(), x.ptr<T>(), ptr_or_null<T>(w), mean.ptr<T>(),
                                                                                 rstd.ptr<T>(), gx.ptr<T>(), M, N);
      CHERRY_CUDA_CHECK_LAUNCH();
    }
    if (!gw.data && !gb.data) return;
    // Row splits of >= 32 rows, at most 256: each thread sums its column over one split in order.
    const int64_t splits = std::clamp<int64_t>(M / 32, 1, 256), rows = std::max<int64_t>((M + splits - 1) / splits, 1);
    Scratch parts(size_t(2 * splits * N) * sizeof(double));
    double* part_w = gw.data ? parts.as<double>() : nullptr;
    double* part_b = gb.data ? parts.as<double>() + splits * N : nullptr;
    if (M > 0) {
      const dim3 grid(blocks_for(N, kBlock, int64_t(1) << 30), unsigned(splits));
      ln_param_partial_kernel<T><<<grid, kBlock, 0, stream()>>>(gy.ptr<T>(), x.ptr<T>(), mean.ptr<T>(), rstd.ptr<T>(), M, N, rows, part_w,
                                                                 part_b);
      CHERRY_CUDA_CHECK_LAUNCH();
    }
    ln_param_finish_kernel<T><<<blocks_for(N), kBlock, 0, stream()>>>(part_w, part_b, N, M > 0 ? splits : 0, ptr_or_null<T>(gw),
                                                                      ptr_or_null<T>(gb));
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace cherry::cuda
