#include "models/bert_moe.h"

#include "autograd/ops.h"
#include "models/padnet.h"

namespace cherry {

std::shared_ptr<BertForSequenceClassification> upcycle_to_moe(const BertForSequenceClassification& dense, const MoeOptions& o) {
  auto dense_linear = [&](FfnRole role, int64_t layer) -> const Linear& {
    const BertLayer& l = (*dense.bert->encoder->layer)[size_t(layer)];
    const auto& ffn = role == FfnRole::intermediate ? l.intermediate->dense : l.output->dense;
    const auto* lin = dynamic_cast<const Linear*>(ffn.get());
    CHERRY_CHECK(lin, "upcycle", "layer ", layer, " ", ffn_role_name(role), ".dense is not a plain Linear (already a MoE?)");
    return *lin;
  };
  FfnLinearFactory factory = [&](int64_t in, int64_t out, FfnRole role, int64_t layer) -> std::shared_ptr<Layer> {
    auto m = std::make_shared<MoeLinear>(in, out, o);
    const Linear& lin = dense_linear(role, layer);
    // The FFN's hidden units are the first linear's outputs and the second's inputs.
    m->upcycle_from(lin.weight, lin.bias, role == FfnRole::intermediate ? 0 : 1);
    return m;
  };
  auto moe = std::make_shared<BertForSequenceClassification>(dense.config(), factory);
  std::map<std::string, Tensor> rest;
  for (auto& [name, t] : dense.state_dict()) rest[name] = t;
  LoadReport r = moe->load_state_dict(rest, false);
  // Only the FFN linears differ: their dense weight/bias are unexpected, the MoE tensors missing.
  auto is_ffn = [](const std::string& n) { return n.find(".intermediate.dense.") != std::string::npos || n.find(".output.dense.") != std::string::npos; };
  for (const auto& v : {r.missing, r.unexpected, r.mismatched})
    for (const auto& n : v)
      CHERRY_CHECK(is_ffn(n) && n.find("attention.output") == std::string::npos, "upcycle", "unexpected difference between the dense and MoE models: ", n);
  moe->train(dense.training());
  return moe;
}

std::shared_ptr<BertForSequenceClassification> deploy_moe_bert(const BertForSequenceClassification& trained) {
  auto layers = moe_layers(trained);
  size_t next = 0;  // the factory is called in construction order, which is the modules' order
  FfnLinearFactory factory = [&](int64_t, int64_t, FfnRole, int64_t) -> std::shared_ptr<Layer> {
    CHERRY_CHECK(next < layers.size(), "deploy", "the trained model has fewer MoE layers than FFN linears");
    return std::make_shared<DeployedMoeLinear>(*layers[next++]);
  };
  auto deployed = std::make_shared<BertForSequenceClassification>(trained.config(), factory);
  copy_unfolded_weights(trained, *deployed);
  return deployed;
}

std::vector<std::shared_ptr<MoeLinear>> moe_layers(const Module& model) {
  std::vector<std::shared_ptr<MoeLinear>> out;
  for (auto& [name, m] : model.modules_of_type<MoeLinear>()) out.push_back(m);
  return out;
}

Tensor total_balance_loss(const std::vector<std::shared_ptr<MoeLinear>>& layers) {
  Tensor total;
  for (const auto& l : layers)
    if (l->balance_loss().defined()) total = total.defined() ? total + l->balance_loss() : l->balance_loss();
  if (total.defined()) return total;
  return layers.empty() ? zeros({}) : zeros({}, DType::f32, layers.front()->parameters().front().device());
}

}  // namespace cherry
