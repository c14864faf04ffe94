// Finite-difference gradient checking (float64, central differences) for ops and layers:
// compares the autograd gradient of sum(f(x) * R), R a fixed random cotangent, with
// (L(x + eps) - L(x - eps)) / 2eps, one input element at a time.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cherry {

struct GradcheckOptions {
  double eps = 1e-6, atol = 1e-6, rtol = 1e-4;
  uint64_t seed = 1234;  // reseeds the default generator before every evaluation (dropout etc.)
};

struct GradcheckResult {
  bool ok = true;
  std::string message;  // names the first input/element that failed
  double max_abs_error = 0;
};

// f maps the inputs to one floating output. Inputs that require grad are checked; they must be
// CPU f64 tensors. Others (indices, masks) are passed through unchanged.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                          const GradcheckOptions& options = {});

// The same check where f closes over its leaves (a module's parameters and a fixed input): each
// leaf must be a contiguous CPU f64 tensor that requires grad; it is perturbed in place.
GradcheckResult gradcheck_leaves(const std::function<Tensor()>& f, const std::vector<Tensor>& leaves, const GradcheckOptions& options = {});

}  // namespace cherry
