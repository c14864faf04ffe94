// Batch norm and layer norm, forward and backward, on contiguous inputs. Statistics in double.
// Batch norm takes bf16 activations (x, y, gy, gx: type X) with f32 parameters and statistics
// (type T = compute_t<X>): its arithmetic is f32/double, only the stored activations are bf16.
#include <omp.h>

#include <cmath>
#include <tuple>
#include <utility>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

namespace {
template <class T> const T* opt(const Arg& a) { return a.data ? a.ptr<T>() : nullptr; }

// The per-channel arithmetic of both layouts. Training: channel c's batch mean and invstd are
// stored and the running stats updated (unbiased variance).
template <class T>
void store_batch_stats(int64_t c, double mu, double var, int64_t count, double momentum, double eps, const Arg& mean,
                       const Arg& invstd, const Arg& running_mean, const Arg& running_var) {
  mean.ptr<T>()[c] = T(mu);
  invstd.ptr<T>()[c] = T(1.0 / std::sqrt(var + eps));
  if (!running_mean.data) return;
  T& rm = running_mean.ptr<T>()[c];
  T& rv = running_var.ptr<T>()[c];
  rm = T((1 - momentum) * double(rm) + momentum * mu);
  rv = T((1 - momentum) * double(rv) + momentum * var * double(count) / double(count > 1 ? count - 1 : 1));
}

// y = x*scale + shift for channel c.
template <class T> std::pair<T, T> scale_shift(int64_t c, double mu, double var, double eps, const T* pw, const T* pb) {
  const T scale = T(1.0 / std::sqrt(var + eps) * (pw ? double(pw[c]) : 1.0));
  return {scale, T((pb ? double(pb[c]) : 0.0) - mu * double(scale))};
}

// Backward for channel c from sum(gy) and sum(gy*(x-mu)): gx = a*gy + b1*x + b0, i.e.
// gx = k*gy - k/M*sum_g - k/M*xhat*sum_gxhat with k = w*invstd, xhat = (x-mu)*invstd; writes gw, gb.
template <class T> struct GradCoeffs {
  T a, b0, b1;
};
template <class T>
GradCoeffs<T> grad_coeffs(int64_t c, double mu, double is, double sum_g, double sum_gx, double count, const T* pw, const Arg& gw,
                          const Arg& gb) {
  const double sum_gxhat = sum_gx * is, k = (pw ? double(pw[c]) : 1.0) * is;
  if (gw.data) gw.ptr<T>()[c] = T(sum_gxhat);
  if (gb.data) gb.ptr<T>()[c] = T(sum_g);
  return {T(k), T(-k / count * sum_g + k / count * mu * is * sum_gxhat), T(-k / count * is * sum_gxhat)};
}

// Channel blocks, x viewed as (N, C1, S, I) with channel c1*I + i: per-channel sums over (n, s),
// one row of S*I values per (n, c1). Threads split the rows and keep their own sums, added in
// thread order (deterministic for a thread count); C1 alone would leave threads idle (C1 = 1 at 16
// channels).
template <class Row> std::vector<double> blocked_channel_sums(const Arg& x, int nsums, Row&& row) {
  const int64_t N = x.shape[0], C1 = x.shape[1], I = x.shape[3], C = C1 * I;
  const int threads = x.numel() >= 16384 ? omp_get_max_threads() : 1;
  std::vector<double> part(size_t(threads * nsums * C), 0.0);
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t r = 0; r < N * C1; ++r) row(r, part.data() + size_t(omp_get_thread_num() * nsums * C) + (r % C1) * I);
  std::vector<double> sums(size_t(nsums * C), 0.0);
  for (int t = 0; t < threads; ++t)
    for (size_t i = 0; i < sums.size(); ++i) sums[i] += part[size_t(t) * sums.size() + i];
  return sums;
}

// y = x*scale[c] + shift[c] (or gx = a[c]*gy + b1[c]*x + b0[c]) over (N, C1, S, I) rows.
template <class F> void blocked_rows(const Arg& x, F&& f) {
  const int64_t N = x.shape[0], C1 = x.shape[1];
#pragma omp parallel for schedule(static) if (x.numel() >= 16384)
  for (int64_t r = 0; r < N * C1; ++r) f(r, (r % C1) * x.shape[3]);
}

