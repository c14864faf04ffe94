// The PAD parameterisation (docs/PADNET.md §1), written once and shared by dynamic convolution and the
// MoE layer. A PadLayer holds K dynamic factors W_1..W_K of one weight shape S and, in PAD mode,
// a static tensor Ws, a binary mask M (1 = dynamic, shared by all K factors) and a scalar phi:
//
//   Theta(x) = lambda_d (M ⊙ sum_k pi_k(x) W_k) + lambda_s ((1 - M) ⊙ Ws)
//            = sum_k pi_k(x) [lambda_d M ⊙ W_k] + [lambda_s (1 - M) ⊙ Ws]
//              \_________ dynamic_factors() ___/   \______ static_part() ___/
//
// with lambda_d = 2 sigmoid(phi), lambda_s = 2 - lambda_d (both 1 with scale factors off). The
// second form holds because the mixing weights pi enter linearly; subclasses mix the factors per
// sample (DY-Conv) or per token (MoE) and add the static part. Fully dynamic mode (DY-Conv, MoE)
// has only the factors: Theta(x) = sum_k pi_k W_k.
#pragma once
#include <functional>

#include "layers/module.h"

namespace cherry {

enum class DynamicMode { dynamic, pad };

struct PadOptions {
  DynamicMode mode = DynamicMode::pad;
  bool scale = true;  // learn lambda_d/lambda_s through phi; off: both fixed at 1 (ablation)
};

// A trained PAD layer in deployment form (docs/PADNET.md §5): Theta(x) = static_dense, then
// Theta[index] += sum_k pi_k values[k]. Holds (K kappa + 1 - kappa) N values plus the index list.
struct FoldedPad {
  Tensor static_dense;  // [S...]: lambda_s (1 - M) ⊙ Ws (zeros for a fully dynamic layer)
  Tensor index;         // [n_dyn] i64: flat positions of the dynamic entries
  Tensor values;        // [K, n_dyn]: lambda_d W_k at those positions
  int64_t stored_values() const { return values.numel() + static_dense.numel() - index.numel(); }
};

class PadLayer : public Layer {
 public:
  bool is_pad() const { return mode_ == DynamicMode::pad; }
  bool has_scale() const { return is_pad() && scale_; }
  int64_t num_factors() const { return factors.size(0); }
  const Shape& weight_shape() const { return shape_; }
  int64_t weight_numel() const { return numel_; }

  // Differentiable in W_k, Ws, phi and M (the mask gradient is IMP's score).
  Tensor lambda_d() const;                 // 0-dim; 1 without scale factors
  Tensor lambda_s() const;                 // 2 - lambda_d; 1 without scale factors
  Tensor dynamic_factors() const;          // [K, S...]: lambda_d M ⊙ W_k (just W_k when fully dynamic)
  Tensor static_part() const;              // [S...]: lambda_s (1 - M) ⊙ Ws; undefined when fully dynamic
  double lambda_d_value() const;
  double lambda_s_value() const { return 2.0 - lambda_d_value(); }

  // Mask bookkeeping (PAD mode only).
  int64_t dynamic_entries() const;  // sum(M)
  double kappa() const { return is_pad() ? double(dynamic_entries()) / double(numel_) : 1.0; }
  // Binary, shape S. With static_from_factors, entries turning static (M 1 -> 0) take
  // Ws = (lambda_d / lambda_s) mean_k W_k: where the factors agree (as right after upcycling) and the
  // mixing weights sum to 1, the layer then computes the same function before and after.
  void set_mask(const Tensor& mask, bool static_from_factors = false);
  // Ws = (lambda_d / lambda_s) mean_k W_k at every entry (the value set_mask gives entries turning
  // static). IMP calls it first while M = 1, where Ws does not enter the output, so that its mask
  // gradient scores the switch it will make.
  void set_static_from_factors();
  // Values a deployed layer stores: K per dynamic entry + one per static entry (docs/PADNET.md §5).
  int64_t stored_values() const;
  // Trained values outside the factors that a deployed model drops (the MoE router's noise weights).
  virtual int64_t training_only_values() const { return 0; }
  FoldedPad fold() const;

  Tensor factors;        // "weight": [K, S...]
  Tensor static_weight;  // "static_weight": Ws, [S...] (PAD only)
  Tensor mask;           // "mask" buffer: M, [S...] (PAD only)
  Tensor phi;            // "phi": 0-dim (PAD with scale factors only)

 protected:
  // Registers the tensors; `init` draws one tensor of shape S (called K times, then once for Ws).
  PadLayer(const Shape& shape, int64_t factors_k, const PadOptions& o, const std::function<Tensor(const Shape&)>& init);
  std::string pad_repr() const;
  Tensor factors_as_static() const;  // (lambda_d / lambda_s) mean_k W_k

 private:
  Shape shape_;
  int64_t numel_ = 0;
  DynamicMode mode_;
  bool scale_;
};

}  // namespace cherry
