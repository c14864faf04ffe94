// Indexing kernels on contiguous operands: index_select and gather (one thread per output element),
// index_add and scatter_add (deterministic: a stable radix sort of the target positions (CUB), then
// one thread per run of equal targets adds its sources in their original order; that is the CPU's
// serial order, so results carry the CPU's bits, and no atomics are needed for any dtype).
// A bad index cannot throw on the device: it is recorded in the device-error slot (device_state.h),
// the element is skipped, and the host throws at its next synchronisation.
#include <cub/device/device_radix_sort.cuh>

#include <bit>
#include <climits>
#include <cstdint>

#include "backends/cuda/common.cuh"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

// A contiguous tensor viewed as (outer, size(dim), inner).
struct Split {
  int64_t outer = 1, mid = 1, inner = 1;
  Split(const char* op, const Arg& a, int64_t dim) {
    CHERRY_CHECK(dim >= 0 && dim < std::max<int64_t>(a.dim(), 1), op, "dim ", dim, " out of range for ", shape_str(a.shape));
    CHERRY_CHECK(a.is_contiguous(), op, "operands must be contiguous, got shape ", shape_str(a.shape), " strides ", shape_str(a.strides));
    for (int64_t d = 0; d < a.dim(); ++d) (d < dim ? outer : d == dim ? mid : inner) *= a.shape[d];
  }
};

void check_index(const char* op, const Arg& idx) {
  CHERRY_CHECK(idx.dtype == DType::i64 && idx.is_contiguous(), op, "indices must be contiguous i64, got ", dtype_name(idx.dtype));
}

// out:(A,K,B)[a,k,b] = x:(A,S,B)[a, idx[k], b]
template <class T>
__global__ void __launch_bounds__(kBlock) index_select_kernel(const T* __restrict__ x, const int64_t* __restrict__ idx, T* __restrict__ out,
                                                             int64_t A, int64_t S, int64_t K, int64_t B, DeviceErrorSlot* err) {
  const int64_t total = A * K * B;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t b = i % B, k = (i / B) % K, a = i / (B * K), j = idx[k];
    if (j < 0 || j >= S) {
      report_bad_index(err, DeviceError::index_select, j, S);
      out[i] = T(0);
      continue;
    }
    out[i] = x[(a * S + j) * B + b];
  }
}

// out:(A,K,B)[a,k,b] = x:(A,S,B)[a, idx[a,k,b], b]
template <class T>
__global__ void __launch_bounds__(kBlock) gather_kernel(const T* __restrict__ x, const int64_t* __restrict__ idx, T* __restrict__ out,
                                                       int64_t A, int64_t S, int64_t K, int64_t B, DeviceErrorSlot* err) {
  const int64_t total = A * K * B;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t b = i % B, a = i / (B * K), j = idx[i];
    if (j < 0 || j >= S) {
      report_bad_index(err, DeviceError::gather, j, S);
      out[i] = T(0);
      continue;
    }
    out[i] = x[(a * S + j) * B + b];
  }
}

// keys[i] = the target of source position i (sentinel `bad` for a bad index), values[i] = i.
// index_add (per_element false): i < K, target idx[i] in [0, S).
// scatter_add (per_element true): i < A*K*B, target (a*S + idx[i])*B + b, the out offset.
template <class Key>
__global__ void __launch_bounds__(kBlock) make_keys_kernel(const int64_t* __restrict__ idx, int64_t n, bool per_element, int64_t S, int64_t K,
                                                          int64_t B, Key bad, Key* __restrict__ keys, int64_t* __restrict__ values,
                                                          DeviceErrorSlot* err, DeviceError code) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const int64_t j = idx[i];
    values[i] = i;
    if (j < 0 || j >= S) {
      report_bad_index(err, code, j, S);
      keys[i] = bad;
      continue;
    }
    if (per_element) {
      const int64_t b = i % B, a = i / (B * K);
      keys[i] = Key((a * S + j) * B + b);
    } else {
      keys[i] = Key(j);
    }
  }
}

