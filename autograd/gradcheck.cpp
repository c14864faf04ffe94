#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/ops.h"
#include "core/rng.h"

namespace cherry {

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs_in,
                          const GradcheckOptions& o) {
  std::vector<Tensor> inputs;
  for (const auto& t : inputs_in) {
    if (t.defined() && t.requires_grad()) {
      CHERRY_CHECK(t.dtype() == DType::f64 && t.device().is_cpu(), "gradcheck", "inputs that require grad must be CPU f64, got ", t.describe());
      inputs.push_back(t.detach().contiguous().clone().set_requires_grad(true));
    } else {
      inputs.push_back(t);
    }
  }
  auto eval = [&](const std::vector<Tensor>& xs) {
    manual_seed(o.seed);
    return f(xs);
  };
  Tensor y = eval(inputs);
  CHERRY_CHECK(y.dtype() == DType::f64, "gradcheck", "output must be f64, got ", y.describe());
  Generator g(o.seed + 1);
  const Tensor cot = randn(y.shape(), DType::f64, kCPU, g);
  sum(mul(y, cot)).backward();

  GradcheckResult r;
  NoGradGuard ng;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (!inputs[k].defined() || !inputs[k].requires_grad()) continue;
    Tensor analytic = inputs[k].grad();
    std::vector<double> a = analytic.defined() ? analytic.contiguous().to_vector<double>() : std::vector<double>(size_t(inputs[k].numel()), 0.0);
    double* x = inputs[k].data_ptr<double>();
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      const double orig = x[i];
      x[i] = orig + o.eps;
      const double lp = sum(mul(eval(inputs), cot)).item<double>();
      x[i] = orig - o.eps;
      const double lm = sum(mul(eval(inputs), cot)).item<double>();
      x[i] = orig;
      const double numeric = (lp - lm) / (2 * o.eps), err = std::abs(numeric - a[size_t(i)]);
      r.max_abs_error = std::max(r.max_abs_error, err);
      if (r.ok && !(err <= o.atol + o.rtol * std::abs(numeric))) {
        r.ok = false;
        r.message = cat("input ", k, " ", inputs[k].describe(), " element ", i, ": analytic ", a[size_t(i)], " vs numeric ", numeric);
      }
    }
  }
  return r;
}

}  // namespace cherry
