// The CUDA backend's public face: the registry calls cuda_backend() and cuda_device_count(); apps
// print cuda_info(). Only built with -DCHERRY_CUDA=ON. Nothing here needs a GPU to be present:
// without one, cuda_device_count() is 0 and every device call throws a cherry::Error.
#pragma once
#include <string>

#include "backends/backend.h"

namespace cherry {
Backend& cuda_backend();
// Visible CUDA devices; 0 when there is no device or no driver (never throws).
int cuda_device_count();
// e.g. "CUDA runtime 13.0, driver 13.0; device 0 of 1: NVIDIA H100 80GB HBM3 (sm_90, 79.2 GiB); built for
// CUDA archs 80,90", or "CUDA runtime 13.0, driver none; no CUDA device (<why>); built for ...". Never throws.
std::string cuda_info();
}  // namespace cherry
