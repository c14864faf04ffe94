// SGD update: one fused pass over contiguous CPU data per parameter. Scalars are rounded to the
// parameter's dtype first and each element is rounded where PyTorch's kernels round, so float32
// results equal torch's bit for bit (tests/test_optim.cpp checks 5 steps against a fixture).
#include "optim/sgd.h"

#include <cmath>

namespace cherry {

namespace {

std::vector<std::string> buffer_names(const SgdOptions& o) {
  if (o.momentum != 0.0) return {"momentum_buffer"};
  return {};
}

// p, g, buf: (n). first: the buffer takes g itself (torch clones the grad on the first update).
// torch's x.add(y, alpha=a) is one fused multiply-add, its mul_ then add_ two roundings; std::fma
// and this target's -ffp-contract=off reproduce exactly that.
template <class T>
void sgd_update(T* p, const T* g, T* buf, int64_t n, T lr, T wd, T momentum, bool nesterov, bool first) {
  detail::parallel_chunks(n, [=](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      T d = wd != T(0) ? std::fma(wd, p[i], g[i]) : g[i];
      if (buf) {
        buf[i] = first ? d : momentum * buf[i] + d;
        d = nesterov ? std::fma(momentum, buf[i], d) : buf[i];
      }
      p[i] = std::fma(-lr, d, p[i]);
    }
  });
}

}  // namespace

SGD::SGD(std::vector<ParamGroup> groups, const SgdOptions& options)
    : Optimizer("SGD", std::move(groups), options.lr, buffer_names(options)), options_(options) {
  CHERRY_CHECK(options.momentum >= 0.0, "SGD", "momentum must be >= 0, got ", options.momentum);
  CHERRY_CHECK(!options.nesterov || options.momentum > 0.0, "SGD", "nesterov needs momentum > 0");
}

SGD::SGD(const NamedParams& params, const SgdOptions& options, double weight_decay)
    : SGD(std::vector<ParamGroup>{ParamGroup{params, weight_decay}}, options) {}

void SGD::update(Slot& s, const Tensor& grad, double lr) {
  const bool first = s.step == 1;
  auto run = [&]<class T>(T) {
    T* buf = s.buffers.empty() ? nullptr : s.buffers[0].data_ptr<T>();
    sgd_update<T>(s.param.data_ptr<T>(), grad.data_ptr<T>(), buf, s.param.numel(), T(lr), T(s.weight_decay), T(options_.momentum),
                  options_.nesterov, first);
  };
  if (s.param.dtype() == DType::f32)
    run(float{});
  else
    run(double{});
}

}  // namespace cherry
