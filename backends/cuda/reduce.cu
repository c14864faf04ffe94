// Reductions over any set of dims (sum, mean, max, min) and the last-dim row ops (argmax, topk,
// softmax / log-softmax and its backward). Sums accumulate in double like the CPU's; every
// reduction combines in a fixed order chosen from the shapes alone (fixed shuffle trees, fixed
// splits), so a run gives the same bits each time. max/min skip NaN like the CPU's std::max/min.
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "backends/cuda/common.cuh"
#include "backends/scalar_math.h"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

// ============================ reduce ============================

constexpr int kMaxRDims = 8;

// The two index spaces of a reduction, each with mergeable dims merged: kept dims (one output
// element each; strides into x and out) and reduced dims (strides into x).
struct ReducePlan {
  int nk = 0, nr = 0;
  int64_t kshape[kMaxRDims] = {}, kx[kMaxRDims] = {}, ko[kMaxRDims] = {};
  int64_t rshape[kMaxRDims] = {}, rx[kMaxRDims] = {};
  int64_t n_out = 1, count = 1;
};

ReducePlan make_plan(ReduceOp op, const Arg& x, const Arg& out) {
  CHERRY_CHECK(x.dim() == out.dim(), op_name(op), "output rank ", out.dim(), " differs from the input's ", x.dim());
  ReducePlan p;
  for (int64_t d = 0; d < x.dim(); ++d) {
    const int64_t n = x.shape[d];
    if (n == 1) continue;
    if (out.shape[d] == 1) {  // reduced
      if (p.nr > 0 && p.rx[p.nr - 1] == x.strides[d] * n) {
        p.rshape[p.nr - 1] *= n;
        p.rx[p.nr - 1] = x.strides[d];
      } else {
        CHERRY_CHECK(p.nr < kMaxRDims, op_name(op), "too many reduced dims after merging for ", shape_str(x.shape));
        p.rshape[p.nr] = n, p.rx[p.nr] = x.strides[d], ++p.nr;
      }
      p.count *= n;
    } else {
      CHERRY_CHECK(out.shape[d] == n, op_name(op), "output ", shape_str(out.shape), " does not fit input ", shape_str(x.shape));
      if (p.nk > 0 && p.kx[p.nk - 1] == x.strides[d] * n && p.ko[p.nk - 1] == out.strides[d] * n) {
        p.kshape[p.nk - 1] *= n;
        p.kx[p.nk - 1] = x.strides[d], p.ko[p.nk - 1] = out.strides[d];
      } else {
        CHERRY_CHECK(p.nk < kMaxRDims, op_name(op), "too many kept dims after merging for ", shape_str(x.shape));
        p.kshape[p.nk] = n, p.kx[p.nk] = x.strides[d], p.ko[p.nk] = out.strides[d], ++p.nk;
      }
      p.n_out *= n;
    }
  }
  return p;
}

// Output o -> its offset in out, and its base offset in x.
__device__ __forceinline__ void kept_offsets(const ReducePlan& p, int64_t o, int64_t& x_off, int64_t& out_off) {
  x_off = 0, out_off = 0;
  for (int d = p.nk - 1; d >= 0; --d) {
    const int64_t i = o % p.kshape[d];
    o /= p.kshape[d];
    x_off += i * p.kx[d];
    out_off += i * p.ko[d];
  }
}
// Reduced index r -> its offset in x.
__device__ __forceinline__ int64_t reduced_offset(const ReducePlan& p, int64_t r) {
  if (p.nr == 1) return r * p.rx[0];
  int64_t off = 0;
  for (int d = p.nr - 1; d >= 0; --d) {
    off += (r % p.rshape[d]) * p.rx[d];
    r /= p.rshape[d];
  }
  return off;
}

