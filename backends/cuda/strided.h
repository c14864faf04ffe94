// Strided<N>: the iteration space of an elementwise op over N operands (output first), with
// size-1 dims dropped and mergeable dims merged (the CPU StridedLoop's rule). It is passed to
// kernels by value, so no device allocation is needed; ndim == 1 selects the linear fast path
// (contiguous, scalar-broadcast and 1-D strided operands all land there).
#pragma once
#include <array>
#include <cstdint>

#include "backends/arg.h"
#include "core/error.h"

namespace cherry::cuda {

inline constexpr int kMaxDims = 8;

template <int N>
struct Strided {
  int ndim = 0;
  int64_t numel = 0;
  int64_t shape[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};  // in elements, per operand
};

template <int N>
Strided<N> make_strided(const char* op, const Shape& shape, const std::array<const Shape*, N>& strides) {
  Strided<N> s;
  s.numel = 1;
  for (int64_t d : shape) s.numel *= d;
  for (int k = 0; k < N; ++k)
    CHERRY_CHECK(strides[k]->size() == shape.size(), op, "operand ", k, " has ", strides[k]->size(), " strides for shape ",
                 shape_str(shape));
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool merge = s.ndim > 0;
    for (int k = 0; k < N && merge; ++k) merge = s.strides[k][s.ndim - 1] == (*strides[k])[d] * shape[d];
    if (merge) {
      s.shape[s.ndim - 1] *= shape[d];
      for (int k = 0; k < N; ++k) s.strides[k][s.ndim - 1] = (*strides[k])[d];
      continue;
    }
    CHERRY_CHECK(s.ndim < kMaxDims, op, "CUDA elementwise kernels take at most ", kMaxDims, " dims after merging; shape ",
                 shape_str(shape));
    s.shape[s.ndim] = shape[d];
    for (int k = 0; k < N; ++k) s.strides[k][s.ndim] = (*strides[k])[d];
    ++s.ndim;
  }
  if (s.ndim == 0) {  // a scalar (or all-size-1 shape): one element at offset 0
    s.ndim = 1;
    s.shape[0] = 1;
  }
  return s;
}

// True when every operand walks memory with unit stride (a plain memcpy-able range).
template <int N>
bool all_contiguous(const Strided<N>& s) {
  if (s.ndim != 1) return false;
  for (int k = 0; k < N; ++k)
    if (s.strides[k][0] != 1 && s.shape[0] != 1) return false;
  return true;
}

}  // namespace cherry::cuda
