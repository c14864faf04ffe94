// Arg: what a backend sees of a tensor (raw pointer, dtype, shape, strides in elements).
// Backends never include the Tensor header; the ops layer builds Args from Tensors.
#pragma once
#include <cstdint>
#include <vector>

#include "core/dtype.h"

namespace cherry {

using Shape = std::vector<int64_t>;

// How a tensor's elements lie in memory. strided: where its strides say. channel_blocks: an
// (N, C, H, W) tensor stored densely as (N, C/16, H, W, 16), channel c of pixel (h, w) at
// [n][c/16][h][w][c%16] (oneDNN's nChw16c, the layout its CPU convolutions compute in; C % 16 == 0).
// The shape is always the logical one.
enum class MemoryFormat : uint8_t { strided, channel_blocks };
inline constexpr int64_t kChannelBlock = 16;

struct Arg {
  void* data = nullptr;  // already offset to the first element
  DType dtype = DType::f32;
  Shape shape;    // logical, whatever the format
  Shape strides;  // in elements; 0 on a broadcast dimension. Empty for channel_blocks.
  MemoryFormat format = MemoryFormat::strided;

  bool blocked() const { return format == MemoryFormat::channel_blocks; }

  int64_t dim() const { return int64_t(shape.size()); }
  int64_t numel() const {
    int64_t n = 1;
    for (auto s : shape) n *= s;
    return n;
  }
  bool is_contiguous() const {
    if (blocked()) return false;
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
