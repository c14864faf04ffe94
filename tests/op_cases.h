// The op harness's case table: each case is an op applied to generated inputs. The harness
// (test_ops.cpp) runs every case on the CPU backend, on the CUDA backend where a device exists, and
// on the reference backend (forward and backward), and through a float64 gradient check.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cherry::test {

struct Input {
  enum class Kind { normal, positive, distinct, index, mask } kind = Kind::normal;
  Shape shape;
  int64_t high = 0;          // index: values in [0, high)
  bool transposed = false;   // build as a non-contiguous view (last two dims swapped)
};

struct OpCase {
  std::string name;
  std::vector<Input> inputs;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  bool differentiable = true;
  double rtol = 1e-4, atol = 1e-5;  // CPU vs reference, f32
  double gc_eps = 1e-6;             // gradient-check step
  // The bf16 run (test_ops.cpp): floating inputs go in as bf16 except these, which stay f32 as
  // parameters and routing do in mixed precision; bf16 = false: the op has no bf16 path by design
  // (optimizer updates keep f32 master weights).
  std::vector<size_t> f32_inputs{};
  bool bf16 = true;
};

std::vector<OpCase> op_cases();

inline Input N(Shape s) { return {Input::Kind::normal, std::move(s)}; }
inline Input NT(Shape s) { return {Input::Kind::normal, std::move(s), 0, true}; }
inline Input P(Shape s) { return {Input::Kind::positive, std::move(s)}; }
inline Input D(Shape s) { return {Input::Kind::distinct, std::move(s)}; }
inline Input I(Shape s, int64_t high) { return {Input::Kind::index, std::move(s), high}; }
inline Input M(Shape s) { return {Input::Kind::mask, std::move(s)}; }

}  // namespace cherry::test
