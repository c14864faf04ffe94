// Layout and view semantics, broadcasting, creation, RNG reproducibility, allocator reuse,
// printing and error messages.
#include <omp.h>

#include <cmath>
#include <limits>

#include "autograd/ops.h"
#include "backends/allocator.h"
#include "core/broadcast.h"
#include "core/rng.h"
#include "tests/test_util.h"

namespace cherry {

TEST_CASE("views share storage and compute strides like PyTorch") {
  Tensor t = arange(24, DType::f32).reshape({2, 3, 4});
  CHECK(t.strides() == Shape{12, 4, 1});
  Tensor p = t.permute({2, 0, 1});
  CHECK(p.shape() == Shape{4, 2, 3});
  CHECK(p.strides() == Shape{1, 12, 4});
  CHECK_FALSE(p.is_contiguous());
  CHECK(p.storage() == t.storage());
  CHECK(p.at<float>({3, 1, 2}) == t.at<float>({1, 2, 3}));

  Tensor n = t.narrow(2, 1, 2);
  CHECK(n.offset() == 1);
  CHECK(n.at<float>({1, 2, 1}) == 1 * 12 + 2 * 4 + 2);
  Tensor s = t.select(1, 2);
  CHECK(s.shape() == Shape{2, 4});
  CHECK(s.at<float>({1, 3}) == 23);

  Tensor e = from_vector<float>({1, 2, 3}, {3, 1}).expand({2, 3, 4});
  CHECK(e.strides() == Shape{0, 1, 0});
  CHECK(e.at<float>({1, 2, 3}) == 3);

  CHECK(t.unsqueeze(0).shape() == Shape{1, 2, 3, 4});
  CHECK(t.unsqueeze(-1).shape() == Shape{2, 3, 4, 1});
  CHECK(t.unsqueeze(1).squeeze(1).shape() == t.shape());
  CHECK(t.flatten(1).shape() == Shape{2, 12});
  CHECK(t.reshape({4, -1}).shape() == Shape{4, 6});
  CHECK(t.transpose(0, 2).contiguous().is_contiguous());
}

TEST_CASE("view refuses what needs a copy, and reshape copies") {
  Tensor t = arange(12, DType::f32).reshape({3, 4}).transpose(0, 1);
  CHECK_THROWS_AS(t.view({12}), Error);
  Tensor r = t.reshape({12});
  CHECK(r.storage() != t.storage());
  CHECK(r.to_vector<float>() == std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11});
  // A narrowed slice of contiguous rows can still be viewed.
  Tensor rows = arange(12, DType::f32).reshape({4, 3}).narrow(0, 1, 2);
  CHECK(rows.view({6}).storage() == rows.storage());
}