template <ReduceOp Op>
struct Combine {
  __device__ __forceinline__ double operator()(double a, double b) const {
    if constexpr (Op == ReduceOp::max)
      return a < b ? b : a;
    else if constexpr (Op == ReduceOp::min)
      return b < a ? b : a;
    else
      return a + b;
  }
};
template <ReduceOp Op>
__device__ __forceinline__ double reduce_identity() {
  if constexpr (Op == ReduceOp::max)
    return -infinity<double>();
  else if constexpr (Op == ReduceOp::min)
    return infinity<double>();
  else
    return 0.0;
}
template <ReduceOp Op, class T>
__device__ __forceinline__ void write_result(T* out, int64_t off, double acc, int64_t count) {
  out[off] = static_cast<T>(Op == ReduceOp::mean ? acc / double(count) : acc);
}

// Row form: a group of TPO threads per output (TPO = 32: a warp, 256: the block), threads striding
// over the reduced elements of split blockIdx.y. splits == 1 writes out, else partial[o*splits+s].
template <ReduceOp Op, int TPO, class T>
__global__ void __launch_bounds__(kBlock) reduce_rows_kernel(ReducePlan p, const T* __restrict__ x, T* __restrict__ out,
                                                             double* __restrict__ partial, int64_t chunk) {
  __shared__ double shared[33];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  const int64_t splits = gridDim.y, s = blockIdx.y;
  const int64_t lo = s * chunk, hi = lo + chunk < p.count ? lo + chunk : p.count;
  const Combine<Op> op;
  // Whole groups iterate together so block_reduce (TPO = 256) is reached by every thread.
  for (int64_t o0 = int64_t(blockIdx.x) * kGroups; o0 < p.n_out; o0 += int64_t(gridDim.x) * kGroups) {
    const int64_t o = o0 + group;
    double acc = reduce_identity<Op>();
    int64_t x_base = 0, out_off = 0;
    if (o < p.n_out) {
      kept_offsets(p, o, x_base, out_off);
      for (int64_t r = lo + lane; r < hi; r += TPO) acc = op(acc, double(x[x_base + reduced_offset(p, r)]));
    }
    if constexpr (TPO == 32)
      acc = warp_reduce(acc, op);
    else
      acc = block_reduce(acc, op, shared);
    if (lane == 0 && o < p.n_out) {
      if (splits == 1)
        write_result<Op>(out, out_off, acc, p.count);
      else
        partial[o * splits + s] = acc;
    }
  }
}

// Column form: one thread per output, looping over the reduced elements of split blockIdx.y in
// order; neighbouring threads read neighbouring elements when the kept dims are innermost.
template <ReduceOp Op, class T>
__global__ void __launch_bounds__(kBlock) reduce_cols_kernel(ReducePlan p, const T* __restrict__ x, T* __restrict__ out,
                                                             double* __restrict__ partial, int64_t chunk) {
  const int64_t splits = gridDim.y, s = blockIdx.y;
  const int64_t lo = s * chunk, hi = lo + chunk < p.count ? lo + chunk : p.count;
  const Combine<Op> op;
  for (int64_t o = global_thread(); o < p.n_out; o += grid_threads()) {
    int64_t x_base, out_off;
    kept_offsets(p, o, x_base, out_off);
    double acc = reduce_identity<Op>();
    for (int64_t r = lo; r < hi; ++r) acc = op(acc, double(x[x_base + reduced_offset(p, r)]));
    if (splits == 1)
      write_result<Op>(out, out_off, acc, p.count);
    else
      partial[o * splits + s] = acc;
  }
}

// Combines each output's splits in split order.
template <ReduceOp Op, class T>
__global__ void __launch_bounds__(kBlock) reduce_finish_kernel(ReducePlan p, const double* __restrict__ partial, int64_t splits,
                                                               T* __restrict__ out) {
  const Combine<Op> op;
  for (int64_t o = global_thread(); o < p.n_out; o += grid_threads()) {
    int64_t x_base, out_off;
    kept_offsets(p, o, x_base, out_off);
    double acc = partial[o * splits];
    for (int64_t s = 1; s < splits; ++s) acc = op(acc, partial[o * splits + s]);
    write_result<Op>(out, out_off, acc, p.count);
  }
}

