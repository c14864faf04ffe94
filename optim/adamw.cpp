// AdamW update: one fused pass over contiguous CPU data per parameter. Step-dependent scalars are
// computed in double, then rounded to the parameter's dtype, and each element follows the order of
// PyTorch's single-tensor path (lerp, mul+addcmul, sqrt/div+eps, addcdiv), so float32 results equal
// torch's bit for bit.
#include "optim/adamw.h"

#include <cmath>

namespace cherry {

namespace {

struct AdamScalars {
  double decay;  // 1 - lr*wd
  double one_minus_beta1, beta2, one_minus_beta2;
  double bc2_sqrt;   // sqrt(1 - beta2^t)
  double step_size;  // lr / (1 - beta1^t)
  double eps;
};

// p, g, m, v: (n).
template <class T>
void adamw_update(T* p, const T* g, T* m, T* v, int64_t n, const AdamScalars& s) {
  detail::parallel_chunks(n, [=](int64_t i0, int64_t i1) {
    // Locals, not captures: stores to m/v could alias captured floats, which blocks vectorizing.
    const T decay = T(s.decay), w = T(s.one_minus_beta1), b2 = T(s.beta2), w2 = T(s.one_minus_beta2), bc2 = T(s.bc2_sqrt),
            neg_step = T(-s.step_size), eps = T(s.eps);
    for (int64_t i = i0; i < i1; ++i) {
      const T pi = p[i] * decay;
      // torch's lerp: the weight < 0.5 form, exact at weight 0.
      const T mi = w < T(0.5) ? m[i] + w * (g[i] - m[i]) : g[i] - (g[i] - m[i]) * (T(1) - w);
      const T vi = b2 * v[i] + w2 * g[i] * g[i];
      const T denom = std::sqrt(vi) / bc2 + eps;
      m[i] = mi, v[i] = vi;
      p[i] = pi + neg_step * (mi / denom);
    }
  });
}

}  // namespace

AdamW::AdamW(std::vector<ParamGroup> groups, const AdamWOptions& options)
    : Optimizer("AdamW", std::move(groups), options.lr, {"exp_avg", "exp_avg_sq"}), options_(options) {
  CHERRY_CHECK(options.beta1 >= 0.0 && options.beta1 < 1.0, "AdamW", "beta1 must be in [0, 1), got ", options.beta1);
  CHERRY_CHECK(options.beta2 >= 0.0 && options.beta2 < 1.0, "AdamW", "beta2 must be in [0, 1), got ", options.beta2);
  CHERRY_CHECK(options.eps >= 0.0, "AdamW", "eps must be >= 0, got ", options.eps);
}

AdamW::AdamW(const NamedParams& params, const AdamWOptions& options, double weight_decay)
    : AdamW(std::vector<ParamGroup>{ParamGroup{params, weight_decay}}, options) {}

void AdamW::update(Slot& s, const Tensor& grad, double lr) {
  const auto& o = options_;
  const double t = double(s.step);
  AdamScalars k{1.0 - lr * s.weight_decay,         1.0 - o.beta1, o.beta2, 1.0 - o.beta2, std::sqrt(1.0 - std::pow(o.beta2, t)),
                lr / (1.0 - std::pow(o.beta1, t)), o.eps};
  auto run = [&]<class T>(T) {
    adamw_update<T>(s.param.data_ptr<T>(), grad.data_ptr<T>(), s.buffers[0].data_ptr<T>(), s.buffers[1].data_ptr<T>(), s.param.numel(), k);
  };
  if (s.param.dtype() == DType::f32)
    run(float{});
  else
    run(double{});
}

}  // namespace cherry
