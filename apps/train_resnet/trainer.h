// The train_resnet job as a library call, so tests can run it (resume == uninterrupted) without
// spawning processes. main.cpp only parses flags and reports errors.
#pragma once
#include "apps/train_resnet/options.h"

namespace cherry {

struct TrainResult {
  std::string run_dir;
  int64_t steps = 0;
  double final_accuracy = 0, best_accuracy = 0, final_loss = 0;
};

TrainResult run_train_resnet(const TrainOptions& options);

}  // namespace cherry
