#include "layers/moe_linear.h"

#include <cmath>

#include "autograd/ops.h"
#include "core/rng.h"
#include "layers/init.h"

namespace cherry {

Tensor cv_squared(const Tensor& x) {
  if (x.numel() <= 1) return zeros({}, x.dtype(), x.device());
  Tensor m = mean(x);
  return var(x) / (square(m) + 1e-10);
}

MoeLinear::MoeLinear(int64_t in_features, int64_t out_features, const MoeOptions& o)
    : PadLayer({out_features, in_features}, o.experts, o.pad, [](const Shape& s) { return init::default_weight(s); }),
      in_(in_features),
      out_(out_features),
      top_k_(o.top_k),
      noise_epsilon_(o.noise_epsilon),
      upcycle_reinit_(o.upcycle_reinit),
      noisy_(o.noisy) {
  CHERRY_CHECK(o.router_init_std >= 0 && o.upcycle_reinit >= 0 && o.upcycle_reinit <= 1, "MoeLinear",
               "router_init_std must be >= 0 and upcycle_reinit in [0, 1], got ", o.router_init_std, " and ", o.upcycle_reinit);
  CHERRY_CHECK(o.top_k >= 1 && o.top_k <= o.experts, "MoeLinear", "top-k must be in [1, experts], got k = ", o.top_k, " with ",
               o.experts, " experts");
  std::vector<Tensor> bs;
  for (int64_t e = 0; e < o.experts; ++e) bs.push_back(init::default_bias(out_features, in_features));
  bias = register_parameter("bias", stack(bs, 0));
  // Zero-initialised router and noise weights (Shazeer et al.): routing starts uniform; or a small
  // random router, which breaks the symmetry between upcycled copies from the first step.
  w_gate = register_parameter("w_gate", o.router_init_std > 0 ? randn({in_features, o.experts}) * o.router_init_std
                                                              : zeros({in_features, o.experts}));
  w_noise = register_parameter("w_noise", zeros({in_features, o.experts}));
}

void MoeLinear::upcycle_from(const Tensor& weight, const Tensor& b, int64_t hidden_axis) {
  CHERRY_CHECK(weight.shape() == weight_shape(), "MoeLinear", "upcycling needs a weight of shape ", shape_str(weight_shape()),
               ", got ", shape_str(weight.shape()));
  CHERRY_CHECK(hidden_axis == 0 || hidden_axis == 1, "MoeLinear", "hidden_axis must be 0 or 1, got ", hidden_axis);
  NoGradGuard ng;
  const Tensor w = weight.to(DType::f64);
  const double mu = mean(w).item<double>(), sd = std::sqrt(mean(square(w - mu)).item<double>());
  const int64_t units = weight.size(hidden_axis), redraw = std::llround(upcycle_reinit_ * double(units));
  for (int64_t e = 0; e < experts(); ++e) {
    Tensor expert = weight.unsqueeze(0);
    if (redraw > 0) {  // the first `redraw` of a random permutation of the hidden units
      Shape keep_shape = {1, 1, 1};
      keep_shape[size_t(hidden_axis) + 1] = units;
      const Tensor chosen = lt(randperm(units, weight.device()), scalar_tensor(double(redraw), DType::i64, weight.device()))
                                .to(weight.dtype())
                                .reshape(keep_shape);
      const Tensor drawn = randn(weight_shape(), weight.dtype(), weight.device()) * sd + mu;
      expert = expert + chosen * (drawn.unsqueeze(0) - expert);
    }
    factors.narrow(0, e, 1).copy_(expert);
    if (b.defined()) bias.narrow(0, e, 1).copy_(b.unsqueeze(0));
  }
  if (!b.defined()) bias.zero_();
  if (is_pad()) static_weight.copy_(weight);
}

// The router runs in f32 under autocast (a bf16 x is cast up): gates and balance loss are routing.
MoeRoute noisy_top_k(const Tensor& x_in, const Tensor& w_gate, const Tensor& w_noise, int64_t k, bool noisy, double noise_epsilon) {
  AutocastGuard routing(DType::f32);
  const Tensor x = x_in.to(master_dtype(x_in.dtype()));
  const int64_t T = x.size(0), E = w_gate.size(1);
  Tensor clean = matmul(x, w_gate);
  Tensor logits = clean, noise_std;
  if (noisy) {
    noise_std = softplus(matmul(x, w_noise)) + noise_epsilon;
    logits = clean + randn({T, E}, x.dtype(), x.device()) * noise_std;
  }
  auto [top_values, top_idx] = topk(logits, std::min(k + 1, E), 1);
  MoeRoute r;
  r.gates_k = softmax(top_values.narrow(1, 0, k), 1);
  r.top_idx = top_idx.narrow(1, 0, k).contiguous();
  r.gates = scatter_add(zeros({T, E}, x.dtype(), x.device()), 1, r.top_idx, r.gates_k);
  r.clean_logits = clean;
  Tensor load;
  if (noisy && k < E) {
    // Smooth load: the probability that each expert stays in the top k under fresh noise.
    Tensor if_in = top_values.narrow(1, k, 1), if_out = top_values.narrow(1, k - 1, 1);
    Tensor is_in = gt(logits, if_in);
    Tensor prob = where(is_in, normal_cdf((clean - if_in) / noise_std), normal_cdf((clean - if_out) / noise_std));
    load = sum(prob, {0});
  } else {
    NoGradGuard ng;
    load = sum(gt(r.gates, zeros({}, x.dtype(), x.device())).to(x.dtype()), {0});
  }
  r.balance_loss = cv_squared(sum(r.gates, {0})) + cv_squared(load);
  return r;
}

Tensor mix_experts(const Tensor& x, const MoeRoute& r, const Tensor& weights, const Tensor& bias, std::vector<int64_t>* tokens_per_expert) {
  const int64_t T = x.size(0), E = weights.size(0), out = weights.size(1), k = r.top_idx.size(1);
  // The T*k (token, slot) choices sorted by expert (a counting sort; token order kept within an
  // expert), so one gather, one grouped GEMM and one scatter-add serve all experts.
  const std::vector<int64_t> chosen = r.top_idx.to(kCPU).to_vector<int64_t>();
  std::vector<int64_t> sizes(size_t(E), 0), next(size_t(E), 0), rows(chosen.size()), slots(chosen.size());
  for (int64_t e : chosen) ++sizes[size_t(e)];
  for (int64_t e = 1; e < E; ++e) next[size_t(e)] = next[size_t(e - 1)] + sizes[size_t(e - 1)];
  for (int64_t s = 0; s < T * k; ++s) {
    const int64_t at = next[size_t(chosen[size_t(s)])]++;
    rows[size_t(at)] = s / k, slots[size_t(at)] = s;
  }
  if (tokens_per_expert) *tokens_per_expert = sizes;
  Tensor y = zeros({T, out}, x.dtype(), x.device());
  if (T == 0) return y;
  const Tensor row_index = from_vector(rows, {T * k}).to(x.device());
  const Tensor gates = index_select(r.gates_k.reshape({T * k}), 0, from_vector(slots, {T * k}).to(x.device()));
  const Tensor expert_out = grouped_linear(index_select(x, 0, row_index), sizes, weights, bias);
  return index_add(y, 0, row_index, expert_out * gates.unsqueeze(1));
}

Tensor MoeLinear::forward(const Tensor& x_in) {
  CHERRY_CHECK(x_in.dim() >= 1 && x_in.size(-1) == in_, "MoeLinear", "expected input [..., ", in_, "], got ", shape_str(x_in.shape()));
  Shape out_shape = x_in.shape();
  out_shape.back() = out_;
  Tensor x = x_in.reshape({-1, in_});
  const int64_t T = x.size(0), E = experts();
  MoeRoute r = noisy_top_k(x, w_gate, w_noise, top_k_, training() && noisy_, noise_epsilon_);
  balance_loss_ = r.balance_loss;
  // PAD: expert e's kernel is Theta_e = dynamic_e + static (docs/PADNET.md §5). Adding the static part to
  // the E expert kernels costs one E*N elementwise add; applying it to every token as its own product
  // would cost a third dense GEMM per FFN linear. Both are the same: the gates of a token's chosen
  // experts sum to 1 (and a gradient equal across a token's slots vanishes through their softmax).
  const Tensor weights = is_pad() ? dynamic_factors() + static_part().unsqueeze(0) : dynamic_factors();
  Tensor y = mix_experts(x, r, weights, bias, &routing_.tokens_per_expert);

  {  // audit record
    NoGradGuard ng;
    routing_.tokens = T;
    routing_.gates = r.gates.detach().to(kCPU);
    if (E > 1 && T > 0) {
      Tensor p = softmax(r.clean_logits.detach().to(DType::f64), 1);
      routing_.router_entropy = -sum(p * log(clamp(p, 1e-300, 1.0))).item<double>() / double(T) / std::log(double(E));
    }
  }
  return y.reshape(out_shape);
}

std::string MoeLinear::extra_repr() const {
  return cat("in_features=", in_, ", out_features=", out_, ", experts=", experts(), ", top_k=", top_k_, ", ", pad_repr());
}

}  // namespace cherry
