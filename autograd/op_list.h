// Every name a backward node can carry. record() refuses names missing here, and the op harness
// (tests/test_ops.cpp) fails unless each one is exercised by a gradient check: so no op can
// be added without its reference comparison and float64 gradient check.
#pragma once
#include <array>
#include <string_view>

namespace cherry {

inline constexpr std::array<std::string_view, 50> kDifferentiableOps = {
    // elementwise
    "add", "sub", "mul", "div", "maximum", "minimum", "pow", "neg", "exp", "log", "sqrt", "rsqrt", "abs", "square",
    "reciprocal", "relu", "gelu", "erf", "sigmoid", "tanh", "clamp", "where",
    // reductions and row ops
    "sum", "mean", "max", "min", "softmax", "log_softmax", "topk",
    // linear algebra and nn
    "matmul", "grouped_linear", "conv2d", "mixed_conv2d", "max_pool2d", "avg_pool2d", "batch_norm", "layer_norm",
    // indexing
    "index_select", "index_add", "gather", "scatter_add", "cat",
    // views and copies
    "view", "permute", "narrow", "expand", "squeeze", "unsqueeze", "clone", "to_dtype",
};

// Recorded only when a CUDA device exists; checked by the CUDA run of the harness.
inline constexpr std::array<std::string_view, 1> kDeviceOnlyOps = {"to_device"};

}  // namespace cherry
