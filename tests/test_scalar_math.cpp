// The float exp and erfc used by the CPU kernels against double precision: relative error bounds
// wherever the result is a normal float (so GELU's far negative tail keeps its relative accuracy).
#include <cmath>
#include <limits>

#include "backends/scalar_math.h"
#include "tests/test_util.h"

namespace cherry {

TEST_CASE("erfc_fast: relative error below 5e-7 against double std::erfc on [-6, 9]") {
  double worst = 0, at = 0;
  for (int i = -60000; i <= 90000; ++i) {
    const float z = float(i) * 1e-4f;
    const double ref = std::erfc(double(z));
    if (ref < 1e-36) continue;  // below float's normal range
    const double rel = std::abs(double(math::erfc_fast(z)) - ref) / ref;
    if (rel > worst) worst = rel, at = z;
  }
  CAPTURE(at);
  CHECK(worst < 5e-7);
  CHECK(math::gelu(-8.0f) / float(math::gelu(-8.0)) == doctest::Approx(1.0).epsilon(1e-6));
}

TEST_CASE("exp_fast: relative error below 2e-7 against double std::exp over float's normal range") {
  double worst = 0, at = 0;
  for (int i = -873365; i <= 887228; ++i) {
    const float x = float(i) * 1e-4f;
    const double ref = std::exp(double(x));
    if (ref < double(std::numeric_limits<float>::min())) continue;
    const double rel = std::abs(double(math::exp_fast(x)) - ref) / ref;
    if (rel > worst) worst = rel, at = x;
  }
  CAPTURE(at);
  CHECK(worst < 2e-7);
  CHECK(math::exp_fast(0.f) == 1.f);
  CHECK(math::exp_fast(89.f) == std::numeric_limits<float>::infinity());
  CHECK(math::exp_fast(std::numeric_limits<float>::infinity()) == std::numeric_limits<float>::infinity());
  CHECK(math::exp_fast(-std::numeric_limits<float>::infinity()) == 0.f);
  CHECK(math::exp_fast(-200.f) == 0.f);
  CHECK(std::isnan(math::exp_fast(std::numeric_limits<float>::quiet_NaN())));
}

}  // namespace cherry