TEST_CASE("contiguous() on a permuted tensor copies in logical order") {
  Tensor t = arange(6, DType::i64).reshape({2, 3});
  CHECK(t.transpose(0, 1).contiguous().to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("broadcasting follows NumPy rules and rejects mismatches") {
  CHECK(broadcast_shapes({3, 1, 4}, {5, 4}, "t") == Shape{3, 5, 4});
  CHECK(broadcast_shapes({}, {2, 2}, "t") == Shape{2, 2});
  CHECK_THROWS_AS(broadcast_shapes({3, 2}, {4, 2}, "t"), Error);
  Tensor a = from_vector<float>({1, 2, 3}, {3, 1}), b = from_vector<float>({10, 20}, {2});
  CHECK((a + b).to_vector<float>() == std::vector<float>{11, 21, 12, 22, 13, 23});
}

TEST_CASE("dtype and device mismatches are errors that name both tensors") {
  Tensor a = ones({2}, DType::f32), b = ones({2}, DType::f64);
  try {
    (void)(a + b);
    FAIL("expected an error");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("f32[2]") != std::string::npos);
    CHECK(std::string(e.what()).find("f64[2]") != std::string::npos);
    CHECK(e.op() == "add");
  }
}

TEST_CASE("RNG: same seed, same numbers, and different seed, different numbers") {
  Generator g1(123), g2(123), g3(124);
  Tensor a = randn({100}, DType::f32, kCPU, g1), b = randn({100}, DType::f32, kCPU, g2), c = randn({100}, DType::f32, kCPU, g3);
  CHECK(a.to_vector<float>() == b.to_vector<float>());
  CHECK(a.to_vector<float>() != c.to_vector<float>());
  // State save/restore continues the stream exactly.
  Generator::State st = g1.state();
  double x = g1.uniform();
  g1.set_state(st);
  CHECK(g1.uniform() == x);
}

TEST_CASE("RNG distributions have the right moments and ranges") {
  Generator g(5);
  Tensor n = randn({20000}, DType::f64, kCPU, g);
  CHECK(mean(n).item<double>() == doctest::Approx(0.0).epsilon(0.03));
  CHECK(var(n).item<double>() == doctest::Approx(1.0).epsilon(0.03));
  Tensor u = uniform({20000}, -1, 3, DType::f64, kCPU, g);
  CHECK(amin(u).item<double>() >= -1.0);
  CHECK(amax(u).item<double>() < 3.0);
  CHECK(mean(bernoulli({20000}, 0.3, DType::f64, kCPU, g)).item<double>() == doctest::Approx(0.3).epsilon(0.05));
  auto perm = randperm(50, kCPU, g).to_vector<int64_t>();
  std::sort(perm.begin(), perm.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(perm[size_t(i)] == i);
  auto ri = randint({1000}, 3, 7, kCPU, g);
  CHECK(amin(ri).item<int64_t>() == 3);
  CHECK(amax(ri).item<int64_t>() == 6);
}

TEST_CASE("bernoulli_scaled: values in {0, v}, keep rate p, p = 0 and 1 exact, same draws in f32 and f64") {
  Generator g(11);
  const Tensor m = bernoulli_scaled({40001}, 0.9, 1 / 0.9, DType::f64, kCPU, g);
  const auto v = m.to_vector<double>();
  int64_t kept = 0;
  for (double x : v) {
    CHECK((x == 0.0 || x == 1 / 0.9));
    kept += x != 0.0;
  }
  CHECK(double(kept) / double(v.size()) == doctest::Approx(0.9).epsilon(0.01));
  CHECK(amax(bernoulli_scaled({1000}, 0.0, 2.0, DType::f32, kCPU, g)).item<float>() == 0.0f);
  CHECK(amin(bernoulli_scaled({1000}, 1.0, 2.0, DType::f32, kCPU, g)).item<float>() == 2.0f);
  Generator a(3), b(3);
  CHECK_CLOSE(uniform({999}, -2, 5, DType::f32, kCPU, a), uniform({999}, -2, 5, DType::f64, kCPU, b).to(DType::f32), 0, 0);
  CHECK_CLOSE(bernoulli({999}, 0.3, DType::f32, kCPU, a), bernoulli({999}, 0.3, DType::f64, kCPU, b).to(DType::f32), 0, 0);
  // Drawn in parallel, yet the same mask whatever the thread count.
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const Tensor one = bernoulli({300001}, 0.5, DType::f32, kCPU, a);
  omp_set_num_threads(2);
  const Tensor two = bernoulli({300001}, 0.5, DType::f32, kCPU, b);
  omp_set_num_threads(threads);
  CHECK_CLOSE(one, two, 0, 0);
}

TEST_CASE("caching allocator reuses freed blocks and keeps 64-byte alignment") {
  auto& alloc = CachingAllocator::get(DeviceType::cpu);
  { Tensor warm = empty({1000}); }
  const size_t raw_before = alloc.stats().raw_allocations;
  for (int i = 0; i < 10; ++i) {
    Tensor t = empty({1000});
    CHECK(reinterpret_cast<uintptr_t>(t.raw_data()) % 64 == 0);
  }
  CHECK(alloc.stats().raw_allocations == raw_before);
}

TEST_CASE("caching allocator: varying sizes reuse larger blocks and the cache stays bounded") {
  auto& alloc = CachingAllocator::get(DeviceType::cpu);
  alloc.empty_cache();
  alloc.reset_peak();
  const size_t raw_before = alloc.stats().raw_allocations;
  { Tensor big = empty({3 << 20}); }  // 12 MiB, cached on release
  { Tensor smaller = empty({2 << 20}); }  // 8 MiB: served by the 12 MiB block
  CHECK(alloc.stats().raw_allocations == raw_before + 1);
  // Many distinct sizes, one at a time (text batches of varying length): the cache stays bounded.
  for (int64_t i = 0; i < 200; ++i) { Tensor t = empty({(int64_t(1) << 20) * 2 + i * 70000}); }
  CHECK(alloc.stats().cached <= std::max(CachingAllocator::kMinCacheLimit, alloc.stats().peak_in_use));
  CHECK(alloc.stats().in_use < (size_t(64) << 20));
}

TEST_CASE("printing shows values, dtype and shape") {
  Tensor t = from_vector<float>({1.5f, -2.0f, 3.0f, 4.0f}, {2, 2});
  std::string s = t.str();
  CHECK(s.find("[[1.5, -2], [3, 4]]") != std::string::npos);
  CHECK(s.find("f32[2, 2]") != std::string::npos);
}

TEST_CASE("element access and item check bounds and dtype") {
  Tensor t = zeros({2, 3});
  CHECK_THROWS_AS(t.at<float>({2, 0}), Error);
  CHECK_THROWS_AS(t.at<double>({0, 0}), Error);
  CHECK_THROWS_AS(t.item<float>(), Error);
  CHECK(scalar_tensor(2.5).item<float>() == 2.5f);
  CHECK_THROWS_AS(t.narrow(1, 2, 2), Error);
  CHECK_THROWS_AS(t.permute({0, 0}), Error);
  CHECK_THROWS_AS(t.reshape({4, -1}), Error);
}

TEST_CASE("in-place ops bump the storage version") {
  Tensor t = zeros({3});
  uint64_t v = t.storage()->version();
  t.add_(ones({3}), 2.0);
  CHECK(t.storage()->version() > v);
  CHECK(t.to_vector<float>() == std::vector<float>{2, 2, 2});
  t.mul_(0.5).fill_(7);
  CHECK(t.to_vector<float>() == std::vector<float>{7, 7, 7});
}

TEST_CASE("bf16: round to nearest even from f32 and f64 (no double rounding), exact widening, NaN, overflow, printing") {
  auto bits = [](auto v) { return bf16(v).bits; };
  CHECK(bits(1.0f) == 0x3F80);
  CHECK(bits(1.0f + std::ldexp(1.0f, -8)) == 0x3F80);                            // a tie: to the even 1.0
  CHECK(bits(1.0f + 3 * std::ldexp(1.0f, -8)) == 0x3F82);                        // a tie: to the even 1 + 2^-6
  CHECK(bits(1.0f + std::ldexp(1.0f, -8) + std::ldexp(1.0f, -20)) == 0x3F81);    // above the tie: up
  CHECK(bits(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40)) == 0x3F81);       // f32 would round this to the tie
  CHECK(bits(-1.0 - std::ldexp(1.0, -8) - std::ldexp(1.0, -40)) == 0xBF81);
  CHECK(bits(std::numeric_limits<float>::max()) == 0x7F80);                     // past bf16's largest finite: inf
  CHECK(bits(-std::numeric_limits<float>::infinity()) == 0xFF80);
  CHECK(std::isnan(float(bf16(std::nanf("")))));
  CHECK(std::isnan(float(bf16::from_bits(0x7F81))));  // a signalling NaN stays NaN (quietened on conversion)
  CHECK(std::isnan(float(bf16(float(bf16::from_bits(0x7F81))))));
  CHECK(float(bf16(int64_t(257))) == 256.0f);         // integers round too
  for (uint32_t b = 0; b < 0x10000; b += 7) {         // widening is exact: bf16 -> f32 -> bf16 is the identity
    const bf16 h = bf16::from_bits(uint16_t(b));
    if (!std::isnan(float(h))) CHECK(bf16(float(h)).bits == h.bits);
  }
  Tensor t = from_vector<float>({1.0f, -2.5f, 3.140625f}, {3}).to(DType::bf16);
  CHECK(t.dtype() == DType::bf16);
  CHECK(t.to(DType::f32).to_vector<float>() == std::vector<float>{1.0f, -2.5f, 3.140625f});
  CHECK(t.str().find("bf16") != std::string::npos);
  CHECK(t.str().find("3.14") != std::string::npos);
  CHECK((t * 2.0).to(DType::f32).to_vector<float>() == std::vector<float>{2.0f, -5.0f, 6.28125f});
  CHECK((t + from_vector<float>({0.5f, 0.5f, 0.5f}, {3})).dtype() == DType::f32);  // bf16 with f32: f32
}

}  // namespace cherry
