// Seedable, reproducible random numbers: xoshiro256** with a 4-word state that checkpoints can
// save and restore. Same seed, same numbers, on every machine and thread count (tensors are
// filled serially on the host, then copied to their device).
#pragma once
#include <array>
#include <cstdint>

#include "core/tensor.h"

namespace cherry {

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) { manual_seed(seed); }
  void manual_seed(uint64_t seed);
  uint64_t next_u64();
  double uniform();        // [0, 1)
  double normal();         // N(0, 1), Box-Muller
  uint64_t below(uint64_t n);  // uniform in [0, n), unbiased

  using State = std::array<uint64_t, 4>;
  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  State s_{};
};

Generator& default_generator();
void manual_seed(uint64_t seed);

Tensor rand(const Shape& shape, DType dtype = DType::f32, Device device = kCPU, Generator& g = default_generator());
Tensor randn(const Shape& shape, DType dtype = DType::f32, Device device = kCPU, Generator& g = default_generator());
Tensor uniform(const Shape& shape, double lo, double hi, DType dtype = DType::f32, Device device = kCPU, Generator& g = default_generator());
Tensor normal(const Shape& shape, double mean, double std, DType dtype = DType::f32, Device device = kCPU, Generator& g = default_generator());
Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::f32, Device device = kCPU, Generator& g = default_generator());
// value with probability p, else 0 (dropout's mask with its 1/(1-p) scale in one pass).
Tensor bernoulli_scaled(const Shape& shape, double p, double value, DType dtype = DType::f32, Device device = kCPU,
                        Generator& g = default_generator());
Tensor randint(const Shape& shape, int64_t lo, int64_t hi, Device device = kCPU, Generator& g = default_generator());
Tensor randperm(int64_t n, Device device = kCPU, Generator& g = default_generator());

}  // namespace cherry
