#include "layers/pad_layer.h"

#include <algorithm>

#include "autograd/ops.h"

namespace cherry {

PadLayer::PadLayer(const Shape& shape, int64_t factors_k, const PadOptions& o, const std::function<Tensor(const Shape&)>& init)
    : shape_(shape), numel_(numel_of(shape)), mode_(o.mode), scale_(o.scale) {
  CHERRY_CHECK(factors_k >= 1, "PadLayer", "needs at least one dynamic factor, got K = ", factors_k);
  std::vector<Tensor> ks;
  for (int64_t k = 0; k < factors_k; ++k) ks.push_back(init(shape));
  factors = register_parameter("weight", stack(ks, 0));
  if (!is_pad()) return;
  static_weight = register_parameter("static_weight", init(shape));
  mask = register_buffer("mask", ones(shape));
  if (scale_) phi = register_parameter("phi", zeros({}));
}

Tensor PadLayer::lambda_d() const { return has_scale() ? 2.0 * sigmoid(phi) : scalar_tensor(1.0, factors.dtype(), factors.device()); }

Tensor PadLayer::lambda_s() const { return has_scale() ? 2.0 - lambda_d() : scalar_tensor(1.0, factors.dtype(), factors.device()); }

double PadLayer::lambda_d_value() const {
  NoGradGuard ng;
  return lambda_d().to(DType::f64).item<double>();
}

Tensor PadLayer::dynamic_factors() const {
  if (!is_pad()) return factors;
  return factors * (has_scale() ? lambda_d() * mask : mask);
}

Tensor PadLayer::static_part() const {
  if (!is_pad()) return {};
  return static_weight * (has_scale() ? lambda_s() * (1.0 - mask) : 1.0 - mask);
}

int64_t PadLayer::dynamic_entries() const {
  if (!is_pad()) return numel_;
  NoGradGuard ng;
  return int64_t(sum(mask.to(DType::f64)).item<double>() + 0.5);
}

void PadLayer::set_mask(const Tensor& m, bool static_from_factors) {
  CHERRY_CHECK(is_pad(), "PadLayer", "a fully dynamic layer has no mask");
  CHERRY_CHECK(m.shape() == shape_, "PadLayer", "mask shape ", shape_str(m.shape()), " does not match the weight shape ", shape_str(shape_));
  NoGradGuard ng;
  const Tensor next = m.to(mask.device()).to(mask.dtype());  // masks may be built on the host (IMP)
  if (static_from_factors) {
    const Tensor turning_static = mask * (1.0 - next);  // 1 where M goes 1 -> 0
    static_weight.copy_(static_weight + turning_static * (factors_as_static() - static_weight));
  }
  mask.copy_(next);
}

Tensor PadLayer::factors_as_static() const {
  NoGradGuard ng;
  return mean(factors, {0}) * (lambda_d_value() / std::max(lambda_s_value(), 1e-6));
}

void PadLayer::set_static_from_factors() {
  CHERRY_CHECK(is_pad(), "PadLayer", "a fully dynamic layer has no static part");
  NoGradGuard ng;
  static_weight.copy_(factors_as_static());
}

int64_t PadLayer::stored_values() const {
  const int64_t d = dynamic_entries();
  return num_factors() * d + (is_pad() ? numel_ - d : 0);
}

FoldedPad PadLayer::fold() const {
  NoGradGuard ng;
  FoldedPad f;
  const Tensor flat_mask = is_pad() ? mask.reshape({numel_}) : ones({numel_}, factors.dtype());
  std::vector<int64_t> idx;
  const auto m = flat_mask.to(DType::f32).contiguous().to_vector<float>();
  for (int64_t i = 0; i < numel_; ++i)
    if (m[size_t(i)] > 0.5f) idx.push_back(i);
  f.index = from_vector(idx, {int64_t(idx.size())});
  f.static_dense = is_pad() ? static_part().contiguous() : zeros(shape_, factors.dtype());
  f.values = index_select(dynamic_factors().reshape({num_factors(), numel_}), 1, f.index).contiguous();
  return f;
}

std::string PadLayer::pad_repr() const {
  if (!is_pad()) return cat("K=", num_factors(), ", dynamic");
  return cat("K=", num_factors(), ", pad, kappa=", kappa(), has_scale() ? "" : ", no scale");
}

}  // namespace cherry
