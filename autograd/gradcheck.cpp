#include "autograd/gradcheck.h"

#include <cmath>

#include "autograd/ops.h"
#include "core/rng.h"

namespace cherry {

GradcheckResult gradcheck_leaves(const std::function<Tensor()>& f, const std::vector<Tensor>& leaves, const GradcheckOptions& o) {
  for (const auto& t : leaves)
    CHERRY_CHECK(t.requires_grad() && t.is_leaf() && t.dtype() == DType::f64 && t.device().is_cpu() && t.is_contiguous(), "gradcheck",
                 "leaves must be contiguous CPU f64 tensors that require grad, got ", t.describe());
  auto eval = [&] {
    manual_seed(o.seed);
    return f();
  };
  for (auto t : leaves) t.zero_grad();
  Tensor y = eval();
  CHERRY_CHECK(y.dtype() == DType::f64, "gradcheck", "output must be f64, got ", y.describe());
  Generator g(o.seed + 1);
  const Tensor cot = randn(y.shape(), DType::f64, kCPU, g);
  sum(mul(y, cot)).backward();

  GradcheckResult r;
  NoGradGuard ng;
  for (size_t k = 0; k < leaves.size(); ++k) {
    Tensor leaf = leaves[k];
    std::vector<double> a = leaf.grad().defined() ? leaf.grad().contiguous().to_vector<double>() : std::vector<double>(size_t(leaf.numel()), 0.0);
    double* x = leaf.data_ptr<double>();
    for (int64_t i = 0; i < leaf.numel(); ++i) {
      const double orig = x[i];
      x[i] = orig + o.eps;
      const double lp = sum(mul(eval(), cot)).item<double>();
      x[i] = orig - o.eps;
      const double lm = sum(mul(eval(), cot)).item<double>();
      x[i] = orig;
      const double numeric = (lp - lm) / (2 * o.eps), err = std::abs(numeric - a[size_t(i)]);
      r.max_abs_error = std::max(r.max_abs_error, err);
      if (r.ok && !(err <= o.atol + o.rtol * std::abs(numeric))) {
        r.ok = false;
        r.message = cat("leaf ", k, " ", leaf.describe(), " element ", i, ": analytic ", a[size_t(i)], " vs numeric ", numeric);
      }
    }
  }
  return r;
}

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs_in,
                          const GradcheckOptions& o) {
  std::vector<Tensor> inputs, leaves;
  for (const auto& t : inputs_in) {
    if (t.defined() && t.requires_grad()) {
      CHERRY_CHECK(t.dtype() == DType::f64 && t.device().is_cpu(), "gradcheck", "inputs that require grad must be CPU f64, got ", t.describe());
      inputs.push_back(t.detach().contiguous().clone().set_requires_grad(true));
      leaves.push_back(inputs.back());
    } else {
      inputs.push_back(t);
    }
  }
  return gradcheck_leaves([&] { return f(inputs); }, leaves, o);
}

}  // namespace cherry
