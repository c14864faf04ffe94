// Cherry's public API in one include: tensors and autograd, the layers (static, dynamic, PAD and
// mixture of experts), the models, optimizers and schedules, and the datasets with their loader.
// In the source tree and in an installed package (find_package(Cherry), target Cherry::cherry)
// alike: `#include <cherry/cherry.h>`. The kernels behind the Backend interface are not part of it.
#pragma once

// Tensors, autograd and the backend interface.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "backends/backend.h"
#include "core/error.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "core/tensor.h"

// Layers.
#include "layers/attention.h"
#include "layers/basic.h"
#include "layers/batch_norm.h"
#include "layers/conv2d.h"
#include "layers/deployed_conv2d.h"
#include "layers/deployed_moe_linear.h"
#include "layers/dynamic_conv2d.h"
#include "layers/embedding.h"
#include "layers/imp.h"
#include "layers/init.h"
#include "layers/layer_norm.h"
#include "layers/linear.h"
#include "layers/module.h"
#include "layers/module_list.h"
#include "layers/moe_linear.h"
#include "layers/pad_layer.h"
#include "layers/sequential.h"

// Models.
#include "models/bert.h"
#include "models/bert_checkpoint.h"
#include "models/bert_moe.h"
#include "models/padnet.h"
#include "models/resnet.h"

// Training.
#include "optim/adamw.h"
#include "optim/clip_grad.h"
#include "optim/lr_schedule.h"
#include "optim/sgd.h"

// Data.
#include "datasets/fashion_mnist.h"
#include "datasets/image_folder.h"
#include "datasets/loader.h"
#include "datasets/synthetic.h"
#include "datasets/transforms.h"
