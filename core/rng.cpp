#include "core/rng.h"

#include <cmath>
#include <numbers>
#include <vector>

namespace cherry {

namespace {
uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

// Draws on the host in float64 and rounds once to dtype, so a generator state gives the same
// values on every device and in every dtype. f32 (the common case) is filled in place.
// t as dtype on device: t itself when it already is.
Tensor placed(const Tensor& t, DType dtype, Device device) { return t.dtype() == dtype && t.device() == device ? t : dense_copy(t, dtype, device); }

template <class F> Tensor generate(const Shape& shape, DType dtype, Device device, F&& next) {
  if (dtype == DType::f32) {
    Tensor t = empty(shape, DType::f32, kCPU);
    float* p = t.data_ptr<float>();
    for (int64_t i = 0, n = t.numel(); i < n; ++i) p[i] = float(next());
    return placed(t, DType::f32, device);
  }
  std::vector<double> v(size_t(numel_of(shape)));
  for (auto& x : v) x = next();
  return placed(from_vector<double>(v, shape, kCPU), dtype, device);
}
}  // namespace

void Generator::manual_seed(uint64_t seed) {
  for (auto& w : s_) w = splitmix64(seed);
}

uint64_t Generator::next_u64() {
  const uint64_t result = rotl(s_[1] * 5, 7) * 9, t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Generator::uniform() { return double(next_u64() >> 11) * 0x1.0p-53; }

double Generator::normal() {
  // One draw per call (no cached second value) so the state alone determines the stream.
  const double u1 = 1.0 - uniform(), u2 = uniform();
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
}

uint64_t Generator::below(uint64_t n) {
  CHERRY_CHECK(n > 0, "randint", "empty range");
  const uint64_t limit = UINT64_MAX - UINT64_MAX % n;  // reject the biased tail
  uint64_t x;
  do x = next_u64();
  while (x >= limit);
  return x % n;
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}
void manual_seed(uint64_t seed) { default_generator().manual_seed(seed); }

Tensor rand(const Shape& shape, DType dtype, Device device, Generator& g) { return uniform(shape, 0.0, 1.0, dtype, device, g); }
Tensor randn(const Shape& shape, DType dtype, Device device, Generator& g) { return normal(shape, 0.0, 1.0, dtype, device, g); }

Tensor uniform(const Shape& shape, double lo, double hi, DType dtype, Device device, Generator& g) {
  return generate(shape, dtype, device, [&] { return lo + (hi - lo) * g.uniform(); });
}
Tensor normal(const Shape& shape, double mean, double std, DType dtype, Device device, Generator& g) {
  return generate(shape, dtype, device, [&] { return mean + std * g.normal(); });
}
Tensor bernoulli(const Shape& shape, double p, DType dtype, Device device, Generator& g) {
  return bernoulli_scaled(shape, p, 1.0, dtype, device, g);
}

// Dropout masks are the largest random tensors in training (every attention probability), so
// they are drawn in parallel: one word from the generator seeds a counter-based stream (word w is
// splitmix64 at state seed + w * gamma, as Java's SplittableRandom), two 32-bit draws per word, each
// compared against p at 2^-32 resolution. Deterministic for a generator state, any thread count.
Tensor bernoulli_scaled(const Shape& shape, double p, double value, DType dtype, Device device, Generator& g) {
  CHERRY_CHECK(p >= 0 && p <= 1, "bernoulli", "p must be in [0, 1], got ", p);
  const uint64_t threshold = uint64_t(std::ldexp(p, 32));  // u < threshold has probability p; p = 1: always
  const uint64_t seed = g.next_u64();
  const int64_t n = numel_of(shape);
  auto fill = [&]<class T>(DType as) {
    Tensor t = empty(shape, as, kCPU);
    T* out = t.data_ptr<T>();
    const T v = T(value);
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (int64_t w = 0; w < (n + 1) / 2; ++w) {
      uint64_t state = seed + uint64_t(w) * 0x9e3779b97f4a7c15ULL;
      const uint64_t word = splitmix64(state);
      out[2 * w] = (word & 0xffffffffULL) < threshold ? v : T(0);
      if (2 * w + 1 < n) out[2 * w + 1] = (word >> 32) < threshold ? v : T(0);
    }
    return t;
  };
  Tensor t = dtype == DType::f32 ? fill.operator()<float>(DType::f32) : fill.operator()<double>(DType::f64);
  return placed(t, dtype, device);
}

Tensor randint(const Shape& shape, int64_t lo, int64_t hi, Device device, Generator& g) {
  CHERRY_CHECK(hi > lo, "randint", "empty range [", lo, ", ", hi, ")");
  std::vector<int64_t> v(size_t(numel_of(shape)));
  for (auto& x : v) x = lo + int64_t(g.below(uint64_t(hi - lo)));
  return from_vector<int64_t>(v, shape, device);
}

Tensor randperm(int64_t n, Device device, Generator& g) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[size_t(i)], v[size_t(g.below(uint64_t(i + 1)))]);  // Fisher-Yates
  return from_vector<int64_t>(v, {n}, device);
}

}  // namespace cherry
