// Reductions along dims, and last-dim row ops (argmax, topk, softmax). Accumulation in double, bf16
// input included (one rounding, on store): reductions are rarely the bottleneck and the extra
// precision keeps gradient checks tight. softmax is f32/f64 only (autograd computes it in f32).
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <span>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/strided_loop.h"
#include "backends/dispatch.h"
#include "backends/scalar_math.h"

namespace cherry::cpu {

namespace {
double reduce_init(ReduceOp op) {
  return op == ReduceOp::max ? -std::numeric_limits<double>::infinity() : op == ReduceOp::min ? std::numeric_limits<double>::infinity() : 0.0;
}
double combine(ReduceOp op, double a, double b) {
  return op == ReduceOp::max ? std::max(a, b) : op == ReduceOp::min ? std::min(a, b) : a + b;
}

// Fast path for contiguous x viewed as (R, K) reduced over R (bias gradients, column sums):
// each thread owns a block of columns and streams the rows, so reads stay sequential.
template <class T> bool reduce_leading(ReduceOp op, const Arg& x, const Arg& out) {
  if (!x.is_contiguous() || !out.is_contiguous()) return false;
  int64_t d = 0, R = 1;
  while (d < x.dim() && out.shape[d] == 1) R *= x.shape[d++];
  for (int64_t e = d; e < x.dim(); ++e)
    if (out.shape[e] != x.shape[e]) return false;
  const int64_t K = x.numel() / std::max<int64_t>(R, 1);
  if (R <= 1 || K < 16) return false;
  const T* px = x.ptr<T>();
  T* po = out.ptr<T>();
  // Each thread accumulates its own columns [lo, hi) of one buffer, allocated here: an allocation
  // failing inside the parallel region could not reach the caller as an exception.
  std::vector<double> acc(size_t(K), reduce_init(op));
#pragma omp parallel if (R * K >= 32768)
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t lo = K * t / nt, hi = K * (t + 1) / nt;
    for (int64_t r = 0; r < R; ++r) {
      const T* row = px + r * K;
      if (op == ReduceOp::sum || op == ReduceOp::mean) {
#pragma omp simd
        for (int64_t k = lo; k < hi; ++k) acc[size_t(k)] += double(row[k]);
      } else {
        for (int64_t k = lo; k < hi; ++k) acc[size_t(k)] = combine(op, acc[size_t(k)], double(row[k]));
      }
    }
    for (int64_t k = lo; k < hi; ++k) po[k] = static_cast<T>(op == ReduceOp::mean ? acc[size_t(k)] / double(R) : acc[size_t(k)]);
  }
  return true;
}

// Fast path for a contiguous x reduced to one value: split across threads, then combine.
template <class T> bool reduce_all(ReduceOp op, const Arg& x, const Arg& out) {
  if (out.numel() != 1 || !x.is_contiguous() || x.numel() < 32768) return false;
  const T* px = x.ptr<T>();
  const int64_t n = x.numel();
  // Per-thread partials combined in thread order: bitwise reproducible at a fixed thread count.
  std::vector<double> partial(size_t(omp_get_max_threads()), reduce_init(op));
#pragma omp parallel
  {
    const int nt = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t lo = n * t / nt, hi = n * (t + 1) / nt;
    double acc = reduce_init(op);
    if (op == ReduceOp::sum || op == ReduceOp::mean) {
#pragma omp simd reduction(+ : acc)
      for (int64_t i = lo; i < hi; ++i) acc += double(px[i]);
    } else {
      for (int64_t i = lo; i < hi; ++i) acc = combine(op, acc, double(px[i]));
    }
    partial[size_t(t)] = acc;
  }
  double total = reduce_init(op);
  for (double p : partial) total = combine(op, total, p);
  *out.ptr<T>() = static_cast<T>(op == ReduceOp::mean ? total / double(n) : total);
  return true;
}
}  // namespace

// x:(...) -> out:(...) with size 1 on reduced dims.
void reduce(ReduceOp op, const Arg& x, const Arg& out) {
  dispatch_compute(x.dtype, op_name(op), [&]<class T>() {
    if (reduce_all<T>(op, x, out) || reduce_leading<T>(op, x, out)) return;
    Shape red_shape, red_strides, keep_shape, keep_x_strides, keep_out_strides;
    for (int64_t d = 0; d < x.dim(); ++d) {
      if (out.shape[d] == 1 && x.shape[d] != 1) {
        red_shape.push_back(x.shape[d]);
        red_strides.push_back(x.strides[d]);
      } else {
        keep_shape.push_back(x.shape[d]);
        keep_x_strides.push_back(x.strides[d]);
        keep_out_strides.push_back(out.strides[d]);
      }
    }
    const double init = op == ReduceOp::max   ? -std::numeric_limits<double>::infinity()
                        : op == ReduceOp::min ? std::numeric_limits<double>::infinity()
                                              : 0.0;
    StridedLoop<1> red(red_shape, {&red_strides});
    int64_t count = 1;
    for (auto s : red_shape) count *= s;
    const T* px = x.ptr<T>();
    T* po = out.ptr<T>();
    auto reduce_from = [&](int64_t x_base) {
      double acc = init;
      red.run_serial([&](auto base, int64_t n, auto st) {
        const T* p = px + base[0];
        if (op == ReduceOp::max) {
          for (int64_t i = 0; i < n; ++i) acc = std::max(acc, double(p[i * st[0]]));
        } else if (op == ReduceOp::min) {
          for (int64_t i = 0; i < n; ++i) acc = std::min(acc, double(p[i * st[0]]));
        } else if (st[0] == 1) {
          double s = 0;
#pragma omp simd reduction(+ : s)
          for (int64_t i = 0; i < n; ++i) s += double(p[i]);
          acc += s;
        } else {
          for (int64_t i = 0; i < n; ++i) acc += double(p[i * st[0]]);
        }
      }, {x_base});
      return op == ReduceOp::mean ? acc / double(count) : acc;
    };
    int64_t n_out = 1;
    for (auto s : keep_shape) n_out *= s;
#pragma omp parallel for schedule(static) if (n_out > 1 && n_out * count >= 32768)
    for (int64_t o = 0; o < n_out; ++o) {
      int64_t r = o, xb = 0, ob = 0;
      for (int64_t d = int64_t(keep_shape.size()) - 1; d >= 0; --d) {
        int64_t i = r % keep_shape[d];
        r /= keep_shape[d];
        xb += i * keep_x_strides[d];
        ob += i * keep_out_strides[d];
      }
      po[ob] = static_cast<T>(reduce_from(xb));
    }
  });
}

