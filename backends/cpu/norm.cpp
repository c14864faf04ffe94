// Batch norm and layer norm, forward and backward, on contiguous inputs. Statistics in double.
#include <omp.h>

#include <cmath>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

namespace {
template <class T> const T* opt(const Arg& a) { return a.data ? a.ptr<T>() : nullptr; }
}  // namespace

// x, y:(N,C,S) (S = H*W); w, b, running stats, mean, invstd:(C).
void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean, const Arg& running_var,
                        bool training, double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd) {
  dispatch_floating(x.dtype, "batch_norm", [&]<class T>() {
    const int64_t N = x.shape[0], C = x.shape[1], S = x.numel() / (N * C), count = N * S;
    const T* px = x.ptr<T>();
    T* py = y.ptr<T>();
    const T *pw = opt<T>(w), *pb = opt<T>(b);
#pragma omp parallel for if (x.numel() >= 16384)
    for (int64_t c = 0; c < C; ++c) {
      double mu, var;
      if (training) {
        double s = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = px + (n * C + c) * S;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < S; ++i) s += double(p[i]);
        }
        mu = s / double(count);
        double ss = 0;
        for (int64_t n = 0; n < N; ++n) {
          const T* p = px + (n * C + c) * S;
#pragma omp simd reduction(+ : ss)
          for (int64_t i = 0; i < S; ++i) ss += (double(p[i]) - mu) * (double(p[i]) - mu);
        }
        var = ss / double(count);
        mean.ptr<T>()[c] = T(mu);
        invstd.ptr<T>()[c] = T(1.0 / std::sqrt(var + eps));
        if (running_mean.data) {
          T& rm = running_mean.ptr<T>()[c];
          T& rv = running_var.ptr<T>()[c];
          rm = T((1 - momentum) * double(rm) + momentum * mu);
          rv = T((1 - momentum) * double(rv) + momentum * var * double(count) / double(count > 1 ? count - 1 : 1));
        }
      } else {
        mu = double(running_mean.ptr<T>()[c]);
        var = double(running_var.ptr<T>()[c]);
      }
      const double is = 1.0 / std::sqrt(var + eps);
      const T scale = T(is * (pw ? double(pw[c]) : 1.0));
      const T shift = T((pb ? double(pb[c]) : 0.0) - mu * double(scale));
      for (int64_t n = 0; n < N; ++n) {
        const T* p = px + (n * C + c) * S;
        T* q = py + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) q[i] = p[i] * scale + shift;
      }
    }
  });
}

// Training-mode backward: gx = w*invstd/M * (M*gy - sum(gy) - xhat*sum(gy*xhat)).
void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd,
                         const Arg& gx, const Arg& gw, const Arg& gb) {
  dispatch_floating(x.dtype, "batch_norm_backward", [&]<class T>() {
    const int64_t N = x.shape[0], C = x.shape[1], S = x.numel() / (N * C);
    const double count = double(N * S);
    const T *px = x.ptr<T>(), *pg = gy.ptr<T>(), *pw = opt<T>(w);
#pragma omp parallel for if (x.numel() >= 16384)
    for (int64_t c = 0; c < C; ++c) {
      const double mu = mean.ptr<T>()[c], is = invstd.ptr<T>()[c];
      double sum_g = 0, sum_gx = 0;
      for (int64_t n = 0; n < N; ++n) {
        const T* p = px + (n * C + c) * S;
        const T* g = pg + (n * C + c) * S;
#pragma omp simd reduction(+ : sum_g, sum_gx)
        for (int64_t i = 0; i < S; ++i) {
          sum_g += double(g[i]);
          sum_gx += double(g[i]) * (double(p[i]) - mu);
        }
      }
      const double sum_gxhat = sum_gx * is;
      const double k = (pw ? double(pw[c]) : 1.0) * is;
      // gx = k*gy - k/M*sum_g - k/M*xhat*sum_gxhat, with xhat = (x-mu)*is
      const T a = T(k), b0 = T(-k / count * sum_g + k / count * mu * is * sum_gxhat), b1 = T(-k / count * is * sum_gxhat);
      for (int64_t n = 0; n < N; ++n) {
        const T* p = px + (n * C + c) * S;
        const T* g = pg + (n * C + c) * S;
        T* o = gx.ptr<T>() + (n * C + c) * S;
#pragma omp simd
        for (int64_t i = 0; i < S; ++i) o[i] = a * g[i] + b1 * p[i] + b0;
      }
      if (gw.data) gw.ptr<T>()[c] = T(sum_gxhat);
      if (gb.data) gb.ptr<T>()[c] = T(sum_g);
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
