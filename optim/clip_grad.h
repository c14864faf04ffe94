// Gradient clipping by global L2 norm, like torch.nn.utils.clip_grad_norm_: the norm is taken over
// all gradients together, and when it exceeds max_norm every gradient is scaled in place by
// max_norm / (norm + 1e-6). Parameters without a grad are ignored. Works on any device:
// device gradients are reduced and scaled on their device, only the norm is read back.
// Not here: per-tensor clipping, other p-norms, clipping by value.
#pragma once
#include <vector>

#include "core/tensor.h"

namespace cherry {

// Returns the total norm before clipping. A non-finite norm (inf/NaN gradients) is returned as-is
// and the gradients are left unscaled, so the caller can detect it and skip the step.
double clip_grad_norm(const std::vector<Tensor>& params, double max_norm);

// The global L2 norm of the gradients, without clipping. Summed in float64 over fixed blocks in a
// fixed order, so the result is the same bits at any thread count.
double grad_norm(const std::vector<Tensor>& params);

}  // namespace cherry
