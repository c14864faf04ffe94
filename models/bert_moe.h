// BERT with mixture-of-experts FFNs (docs/PADNET.md §3): every FFN linear (intermediate.dense,
// output.dense) becomes a MoeLinear whose experts, and in PAD form its Ws, are copies of the
// pretrained dense weight ("upcycling"); every other weight is copied from the dense model.
#pragma once
#include "layers/deployed_moe_linear.h"
#include "models/bert.h"

namespace cherry {

std::shared_ptr<BertForSequenceClassification> upcycle_to_moe(const BertForSequenceClassification& dense, const MoeOptions& o);
std::vector<std::shared_ptr<MoeLinear>> moe_layers(const Module& model);
// The deployment form: every MoeLinear folded into a DeployedMoeLinear, everything else copied.
// Same outputs in eval mode.
std::shared_ptr<BertForSequenceClassification> deploy_moe_bert(const BertForSequenceClassification& trained);

// Sum over MoE layers of their last pass's CV^2(importance) + CV^2(load) (scale it by --balance-coef).
Tensor total_balance_loss(const std::vector<std::shared_ptr<MoeLinear>>& layers);

}  // namespace cherry
