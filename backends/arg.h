// Arg: what a backend sees of a tensor (raw pointer, dtype, shape, strides in elements).
// Backends never include the Tensor header; the ops layer builds Args from Tensors.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace cherry {

using Shape = std::vector<int64_t>;

struct Arg {
  void* data = nullptr;  // already offset to the first element
  DType dtype = DType::f32;
  Shape shape;
  Shape strides;  // in elements; 0 on a broadcast dimension

  int64_t dim() const { return int64_t(shape.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  bool is_contiguous() const {
    int64_t expect = 1;
    for (int64_t d = dim() - 1; d >= 0; --d) {
      if (shape[d] != 1 && strides[d] != expect) return false;
      expect *= shape[d];
    }
    return true;
  }
  template <class T> T* ptr() const { return static_cast<T*>(data); }
};

}  // namespace cherry
