// Weight initialisers (PyTorch's formulas), drawing from a Generator (the default one unless
// given) so a seed fixes the whole model.
#pragma once
#include "core/rng.h"

namespace cherry::init {

// fan_in / fan_out of a weight: Linear [out, in]; Conv [out, in/groups, kh, kw].
int64_t fan_in(const Shape& shape);
int64_t fan_out(const Shape& shape);

// PyTorch's default for Linear/Conv weights: kaiming_uniform(a=sqrt(5)) = U(-1/sqrt(fan_in), +).
Tensor default_weight(const Shape& shape, Generator& g = default_generator());
// PyTorch's default bias: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with the weight's fan_in.
Tensor default_bias(int64_t n, int64_t weight_fan_in, Generator& g = default_generator());
// He-normal for ReLU nets: N(0, 2/fan), fan = fan_out (torchvision ResNet) or fan_in.
Tensor kaiming_normal(const Shape& shape, bool use_fan_out = true, Generator& g = default_generator());

}  // namespace cherry::init
