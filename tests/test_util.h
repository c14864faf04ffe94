// Helpers shared by the tests: tolerance comparison with a readable failure message.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "autograd/ops.h"

namespace cherry::test {

// A unique folder under the system temp dir, deleted with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    static std::atomic<int> n{0};
    path = std::filesystem::temp_directory_path() / cat("cherry_test_", std::random_device{}(), "_", n++);
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
  std::vector<std::string> listing() const {  // file names in the folder, sorted
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(path)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

// max |a-b| / (atol + rtol*|b|) <= 1, elementwise, after casting both to f64.
inline std::string mismatch(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.shape() != b.shape()) return "shape " + a.describe() + " vs " + b.describe();
  auto x = a.to(DType::f64).contiguous().to_vector<double>(), y = b.to(DType::f64).contiguous().to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) {
    const bool both_nan = std::isnan(x[i]) && std::isnan(y[i]);
    if (!both_nan && !(std::abs(x[i] - y[i]) <= atol + rtol * std::abs(y[i])))
      return cat("element ", i, ": ", x[i], " vs ", y[i], " (", a.describe(), ")");
  }
  return "";
}

#define CHECK_CLOSE(a, b, rtol, atol)                                 \
  do {                                                                \
    const std::string m_ = ::cherry::test::mismatch((a), (b), (rtol), (atol)); \
    CHECK_MESSAGE(m_.empty(), m_);                                    \
  } while (0)

}  // namespace cherry::test