template <ReduceOp Op, class T>
void reduce_typed(const ReducePlan& p, const T* x, T* out) {
  // Rows when the reduced elements are contiguous (or strided and numerous), columns when the
  // outputs are (a bias gradient: (N,C) -> (C)), so reads coalesce either way.
  const bool rows_contiguous = p.nr > 0 && p.rx[p.nr - 1] == 1;
  const bool cols_contiguous = p.nk > 0 && p.kx[p.nk - 1] == 1;
  const bool rows = rows_contiguous || (!cols_contiguous && p.count >= 64);
  if (p.count == 0) {  // nothing to combine: every output gets the identity (mean: 0/0, as on the CPU)
    reduce_cols_kernel<Op, T><<<blocks_for(p.n_out), kBlock, 0, stream()>>>(p, x, out, nullptr, 0);
    CHERRY_CUDA_CHECK_LAUNCH();
    return;
  }
  int64_t splits = 1;
  if (rows) {
    if (p.count <= 1024) {
      reduce_rows_kernel<Op, 32, T><<<blocks_for(p.n_out, kBlock / 32), kBlock, 0, stream()>>>(p, x, out, nullptr, p.count);
      CHERRY_CUDA_CHECK_LAUNCH();
      return;
    }
    // Few long rows: split each into chunks of >= 8K elements so ~1K blocks share the work.
    if (p.n_out < 256) splits = std::clamp<int64_t>(p.count / 8192, 1, std::max<int64_t>(1, 1024 / p.n_out));
  } else if (p.n_out < 32768 && p.count > 64) {
    splits = std::clamp<int64_t>(p.count / 64, 1, std::min<int64_t>(1024, std::max<int64_t>(1, 65536 / p.n_out)));
  }
  const int64_t chunk = (p.count + splits - 1) / splits;
  splits = (p.count + chunk - 1) / chunk;  // no empty split
  Scratch partial(splits > 1 ? size_t(p.n_out * splits) * sizeof(double) : 0);
  if (rows) {
    const dim3 grid(unsigned(std::min<int64_t>(p.n_out, kMaxGrid)), unsigned(splits));
    reduce_rows_kernel<Op, kBlock, T><<<grid, kBlock, 0, stream()>>>(p, x, out, partial.as<double>(), chunk);
  } else {
    const dim3 grid(blocks_for(p.n_out), unsigned(splits));
    reduce_cols_kernel<Op, T><<<grid, kBlock, 0, stream()>>>(p, x, out, partial.as<double>(), chunk);
  }
  CHERRY_CUDA_CHECK_LAUNCH();
  if (splits > 1) {
    reduce_finish_kernel<Op, T><<<blocks_for(p.n_out), kBlock, 0, stream()>>>(p, partial.as<double>(), splits, out);
    CHERRY_CUDA_CHECK_LAUNCH();
  }
}

template <class F>
void with_reduce_op(ReduceOp op, F&& f) {
  switch (op) {
    case ReduceOp::sum: return f.template operator()<ReduceOp::sum>();
    case ReduceOp::mean: return f.template operator()<ReduceOp::mean>();
    case ReduceOp::max: return f.template operator()<ReduceOp::max>();
    case ReduceOp::min: return f.template operator()<ReduceOp::min>();
  }
  throw Error("reduce", "unknown op");
}

// ============================ row ops ============================

template <class T>
__device__ __forceinline__ bool is_nan(T v) {
  return v != v;  // false for integers
}

// Threads per row: a warp for short rows, the whole block for long ones.
constexpr int64_t kWarpRowMax = 1024;

