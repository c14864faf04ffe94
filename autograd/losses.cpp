// Losses and dropout, composed from differentiable ops so their gradients come for free
// (and are covered by the same gradient checks).
#include "autograd/op_helpers.h"
#include "core/rng.h"

namespace cherry {
using namespace detail;

namespace {
Tensor reduce(const Tensor& per_item, Reduction r) {
  return r == Reduction::none ? per_item : r == Reduction::sum ? sum(per_item) : mean(per_item);
}
}  // namespace

// loss_i = -(1-eps) * logp[i, y_i] - eps/C * sum_c logp[i, c] for non-ignored i.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing, int64_t ignore_index, Reduction reduction) {
  CHERRY_CHECK(logits.dim() == 2, "cross_entropy", "logits must be (N, C), got ", logits.describe());
  CHERRY_CHECK(target.dtype() == DType::i64 && target.dim() == 1 && target.size(0) == logits.size(0), "cross_entropy",
               "target must be i64 (N) for logits ", logits.describe(), ", got ", target.describe());
  CHERRY_CHECK(label_smoothing >= 0 && label_smoothing <= 1, "cross_entropy", "label_smoothing must be in [0, 1]");
  Tensor valid = compare(BinaryOp::ne, target, scalar_tensor(double(ignore_index), DType::i64, target.device()));
  // Ignored rows gather class 0 and are masked out below; any other target outside [0, C) is
  // rejected by gather's own range check.
  Tensor safe_target = where(valid, target, zeros({}, DType::i64, target.device()));
  Tensor logp = log_softmax(logits, 1);
  Tensor nll = neg(gather(logp, 1, safe_target.unsqueeze(1)).squeeze(1));
  Tensor loss = label_smoothing > 0 ? nll * (1.0 - label_smoothing) + neg(mean(logp, {1})) * label_smoothing : nll;
  Tensor mask = valid.to(logp.dtype());
  loss = loss * mask;
  if (reduction == Reduction::mean) return sum(loss) / sum(mask);
  return reduce(loss, reduction);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  CHERRY_CHECK(input.shape() == target.shape(), "mse_loss", "input ", input.describe(), " and target ", target.describe(), " differ");
  return reduce(square(upcast_bf16(input) - target), reduction);  // in f32 for bf16 input
}

Tensor dropout(const Tensor& x, double p, bool training) {
  CHERRY_CHECK(p >= 0 && p < 1, "dropout", "p must be in [0, 1), got ", p);
  if (!training || p == 0) return x;
  // The mask of a bf16 x is f32 (so is the result): 1/(1-p) in bf16 would scale every kept value
  // by the same rounding error (-0.16% at p = 0.1), a bias, not noise.
  const DType mask = x.dtype() == DType::bf16 ? DType::f32 : x.dtype();
  return x * bernoulli_scaled(x.shape(), 1 - p, 1 / (1 - p), mask, x.device());
}

}  // namespace cherry