// index_add after the sort: thread (a, j, b) at the start of a run of equal keys sums
// src[a, order[j..], b] onto out[a, key, b], in the run's (original) order.
template <class T, class Key>
__global__ void __launch_bounds__(kBlock) index_add_runs_kernel(T* __restrict__ out, const T* __restrict__ src, const Key* __restrict__ keys,
                                                               const int64_t* __restrict__ order, int64_t A, int64_t S, int64_t K, int64_t B,
                                                               Key bad) {
  const int64_t total = A * K * B;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t b = i % B, j = (i / B) % K, a = i / (B * K);
    const Key key = keys[j];
    if (key == bad || (j > 0 && keys[j - 1] == key)) continue;
    T* dst = out + (a * S + int64_t(key)) * B + b;
    T acc = *dst;
    for (int64_t r = j; r < K && keys[r] == key; ++r) acc += src[(a * K + order[r]) * B + b];
    *dst = acc;
  }
}

// scatter_add after the sort: the thread at the start of each run sums src[order[run]] onto out[key].
template <class T, class Key>
__global__ void __launch_bounds__(kBlock) scatter_add_runs_kernel(T* __restrict__ out, const T* __restrict__ src, const Key* __restrict__ keys,
                                                                 const int64_t* __restrict__ order, int64_t n, Key bad) {
  for (int64_t j = global_thread(); j < n; j += grid_threads()) {
    const Key key = keys[j];
    if (key == bad || (j > 0 && keys[j - 1] == key)) continue;
    T acc = out[int64_t(key)];
    for (int64_t r = j; r < n && keys[r] == key; ++r) acc += src[order[r]];
    out[int64_t(key)] = acc;
  }
}

// Stable sort of n (key, position) pairs whose keys lie in [0, key_space]; calls
// then(sorted_keys, order, bad) with bad = key_space (the bad-index sentinel).
template <class Key, class F>
void sorted_targets(const int64_t* idx, int64_t n, bool per_element, int64_t S, int64_t K, int64_t B, int64_t key_space, DeviceError code,
                    F&& then) {
  CHERRY_CHECK(n <= INT_MAX, "index_add", "more than 2^31 indices");
  Scratch keys(size_t(n) * sizeof(Key) * 2), values(size_t(n) * sizeof(int64_t) * 2);
  Key* keys_in = keys.as<Key>();
  Key* keys_out = keys_in + n;
  int64_t* values_in = values.as<int64_t>();
  int64_t* values_out = values_in + n;
  const Key bad = Key(key_space);
  make_keys_kernel<Key><<<blocks_for(n), kBlock, 0, stream()>>>(idx, n, per_element, S, K, B, bad, keys_in, values_in, device_error_slot(),
                                                                code);
  CHERRY_CUDA_CHECK_LAUNCH();
  const int end_bit = std::max(1, int(std::bit_width(uint64_t(key_space))));  // covers the sentinel too
  size_t temp_bytes = 0;
  CHERRY_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, keys_in, keys_out, values_in, values_out, int(n), 0, end_bit, stream()));
  Scratch temp(std::max<size_t>(temp_bytes, 1));
  CHERRY_CUDA_CHECK(
      cub::DeviceRadixSort::SortPairs(temp.as<void>(), temp_bytes, keys_in, keys_out, values_in, values_out, int(n), 0, end_bit, stream()));
  then(static_cast<const Key*>(keys_out), static_cast<const int64_t*>(values_out), bad);
}

// Runs f.template operator()<Key>() with 32-bit keys when key_space fits, else 64-bit.
template <class F>
void with_key_type(int64_t key_space, F&& f) {
  if (key_space < int64_t(UINT32_MAX))
    f.template operator()<uint32_t>();
  else
    f.template operator()<uint64_t>();
}

}  // namespace

