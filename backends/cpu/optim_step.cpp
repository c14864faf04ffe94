// Optimizer update steps (SGD, AdamW): one fused pass over a contiguous parameter, its gradient and
// its state buffers. Scalars are rounded to the parameter's dtype first and each element is rounded
// where PyTorch's kernels round, so float32 results equal torch's bit for bit (tests/test_optim.cpp
// checks trajectories against a fixture). Compiled with -ffp-contract=off (backends/CMakeLists.txt):
// no silent a*b+c fusing; fused only where written with std::fma.
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

namespace {
// f(i0, i1) over fixed 32K-element chunks, in parallel when there is more than one.
template <class F> void parallel_chunks(int64_t n, F&& f) {
  constexpr int64_t kChunk = 1 << 15;
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  if (chunks <= 1) {
    if (n > 0) f(int64_t(0), n);
    return;
  }
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; ++c) f(c * kChunk, std::min(n, (c + 1) * kChunk));
}
}  // namespace

// p, g, buf:(n). first: the buffer takes d itself (torch clones the grad on the first update).
// torch's x.add(y, alpha=a) is one fused multiply-add, its mul_ then add_ two roundings.
void sgd_step(const Arg& p_arg, const Arg& g_arg, const Arg& buf_arg, const SgdStep& s) {
  dispatch_floating(p_arg.dtype, "sgd_step", [&]<class T>() {
    T* p = p_arg.ptr<T>();
    const T* g = g_arg.ptr<T>();
    T* buf = buf_arg.data ? buf_arg.ptr<T>() : nullptr;
    const T lr = T(s.lr), wd = T(s.weight_decay), momentum = T(s.momentum);
    const bool nesterov = s.nesterov, first = s.first;
    parallel_chunks(p_arg.numel(), [=](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        T d = wd != T(0) ? std::fma(wd, p[i], g[i]) : g[i];
        if (buf) {
          buf[i] = first ? d : momentum * buf[i] + d;
          d = nesterov ? std::fma(momentum, buf[i], d) : buf[i];
        }
        p[i] = std::fma(-lr, d, p[i]);
      }
    });
  });
}

// p, g, m, v:(n). torch's single-tensor path: lerp, mul+addcmul, sqrt/div+eps, addcdiv.
void adamw_step(const Arg& p_arg, const Arg& g_arg, const Arg& m_arg, const Arg& v_arg, const AdamWStep& s) {
  dispatch_floating(p_arg.dtype, "adamw_step", [&]<class T>() {
    T* p = p_arg.ptr<T>();
    const T* g = g_arg.ptr<T>();
    T* m = m_arg.ptr<T>();
    T* v = v_arg.ptr<T>();
    parallel_chunks(p_arg.numel(), [=](int64_t i0, int64_t i1) {
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
  });
}

}  // namespace cherry::cpu
