// Broadcasting rules (NumPy/PyTorch): align trailing dims; each pair equal or one of them 1.
#pragma once
#include "backends/arg.h"

namespace cherry {

class Tensor;
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);
// t's Arg viewed at `shape` (t must broadcast to it): stride 0 on expanded dims.
Arg broadcast_arg(const Tensor& t, const Shape& shape, const char* op);

}  // namespace cherry
