// SGD update, run by the parameter's backend (backends/*: sgd_step), one fused pass per parameter.
// Scalars are rounded to the parameter's dtype first and each element is rounded where PyTorch's
// kernels round, so float32 results equal torch's bit for bit (tests/test_optim.cpp checks 5 steps
// against a fixture), on the CPU and on CUDA alike.
#include "optim/sgd.h"

#include "backends/backend.h"

namespace cherry {

namespace {

std::vector<std::string> buffer_names(const SgdOptions& o) {
  if (o.momentum != 0.0) return {"momentum_buffer"};
  return {};
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
  const SgdStep k{lr, s.weight_decay, options_.momentum, options_.nesterov, s.step == 1};
  const Arg buf = s.buffers.empty() ? Arg{nullptr, s.param.dtype(), {}, {}} : s.buffers[0].arg();
  backend_for(s.param.device().type).sgd_step(s.param.arg(), grad.arg(), buf, k);
}

}  // namespace cherry
