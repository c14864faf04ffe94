// The train_resnet job as a library call, so tests can run it (resume == uninterrupted) without
// spawning processes. main.cpp only parses flags and reports errors.
#pragma once
#include "apps/common/train_loop.h"
#include "apps/train_resnet/options.h"

namespace cherry {

TrainResult run_train_resnet(const TrainOptions& options);

}  // namespace cherry