// Reduces (v, i) pairs over a group of TPO threads; better(a, b) says a is preferred to b.
// Invalid candidates carry i < 0. Every thread of the group gets the result.
template <int TPO, class T, class Better>
__device__ __forceinline__ void group_best(T& v, int64_t& i, Better better, T* sv, int64_t* si) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) {
    const T ov = __shfl_xor_sync(0xffffffffu, v, o);
    const int64_t oi = __shfl_xor_sync(0xffffffffu, i, o);
    if (oi >= 0 && (i < 0 || better(ov, oi, v, i))) v = ov, i = oi;
  }
  if constexpr (TPO > 32) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    __syncthreads();
    if (lane == 0) sv[warp] = v, si[warp] = i;
    __syncthreads();
    if (threadIdx.x == 0) {
      for (int w = 1; w < TPO / 32; ++w)
        if (si[w] >= 0 && (si[0] < 0 || better(sv[w], si[w], sv[0], si[0]))) sv[0] = sv[w], si[0] = si[w];
    }
    __syncthreads();
    v = sv[0], i = si[0];
  }
}

// argmax: first index of the maximum; NaNs are skipped unless x[m][0] is NaN (then 0), which is
// what the CPU's scan `if (row[n] > row[best]) best = n` from best = 0 gives.
template <int TPO, class T>
__global__ void __launch_bounds__(kBlock) argmax_kernel(const T* __restrict__ x, int64_t M, int64_t N, int64_t* __restrict__ out,
                                                       int64_t out_stride) {
  __shared__ T sv[kBlock / 32];
  __shared__ int64_t si[kBlock / 32];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  auto better = [](T av, int64_t ai, T bv, int64_t bi) { return av > bv || (av == bv && ai < bi); };
  for (int64_t m0 = int64_t(blockIdx.x) * kGroups; m0 < M; m0 += int64_t(gridDim.x) * kGroups) {
    const int64_t m = m0 + group;
    T v = T(0);
    int64_t i = -1;
    if (m < M) {
      const T* row = x + m * N;
      for (int64_t n = lane; n < N; n += TPO) {
        const T c = row[n];
        if (!is_nan(c) && (i < 0 || c > v)) v = c, i = n;
      }
    }
    group_best<TPO>(v, i, better, sv, si);
    if (lane == 0 && m < M) out[m * out_stride] = (i < 0 || is_nan(x[m * N])) ? 0 : i;
  }
}

// topk by k rounds of selection: round j picks the best element strictly after round j-1's pick
// in the order (value, then lower index first), the CPU's partial_sort order. For small k.
template <int TPO, class T>
__global__ void __launch_bounds__(kBlock) topk_kernel(const T* __restrict__ x, int64_t M, int64_t N, int64_t k, bool largest,
                                                     T* __restrict__ values, int64_t vs0, int64_t vs1, int64_t* __restrict__ indices,
                                                     int64_t is0, int64_t is1) {
  __shared__ T sv[kBlock / 32];
  __shared__ int64_t si[kBlock / 32];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  auto better = [largest](T av, int64_t ai, T bv, int64_t bi) {
    if (av != bv) return largest ? av > bv : av < bv;
    return ai < bi;
  };
  for (int64_t m0 = int64_t(blockIdx.x) * kGroups; m0 < M; m0 += int64_t(gridDim.x) * kGroups) {
    const int64_t m = m0 + group;
    const T* row = x + (m < M ? m : 0) * N;
    T pv = T(0);
    int64_t pi = -1;  // the previous pick
    for (int64_t j = 0; j < k; ++j) {
      T v = T(0);
      int64_t i = -1;
      if (m < M)
        for (int64_t n = lane; n < N; n += TPO) {
          const T c = row[n];
          if ((pi < 0 || better(pv, pi, c, n)) && (i < 0 || better(c, n, v, i))) v = c, i = n;
        }
      group_best<TPO>(v, i, better, sv, si);
      if (lane == 0 && m < M && i >= 0) {
        values[m * vs0 + j * vs1] = v;
        indices[m * is0 + j * is1] = i;
      }
      pv = v, pi = i;
    }
  }
}