// x:(A,S,B), idx:(K) -> out:(A,K,B)
void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) {
  const Split xs("index_select", x, dim), os("index_select", out, dim);
  check_index("index_select", idx);
  CHERRY_CHECK(out.dtype == x.dtype && os.mid == idx.numel() && os.outer == xs.outer && os.inner == xs.inner, "index_select",
               "output ", shape_str(out.shape), " does not fit x ", shape_str(x.shape), " and ", idx.numel(), " indices");
  if (out.numel() == 0) return;
  dispatch_all(x.dtype, [&]<class T>() {
    index_select_kernel<T><<<blocks_for(out.numel()), kBlock, 0, stream()>>>(x.ptr<T>(), idx.ptr<int64_t>(), out.ptr<T>(), xs.outer, xs.mid,
                                                                             os.mid, xs.inner, device_error_slot());
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// out:(A,S,B) += src:(A,K,B) at idx:(K); repeated indices accumulate in k order.
void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) {
  const Split os("index_add", out, dim), ss("index_add", src, dim);
  check_index("index_add", idx);
  CHERRY_CHECK(src.dtype == out.dtype && ss.mid == idx.numel() && ss.outer == os.outer && ss.inner == os.inner, "index_add", "src ",
               shape_str(src.shape), " does not fit out ", shape_str(out.shape), " and ", idx.numel(), " indices");
  const int64_t K = idx.numel();
  if (src.numel() == 0) return;
  dispatch_arith(out.dtype, "index_add", [&]<class T>() {
    with_key_type(os.mid, [&]<class Key>() {
      sorted_targets<Key>(idx.ptr<int64_t>(), K, false, os.mid, K, 1, os.mid, DeviceError::index_add,
                          [&](const Key* keys, const int64_t* order, Key bad) {
                            index_add_runs_kernel<T, Key><<<blocks_for(src.numel()), kBlock, 0, stream()>>>(
                                out.ptr<T>(), src.ptr<T>(), keys, order, os.outer, os.mid, K, os.inner, bad);
                            CHERRY_CUDA_CHECK_LAUNCH();
                          });
    });
  });
}

// x:(A,S,B), idx:(A,K,B) -> out:(A,K,B), out[a,k,b] = x[a, idx[a,k,b], b]
void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) {
  const Split xs("gather", x, dim), is("gather", idx, dim);
  check_index("gather", idx);
  CHERRY_CHECK(out.dtype == x.dtype && out.shape == idx.shape && out.is_contiguous() && is.outer == xs.outer && is.inner == xs.inner,
               "gather", "index ", shape_str(idx.shape), " and output ", shape_str(out.shape), " do not fit x ", shape_str(x.shape));
  if (out.numel() == 0) return;
  dispatch_all(x.dtype, [&]<class T>() {
    gather_kernel<T><<<blocks_for(out.numel()), kBlock, 0, stream()>>>(x.ptr<T>(), idx.ptr<int64_t>(), out.ptr<T>(), is.outer, xs.mid, is.mid,
                                                                       is.inner, device_error_slot());
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

// out:(A,S,B) += src at idx, both (A,K,B); repeated targets accumulate in source order.
void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) {
  const Split os("scatter_add", out, dim), is("scatter_add", idx, dim);
  check_index("scatter_add", idx);
  CHERRY_CHECK(src.dtype == out.dtype && src.shape == idx.shape && src.is_contiguous() && is.outer == os.outer && is.inner == os.inner,
               "scatter_add", "index ", shape_str(idx.shape), " and src ", shape_str(src.shape), " do not fit out ", shape_str(out.shape));
  const int64_t n = idx.numel();
  if (n == 0) return;
  dispatch_arith(out.dtype, "scatter_add", [&]<class T>() {
    with_key_type(out.numel(), [&]<class Key>() {
      sorted_targets<Key>(idx.ptr<int64_t>(), n, true, os.mid, is.mid, is.inner, out.numel(), DeviceError::scatter_add,
                          [&](const Key* keys, const int64_t* order, Key bad) {
                            scatter_add_runs_kernel<T, Key><<<blocks_for(n), kBlock, 0, stream()>>>(out.ptr<T>(), src.ptr<T>(), keys,
                                                                                                     order, n, bad);
                            CHERRY_CUDA_CHECK_LAUNCH();
                          });
    });
  });
}

}  // namespace cherry::cuda