// A channel-blocks Arg (logical (N, C, H, W)) as the blocked kernels index it: (N, C/16, H*W, 16).
Arg block_rows(const Arg& x) {
  Arg r = x;
  const int64_t N = x.shape[0], C = x.shape[1];
  r.shape = {N, C / kChannelBlock, x.numel() / std::max<int64_t>(N * C, 1), kChannelBlock};
  return r;
}

template <class X, class T = compute_t<X>>
void batch_norm_forward_blocked(const Arg& x, const T* pw, const T* pb, const Arg& running_mean, const Arg& running_var,
                                bool training, double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd) {
  const int64_t N = x.shape[0], C1 = x.shape[1], S = x.shape[2], I = x.shape[3], C = C1 * I, count = N * S;
  const X* px = x.ptr<X>();
  std::vector<double> mu(static_cast<size_t>(C)), var(static_cast<size_t>(C));
  if (training) {
    // One pass: sums of d and d^2 with d = x - k, k a value of the channel (sample 0, pixel 0).
    // About a shift near the mean, in double, E[d^2] - E[d]^2 does not cancel as E[x^2] - mu^2 can.
    std::vector<double> k(static_cast<size_t>(C));
    for (int64_t c = 0; c < C; ++c) k[c] = double(px[(c / I) * S * I + c % I]);
    std::vector<double> s = blocked_channel_sums(x, 2, [&](int64_t r, double* acc) {
      const double* kr = k.data() + (r % C1) * I;
      double* acc2 = acc + C;
      for (int64_t j = 0; j < S; ++j)
#pragma omp simd
        for (int64_t i = 0; i < I; ++i) {
          const double d = double(px[(r * S + j) * I + i]) - kr[i];
          acc[i] += d, acc2[i] += d * d;
        }
    });
    for (int64_t c = 0; c < C; ++c) {
      const double md = s[c] / double(count);
      mu[c] = k[c] + md;
      var[c] = std::max(0.0, s[C + c] / double(count) - md * md);
      store_batch_stats<T>(c, mu[c], var[c], count, momentum, eps, mean, invstd, running_mean, running_var);
    }
  } else {
    for (int64_t c = 0; c < C; ++c) mu[c] = double(running_mean.ptr<T>()[c]), var[c] = double(running_var.ptr<T>()[c]);
  }
  std::vector<T> scale(static_cast<size_t>(C)), shift(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) std::tie(scale[c], shift[c]) = scale_shift(c, mu[c], var[c], eps, pw, pb);
  blocked_rows(x, [&](int64_t r, int64_t c0) {
    const X* p = px + r * S * I;
    const T *sc = scale.data() + c0, *sh = shift.data() + c0;
    X* q = y.ptr<X>() + r * S * I;
    for (int64_t j = 0; j < S; ++j)
#pragma omp simd
      for (int64_t i = 0; i < I; ++i) store(q[j * I + i], T(p[j * I + i]) * sc[i] + sh[i]);
  });
}

template <class X, class T = compute_t<X>>
void batch_norm_backward_blocked(const Arg& gy, const Arg& x, const T* pw, const Arg& mean, const Arg& invstd, const Arg& gx,
                                 const Arg& gw, const Arg& gb) {
  const int64_t N = x.shape[0], C1 = x.shape[1], S = x.shape[2], I = x.shape[3], C = C1 * I;
  const double count = double(N * S);
  const X *px = x.ptr<X>(), *pg = gy.ptr<X>();
  const T* pm = mean.ptr<T>();
  // sums[c] = sum(gy), sums[C + c] = sum(gy * (x - mu)).
  std::vector<double> sums = blocked_channel_sums(x, 2, [&](int64_t r, double* acc) {
    const T* m = pm + (r % C1) * I;
    double* acc_gx = acc + C;
    for (int64_t j = 0; j < S; ++j)
#pragma omp simd
      for (int64_t i = 0; i < I; ++i) {
        const double g = double(pg[(r * S + j) * I + i]);
        acc[i] += g;
        acc_gx[i] += g * (double(px[(r * S + j) * I + i]) - double(m[i]));
      }
  });
  std::vector<T> a(static_cast<size_t>(C)), b0(static_cast<size_t>(C)), b1(static_cast<size_t>(C));
  for (int64_t c = 0; c < C; ++c) {
    const GradCoeffs<T> k = grad_coeffs(c, double(pm[c]), double(invstd.ptr<T>()[c]), sums[c], sums[C + c], count, pw, gw, gb);
    a[c] = k.a, b0[c] = k.b0, b1[c] = k.b1;
  }
  blocked_rows(x, [&](int64_t r, int64_t c0) {
    const X *p = px + r * S * I, *g = pg + r * S * I;
    const T *ak = a.data() + c0, *k0 = b0.data() + c0, *k1 = b1.data() + c0;
    X* o = gx.ptr<X>() + r * S * I;
    for (int64_t j = 0; j < S; ++j)
#pragma omp simd
      for (int64_t i = 0; i < I; ++i) store(o[j * I + i], ak[i] * T(g[j * I + i]) + k1[i] * T(p[j * I + i]) + k0[i]);
  });
}
}  // namespace

