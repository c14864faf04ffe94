// The smallest train_resnet run the app tests share: synthetic Fashion-MNIST-shaped data, 2 epochs
// of 4 steps, the default PAD convs with a cheap IMP. A few seconds on 2 cores.
#pragma once
#include <string>

#include "apps/train_resnet/options.h"

namespace cherry::test {

inline TrainOptions tiny_resnet(const std::string& dir) {
  TrainOptions o;
  o.synthetic = true;
  o.dataset = DatasetKind::fashion_mnist;
  o.batch_size = 16;
  o.max_train_samples = 64;  // 4 steps per epoch
  o.max_eval_samples = 32;
  o.epochs = 2;
  o.run_dir = dir;
  o.overwrite = true;
  o.workers = 2;
  o.log_every = 1;
  o.imp.batches = 2, o.imp.iters = 2;  // the default conv is PAD: keep IMP cheap
  return o;
}

}  // namespace cherry::test