// softmax / log-softmax of each row: max, sum of exp(x - max), then the outputs; in T like the CPU.
template <int TPO, class T>
__global__ void __launch_bounds__(kBlock) softmax_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t M, int64_t N, bool log) {
  __shared__ T shared[33];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  auto group_reduce = [&](T v, auto op) {
    if constexpr (TPO == 32)
      return warp_reduce(v, op);
    else
      return block_reduce(v, op, shared);
  };
  for (int64_t m0 = int64_t(blockIdx.x) * kGroups; m0 < M; m0 += int64_t(gridDim.x) * kGroups) {
    const int64_t m = m0 + group;
    const bool live = m < M;
    const T* r = x + (live ? m : 0) * N;
    T* o = y + (live ? m : 0) * N;
    T mx = -infinity<T>();
    if (live)
      for (int64_t n = lane; n < N; n += TPO) mx = MaxOp()(mx, r[n]);
    mx = group_reduce(mx, MaxOp());
    T sum = T(0);
    if (live)
      for (int64_t n = lane; n < N; n += TPO) sum += math::exp_of(r[n] - mx);
    sum = group_reduce(sum, SumOp());
    if (!live) continue;
    if (log) {
      const T lse = mx + math::log_of(sum);
      for (int64_t n = lane; n < N; n += TPO) o[n] = r[n] - lse;
    } else {
      const T inv = T(1) / sum;
      for (int64_t n = lane; n < N; n += TPO) o[n] = math::exp_of(r[n] - mx) * inv;
    }
  }
}

// softmax: gx = y*(gy - <gy,y>); log-softmax: gx = gy - exp(y)*sum(gy). Rows of N, in T.
template <int TPO, class T>
__global__ void __launch_bounds__(kBlock) softmax_backward_kernel(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx,
                                                                  int64_t M, int64_t N, bool log) {
  __shared__ T shared[33];
  constexpr int kGroups = kBlock / TPO;
  const int group = threadIdx.x / TPO, lane = threadIdx.x % TPO;
  for (int64_t m0 = int64_t(blockIdx.x) * kGroups; m0 < M; m0 += int64_t(gridDim.x) * kGroups) {
    const int64_t m = m0 + group;
    const bool live = m < M;
    const T* yr = y + (live ? m : 0) * N;
    const T* gr = gy + (live ? m : 0) * N;
    T dot = T(0);
    if (live)
      for (int64_t n = lane; n < N; n += TPO) dot += log ? gr[n] : gr[n] * yr[n];
    if constexpr (TPO == 32)
      dot = warp_reduce(dot, SumOp());
    else
      dot = block_reduce(dot, SumOp(), shared);
    if (!live) continue;
    T* o = gx + m * N;
    for (int64_t n = lane; n < N; n += TPO) o[n] = log ? gr[n] - math::exp_of(yr[n]) * dot : yr[n] * (gr[n] - dot);
  }
}

void check_rows(const char* op, const Arg& x) {
  CHERRY_CHECK(x.dim() == 2 && x.is_contiguous(), op, "expected a contiguous (M,N) matrix, got shape ", shape_str(x.shape), " strides ",
               shape_str(x.strides));
}

}  // namespace

// x:(...) -> out:(...) with size 1 on the reduced dims; strided.
void reduce(ReduceOp op, const Arg& x, const Arg& out) {
  const ReducePlan p = make_plan(op, x, out);
  if (p.n_out == 0) return;
  CHERRY_CHECK(p.count > 0 || op == ReduceOp::sum || op == ReduceOp::mean, op_name(op), "reduction of an empty tensor");
  dispatch_arith(x.dtype, op_name(op), [&]<class T>() {
    CHERRY_CHECK(out.dtype == x.dtype, op_name(op), "output dtype ", dtype_name(out.dtype), " differs from the input's");
    with_reduce_op(op, [&]<ReduceOp Op>() { reduce_typed<Op, T>(p, x.ptr<T>(), out.ptr<T>()); });
  });
}

