// The float erfc used by GELU on the CPU against double-precision std::erfc: relative error below
// 5e-7 wherever erfc is a normal float (so GELU's far negative tail keeps its relative accuracy).
#include <cmath>

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

}  // namespace cherry
