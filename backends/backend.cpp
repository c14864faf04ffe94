// Defaults of the Backend interface's optional kernels.
#include "backends/backend.h"

#include "core/error.h"

namespace cherry {

void Backend::mixed_conv2d_forward(const Arg&, const Arg&, const Arg&, const Arg&, const Conv2dParams&) {
  throw Error("mixed_conv2d", cat("the ", name(), " backend has no fused kernel (has_mixed_conv2d is false)"));
}

void Backend::mixed_conv2d_backward(const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&, const Arg&,
                                    const Conv2dParams&) {
  throw Error("mixed_conv2d_backward", cat("the ", name(), " backend has no fused kernel (has_mixed_conv2d is false)"));
}

}  // namespace cherry
