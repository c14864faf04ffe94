// Optimizer update steps (SGD, AdamW) on the device: one fused elementwise pass over a contiguous
// parameter, its gradient and its state. Every operation is an explicitly rounded intrinsic (no
// implicit FMA contraction), in the order of the CPU kernels (backends/cpu/optim_step.cpp) and of
// PyTorch's: float32 results equal the CPU's, and torch's, bit for bit.
#include <cstdint>

#include "backends/cuda/common.cuh"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

// p, g, buf:(n). d = g + wd*p (one fma); buf = first ? d : momentum*buf + d (two roundings);
// d = nesterov ? d + momentum*buf (fma) : buf; p = p - lr*d (fma).
template <class T>
__global__ void __launch_bounds__(kBlock) sgd_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ buf, int64_t n, T lr, T wd,
                                                     T momentum, bool nesterov, bool first) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    T d = wd != T(0) ? fma_rn(wd, p[i], g[i]) : g[i];
    if (buf) {
      const T b = first ? d : add_rn(mul_rn(momentum, buf[i]), d);
      buf[i] = b;
      d = nesterov ? fma_rn(momentum, b, d) : b;
    }
    p[i] = fma_rn(-lr, d, p[i]);
  }
}

// p, g, m, v:(n). torch's single-tensor AdamW: p *= decay; m = lerp(m, g, w); v = b2*v + w2*g*g;
// p += -step * m / (sqrt(v)/bc2 + eps).
template <class T>
__global__ void __launch_bounds__(kBlock) adamw_kernel(T* __restrict__ p, const T* __restrict__ g, T* __restrict__ m, T* __restrict__ v,
                                                       int64_t n, T decay, T w, T b2, T w2, T bc2, T neg_step, T eps) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    const T gi = g[i], mi0 = m[i];
    const T pi = mul_rn(p[i], decay);
    // torch's lerp: the weight < 0.5 form, exact at weight 0.
    const T mi = w < T(0.5) ? add_rn(mi0, mul_rn(w, sub_rn(gi, mi0))) : sub_rn(gi, mul_rn(sub_rn(gi, mi0), sub_rn(T(1), w)));
    const T vi = add_rn(mul_rn(b2, v[i]), mul_rn(mul_rn(w2, gi), gi));
    const T denom = add_rn(div_rn(sqrt_rn(vi), bc2), eps);
    m[i] = mi;
    v[i] = vi;
    p[i] = add_rn(pi, mul_rn(neg_step, div_rn(mi, denom)));
  }
}

void check_same_layout(const char* op, const Arg& p, const Arg& other, const char* what) {
  CHERRY_CHECK(!other.data || (other.dtype == p.dtype && other.numel() == p.numel() && other.is_contiguous()), op, what,
               " must be contiguous with the parameter's dtype and size");
}

}  // namespace

void sgd_step(const Arg& p, const Arg& g, const Arg& buf, const SgdStep& s) {
  CHERRY_CHECK(p.is_contiguous(), "sgd_step", "parameter must be contiguous");
  check_same_layout("sgd_step", p, g, "gradient");
  check_same_layout("sgd_step", p, buf, "momentum buffer");
  const int64_t n = p.numel();
  if (n == 0) return;
  dispatch_floating(p.dtype, "sgd_step", [&]<class T>() {
    sgd_kernel<T><<<blocks_for(n), kBlock, 0, stream()>>>(p.ptr<T>(), g.ptr<T>(), buf.data ? buf.ptr<T>() : nullptr, n, T(s.lr),
                                                          T(s.weight_decay), T(s.momentum), s.nesterov, s.first);
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

void adamw_step(const Arg& p, const Arg& g, const Arg& m, const Arg& v, const AdamWStep& s) {
  CHERRY_CHECK(p.is_contiguous() && m.data && v.data, "adamw_step", "parameter must be contiguous, with both state buffers");
  check_same_layout("adamw_step", p, g, "gradient");
  check_same_layout("adamw_step", p, m, "exp_avg");
  check_same_layout("adamw_step", p, v, "exp_avg_sq");
  const int64_t n = p.numel();
  if (n == 0) return;
  dispatch_floating(p.dtype, "adamw_step", [&]<class T>() {
    adamw_kernel<T><<<blocks_for(n), kBlock, 0, stream()>>>(p.ptr<T>(), g.ptr<T>(), m.ptr<T>(), v.ptr<T>(), n, T(s.decay), T(s.one_minus_beta1),
                                                            T(s.beta2), T(s.one_minus_beta2), T(s.bc2_sqrt), T(-s.step_size), T(s.eps));
    CHERRY_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace cherry::cuda
