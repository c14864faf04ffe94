// Every name a backward node can carry, generated from the op table (backends/ops.def). record()
// refuses names missing here, and the op harness (tests/test_ops.cpp) fails unless each one is
// exercised by a gradient check: so no op can be added without its reference comparison and float64
// gradient check.
#pragma once
#include <string_view>

namespace cherry {

#define CHERRY_GRAD_OP(name) #name,
inline constexpr std::string_view kDifferentiableOps[] = {
#include "backends/ops.def"
};

// Recorded only when a CUDA device exists; checked by the CUDA run of the harness.
#define CHERRY_DEVICE_GRAD_OP(name) #name,
inline constexpr std::string_view kDeviceOnlyOps[] = {
#include "backends/ops.def"
};

}  // namespace cherry