// x:(M,N) contiguous -> out:(M) i64.
void argmax(const Arg& x, const Arg& out) {
  check_rows("argmax", x);
  CHERRY_CHECK(out.dtype == DType::i64, "argmax", "indices must be i64");
  const int64_t M = x.shape[0], N = x.shape[1];
  if (M == 0) return;
  CHERRY_CHECK(N > 0, "argmax", "empty rows");
  const int64_t os = out.dim() ? out.strides[0] : 1;
  dispatch_arith(x.dtype, "argmax", [&]<class T>() {
    if (N <= kWarpRowMax)
      argmax_kernel<32, T><<<blocks_for(M, kBlock / 32), kBlock, 0, stream()>>>(x.ptr<T>(), M, N, out.ptr<int64_t>(), os);
    else
      argmax_kernel<kBlock, T><<<blocks_for(M, 1), kBlock, 0, stream()>>>(x.ptr<T>(), M, N, out.ptr<int64_t>(), os);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// x:(M,N) contiguous -> values, indices:(M,k) strided; ties keep the lower index first.
void topk(const Arg& x, int64_t k, bool largest, const Arg& values, const Arg& indices) {
  check_rows("topk", x);
  const int64_t M = x.shape[0], N = x.shape[1];
  CHERRY_CHECK(k >= 0 && k <= N, "topk", "k=", k, " out of range for rows of ", N);
  CHERRY_CHECK(indices.dtype == DType::i64 && values.dtype == x.dtype, "topk", "values must have x's dtype and indices i64");
  if (M == 0 || k == 0) return;
  dispatch_arith(x.dtype, "topk", [&]<class T>() {
    if (N <= kWarpRowMax)
      topk_kernel<32, T><<<blocks_for(M, kBlock / 32), kBlock, 0, stream()>>>(x.ptr<T>(), M, N, k, largest, values.ptr<T>(), values.strides[0],
                                                                                values.strides[1], indices.ptr<int64_t>(), indices.strides[0],
                                                                                indices.strides[1]);
    else
      topk_kernel<kBlock, T><<<blocks_for(M, 1), kBlock, 0, stream()>>>(x.ptr<T>(), M, N, k, largest, values.ptr<T>(), values.strides[0],
                                                                         values.strides[1], indices.ptr<int64_t>(), indices.strides[0],
                                                                         indices.strides[1]);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// x, y:(M,N) contiguous.
void softmax(const Arg& x, bool log, const Arg& y) {
  check_rows(log ? "log_softmax" : "softmax", x);
  check_rows(log ? "log_softmax" : "softmax", y);
  const int64_t M = x.shape[0], N = x.shape[1];
  if (M == 0 || N == 0) return;
  dispatch_floating(x.dtype, "softmax", [&]<class T>() {
    if (N <= kWarpRowMax)
      softmax_kernel<32, T><<<blocks_for(M, kBlock / 32), kBlock, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), M, N, log);
    else
      softmax_kernel<kBlock, T><<<blocks_for(M, 1), kBlock, 0, stream()>>>(x.ptr<T>(), y.ptr<T>(), M, N, log);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// y, gy, gx:(M,N) contiguous.
void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx) {
  const char* op = log ? "log_softmax_backward" : "softmax_backward";
  check_rows(op, y);
  check_rows(op, gy);
  check_rows(op, gx);
  const int64_t M = y.shape[0], N = y.shape[1];
  if (M == 0 || N == 0) return;
  dispatch_floating(y.dtype, op, [&]<class T>() {
    if (N <= kWarpRowMax)
      softmax_backward_kernel<32, T><<<blocks_for(M, kBlock / 32), kBlock, 0, stream()>>>(y.ptr<T>(), gy.ptr<T>(), gx.ptr<T>(), M, N, log);
    else
      softmax_backward_kernel<kBlock, T><<<blocks_for(M, 1), kBlock, 0, stream()>>>(y.ptr<T>(), gy.ptr<T>(), gx.ptr<T>(), M, N, log);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace cherry::cuda