// x, y:(N,C,S,1) (S = H*W), or (N,C,H,W) in channel blocks (x.format); w, b, running stats, mean,
// invstd:(C).
void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean, const Arg& running_var,
                        bool training, double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd) {
  dispatch_floating_bf16(x.dtype, "batch_norm", [&]<class X>() {
    using T = compute_t<X>;
    if (x.blocked())
      return batch_norm_forward_blocked<X>(block_rows(x), opt<T>(w), opt<T>(b), running_mean, running_var, training, momentum, eps, y, mean, invstd);
    const int64_t N = x.shape[0], C = x.shape[1], S = x.numel() / (N * C), count = N * S;
    const X* px = x.ptr<X>();
    X* py = y.ptr<X>();
    const T *pw = opt<T>(w), *pb = opt<T>(b);
#pragma omp parallel for if (x.numel() >= 16384)
    for (int64_t c = 0; c < C; ++c) {
      double mu, var;
      if (training) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) {
          const X* p = px + (n * C + c) * S;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < S; ++i) s += double(p[i]);
        }
        mu = s / double(count);
        double ss = 0;
        for (int64_t n = 0; n < N; ++n) {
          const X* p = px + (n * C + c) * S;
#pragma omp simd reduction(+ : ss)
          for (int64_t i = 0; i < S; ++i) ss += (double(p[i]) - mu) * (double(p[i]) - mu);
        }
        var = ss / double(count);
        store_batch_stats<T>(c, mu, var, count, momentum, eps, mean, invstd, running_mean, running_var);
      } else {
        mu = double(running_mean.ptr<T>()[c]);
        var = double(running_var.ptr<T>()[c]);
      }
      // Plain copies, not structured bindings: clang 14 cannot capture those into OpenMP regions.
      const std::pair<T, T> ss = scale_shift(c, mu, var, eps, pw, pb);
      const T scale = ss.first, shift = ss.second;
      for (int64_t n = 0; n < N; ++n) {
        const X* p = px + (n * C + c) * S;
        X* q = py + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) store(q[i], T(p[i]) * scale + shift);
      }
    }
  });
}

// Training-mode backward: gx = w*invstd/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)).
void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd,
                         const Arg& gx, const Arg& gw, const Arg& gb) {
  dispatch_floating_bf16(x.dtype, "batch_norm_backward", [&]<class X>() {
    using T = compute_t<X>;
    if (x.blocked()) return batch_norm_backward_blocked<X>(gy, block_rows(x), opt<T>(w), mean, invstd, gx, gw, gb);
    const int64_t N = x.shape[0], C = x.shape[1], S = x.numel() / (N * C);
    const double count = double(N * S);
    const X *px = x.ptr<X>(), *pg = gy.ptr<X>();
    const T* pw = opt<T>(w);
#pragma omp parallel for if (x.numel() >= 16384)
    for (int64_t c = 0; c < C; ++c) {
      const double mu = mean.ptr<T>()[c], is = invstd.ptr<T>()[c];
      double sum_g = 0, sum_gx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const X* p = px + (n * C + c) * S;
        const X* g = pg + (n * C + c) * S;
#pragma omp simd reduction(+ : sum_g, sum_gx)
        for (int64_t i = 0; i < S; ++i) {
          sum_g += double(g[i]);
          sum_gx += double(g[i]) * (double(p[i]) - mu);
        }
      }
      const GradCoeffs<T> k = grad_coeffs(c, mu, is, sum_g, sum_gx, count, pw, gw, gb);
      const T a = k.a, b0 = k.b0, b1 = k.b1;
      for (int64_t n = 0; n < N; ++n) {
        const X* p = px + (n * C + c) * S;
        const X* g = pg + (n * C + c) * S;
        X* o = gx.ptr<X>() + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) store(o[i], a * T(g[i]) + b1 * T(p[i]) + b0);
      }
    }
  });
}

