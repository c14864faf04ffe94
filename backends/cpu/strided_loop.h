// A small multi-operand strided iterator (the idea of PyTorch's TensorIterator, minus the rest):
// coalesce mergeable dims, then hand the kernel 1-D runs of the innermost dim, split across OpenMP
// threads by outer index. Kernels write their inner loop once and get contiguous fast paths free.
#pragma once
#include <omp.h>

#include <array>
#include <cstdint>
#include <vector>

#include "backends/arg.h"

namespace cherry::cpu {

template <size_t N> struct StridedLoop {
  Shape shape;                          // coalesced
  std::array<Shape, N> strides;         // per operand, coalesced, in elements

  StridedLoop(const Shape& s, const std::array<const Shape*, N>& st) {
    for (size_t d = 0; d < s.size(); ++d) {
      if (s[d] == 1) continue;  // size-1 dims contribute nothing
      bool merge = !shape.empty();
      for (size_t k = 0; k < N && merge; ++k) merge = strides[k].back() == (*st[k])[d] * s[d];
      if (merge) {
        shape.back() *= s[d];
        for (size_t k = 0; k < N; ++k) strides[k].back() = (*st[k])[d];
      } else {
        shape.push_back(s[d]);
        for (size_t k = 0; k < N; ++k) strides[k].push_back((*st[k])[d]);
      }
    }
    if (shape.empty()) {
      shape.push_back(1);
      for (auto& v : strides) v.push_back(0);
    }
  }

  int64_t inner() const { return shape.back(); }
  int64_t outer() const {
    int64_t n = 1;
    for (size_t d = 0; d + 1 < shape.size(); ++d) n *= shape[d];
    return n;
  }

  // Same visits as run(), on the calling thread only (for use inside an outer parallel loop).
  template <class F> void run_serial(F&& f, const std::array<int64_t, N>& origin = {}) const {
    const int64_t outer_n = outer(), nd = int64_t(shape.size());
    std::array<int64_t, N> inner_st;
    for (size_t k = 0; k < N; ++k) inner_st[k] = strides[k].back();
    for (int64_t o = 0; o < outer_n; ++o) {
      std::array<int64_t, N> base = origin;
      int64_t r = o;
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t i = r % shape[d];
        r /= shape[d];
        for (size_t k = 0; k < N; ++k) base[k] += i * strides[k][d];
      }
      f(base, inner(), inner_st);
    }
  }

  // f(std::array<int64_t,N> base_offsets, int64_t n, std::array<int64_t,N> inner_strides)
  template <class F> void run(F&& f, int64_t min_parallel = 32768) const {
    const int64_t outer_n = outer(), inner_n = inner(), nd = int64_t(shape.size());
    std::array<int64_t, N> inner_st;
    for (size_t k = 0; k < N; ++k) inner_st[k] = strides[k].back();
    auto base_of = [&](int64_t o) {
      std::array<int64_t, N> base{};
      for (int64_t d = nd - 2; d >= 0; --d) {
        int64_t i = o % shape[d];
        o /= shape[d];
        for (size_t k = 0; k < N; ++k) base[k] += i * strides[k][d];
      }
      return base;
    };
    if (outer_n == 1) {  // split the single run instead
      if (inner_n >= min_parallel) {
#pragma omp parallel
        {
          int64_t nt = omp_get_num_threads(), t = omp_get_thread_num();
          int64_t lo = inner_n * t / nt, hi = inner_n * (t + 1) / nt;
          std::array<int64_t, N> base;
          for (size_t k = 0; k < N; ++k) base[k] = lo * inner_st[k];
          if (hi > lo) f(base, hi - lo, inner_st);
        }
      } else {
        f(std::array<int64_t, N>{}, inner_n, inner_st);
      }
      return;
    }
#pragma omp parallel for schedule(static) if (outer_n * inner_n >= min_parallel)
    for (int64_t o = 0; o < outer_n; ++o) f(base_of(o), inner_n, inner_st);
  }
};

}  // namespace cherry::cpu
