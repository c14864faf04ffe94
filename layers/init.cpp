#include "layers/init.h"

#include <cmath>

namespace cherry::init {

int64_t fan_in(const Shape& s) {
  CHERRY_CHECK(s.size() >= 2, "init", "fan needs a weight of rank >= 2, got ", shape_str(s));
  return numel_of(s) / s[0];
}
int64_t fan_out(const Shape& s) {
  CHERRY_CHECK(s.size() >= 2, "init", "fan needs a weight of rank >= 2, got ", shape_str(s));
  return numel_of(s) / s[1];
}

Tensor default_weight(const Shape& shape, Generator& g) {
  const double bound = 1.0 / std::sqrt(double(fan_in(shape)));
  return uniform(shape, -bound, bound, DType::f32, kCPU, g);
}

Tensor default_bias(int64_t n, int64_t weight_fan_in, Generator& g) {
  const double bound = weight_fan_in > 0 ? 1.0 / std::sqrt(double(weight_fan_in)) : 0.0;
  return uniform({n}, -bound, bound, DType::f32, kCPU, g);
}

Tensor kaiming_normal(const Shape& shape, bool use_fan_out, Generator& g) {
  const double fan = double(use_fan_out ? fan_out(shape) : fan_in(shape));
  return normal(shape, 0.0, std::sqrt(2.0 / fan), DType::f32, kCPU, g);
}

}  // namespace cherry::init