// x, y:(M,N); w, b:(N) optional; mean, rstd:(M).
void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y, const Arg& mean, const Arg& rstd) {
  dispatch_floating(x.dtype, "layer_norm", [&]<class T>() {
    const int64_t M = x.shape[0], N = x.shape[1];
    const T *pw = opt<T>(w), *pb = opt<T>(b);
#pragma omp parallel for if (M * N >= 16384)
    for (int64_t m = 0; m < M; ++m) {
      const T* r = x.ptr<T>() + m * N;
      T* o = y.ptr<T>() + m * N;
      double s = 0, ss = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t n = 0; n < N; ++n) s += double(r[n]);
      const double mu = s / double(N);
#pragma omp simd reduction(+ : ss)
      for (int64_t n = 0; n < N; ++n) ss += (double(r[n]) - mu) * (double(r[n]) - mu);
      const double rs = 1.0 / std::sqrt(ss / double(N) + eps);
      mean.ptr<T>()[m] = T(mu);
      rstd.ptr<T>()[m] = T(rs);
      const T tmu = T(mu), trs = T(rs);
      for (int64_t n = 0; n < N; ++n) {
        T v = (r[n] - tmu) * trs;
        if (pw) v *= pw[n];
        if (pb) v += pb[n];
        o[n] = v;
      }
    }
  });
}

// gx = rstd * (gy*w - mean(gy*w) - xhat * mean(gy*w*xhat)); gw = sum_m gy*xhat; gb = sum_m gy.
void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd,
                         const Arg& gx, const Arg& gw, const Arg& gb) {
  dispatch_floating(x.dtype, "layer_norm_backward", [&]<class T>() {
    const int64_t M = x.shape[0], N = x.shape[1];
    const T* pw = opt<T>(w);
    const int nt = omp_get_max_threads();
    std::vector<double> part_w(gw.data ? size_t(nt) * N : 0, 0.0), part_b(gb.data ? size_t(nt) * N : 0, 0.0);
#pragma omp parallel for if (M * N >= 16384)
    for (int64_t m = 0; m < M; ++m) {
      const int t = omp_get_thread_num();
      const T* r = x.ptr<T>() + m * N;
      const T* g = gy.ptr<T>() + m * N;
      T* o = gx.ptr<T>() + m * N;
      const double mu = mean.ptr<T>()[m], rs = rstd.ptr<T>()[m];
      double a = 0, bs = 0;
      for (int64_t n = 0; n < N; ++n) {
        const double xhat = (double(r[n]) - mu) * rs, gwn = double(g[n]) * (pw ? double(pw[n]) : 1.0);
        a += gwn;
        bs += gwn * xhat;
        if (gw.data) part_w[size_t(t) * N + n] += double(g[n]) * xhat;
        if (gb.data) part_b[size_t(t) * N + n] += double(g[n]);
      }
      a /= double(N);
      bs /= double(N);
      for (int64_t n = 0; n < N; ++n) {
        const double xhat = (double(r[n]) - mu) * rs, gwn = double(g[n]) * (pw ? double(pw[n]) : 1.0);
        o[n] = T(rs * (gwn - a - xhat * bs));
      }
    }
    for (int64_t n = 0; n < N; ++n) {
      double sw = 0, sb = 0;
      for (int t = 0; t < nt; ++t) {
        if (gw.data) sw += part_w[size_t(t) * N + n];
        if (gb.data) sb += part_b[size_t(t) * N + n];
      }
      if (gw.data) gw.ptr<T>()[n] = T(sw);
      if (gb.data) gb.ptr<T>()[n] = T(sb);
    }
  });
}

}  // namespace cherry::cpu