// x:(M,N) contiguous -> out:(M) i64, first index of the maximum.
void argmax(const Arg& x, const Arg& out) {
  dispatch_compute(x.dtype, "argmax", [&]<class T>() {
    const int64_t M = x.shape[0], N = x.shape[1];
    const T* px = x.ptr<T>();
    int64_t* po = out.ptr<int64_t>();
#pragma omp parallel for if (M * N >= 32768)
    for (int64_t m = 0; m < M; ++m) {
      const T* row = px + m * N;
      int64_t best = 0;
      for (int64_t n = 1; n < N; ++n)
        if (row[n] > row[best]) best = n;
      po[m * out.strides[0]] = best;
    }
  });
}

// x:(M,N) contiguous -> values, indices:(M,k); ties keep the lower index first.
void topk(const Arg& x, int64_t k, bool largest, const Arg& values, const Arg& indices) {
  dispatch_compute(x.dtype, "topk", [&]<class T>() {
    const int64_t M = x.shape[0], N = x.shape[1];
    const T* px = x.ptr<T>();
    const int team = M * N >= 32768 ? omp_get_max_threads() : 1;
    std::vector<int64_t> orders(size_t(team * N));  // per thread, allocated outside the parallel region
#pragma omp parallel for num_threads(team)
    for (int64_t m = 0; m < M; ++m) {
      const T* row = px + m * N;
      const std::span<int64_t> order(orders.data() + size_t(omp_get_thread_num()) * size_t(N), size_t(N));
      std::iota(order.begin(), order.end(), 0);
      auto better = [&, descending = largest](int64_t i, int64_t j) {  // clang 14: no OpenMP-captured refs in nested lambdas
        if (row[i] != row[j]) return descending ? row[i] > row[j] : row[i] < row[j];
        return i < j;
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), better);
      for (int64_t j = 0; j < k; ++j) {
        values.ptr<T>()[m * values.strides[0] + j * values.strides[1]] = row[order[j]];
        indices.ptr<int64_t>()[m * indices.strides[0] + j * indices.strides[1]] = order[j];
      }
    }
  });
}

// x, y:(M,N) contiguous, softmax (or log-softmax) along N.
void softmax(const Arg& x, bool log, const Arg& y) {
  dispatch_floating(x.dtype, "softmax", [&]<class T>() {
    const int64_t M = x.shape[0], N = x.shape[1];
    const T* px = x.ptr<T>();
    T* py = y.ptr<T>();
#pragma omp parallel for if (M * N >= 16384)
    for (int64_t m = 0; m < M; ++m) {
      const T* r = px + m * N;
      T* o = py + m * N;
      T mx = -std::numeric_limits<T>::infinity();
#pragma omp simd reduction(max : mx)
      for (int64_t n = 0; n < N; ++n) mx = std::max(mx, r[n]);
      T sum = 0;
      if (log) {
#pragma omp simd reduction(+ : sum)
        for (int64_t n = 0; n < N; ++n) sum += math::exp_of(r[n] - mx);
        const T lse = mx + std::log(sum);
#pragma omp simd
        for (int64_t n = 0; n < N; ++n) o[n] = r[n] - lse;
      } else {
#pragma omp simd reduction(+ : sum)
        for (int64_t n = 0; n < N; ++n) sum += (o[n] = math::exp_of(r[n] - mx));
        const T inv = T(1) / sum;
#pragma omp simd
        for (int64_t n = 0; n < N; ++n) o[n] *= inv;
      }
    }
  });
}

// y, gy, gx:(M,N) contiguous. softmax: gx = y*(gy - <gy,y>); log: gx = gy - exp(y)*sum(gy).
void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx) {
  dispatch_floating(y.dtype, "softmax_backward", [&]<class T>() {
    const int64_t M = y.shape[0], N = y.shape[1];
#pragma omp parallel for if (M * N >= 16384)
    for (int64_t m = 0; m < M; ++m) {
      const T* yr = y.ptr<T>() + m * N;
      const T* gr = gy.ptr<T>() + m * N;
      T* o = gx.ptr<T>() + m * N;
      T dot = 0;
      if (log) {
#pragma omp simd reduction(+ : dot)
        for (int64_t n = 0; n < N; ++n) dot += gr[n];
#pragma omp simd
        for (int64_t n = 0; n < N; ++n) o[n] = gr[n] - math::exp_of(yr[n]) * dot;
      } else {
#pragma omp simd reduction(+ : dot)
        for (int64_t n = 0; n < N; ++n) dot += gr[n] * yr[n];
#pragma omp simd
        for (int64_t n = 0; n < N; ++n) o[n] = yr[n] * (gr[n] - dot);
      }
    }
  });
}

}  // namespace cherry::cpu
