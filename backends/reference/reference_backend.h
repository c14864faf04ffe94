// The reference backend: naive, obviously-correct kernels (multi-index loops, double accumulation).
// Used only by tests, as the oracle every optimised backend is compared against.
#pragma once
#include "backends/backend.h"

namespace cherry {

Backend& reference_backend();

}  // namespace cherry
