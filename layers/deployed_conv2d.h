// A PAD (or DY-Conv) layer folded for deployment (docs/PADNET.md §5): per sample the kernel starts from
// the dense static part and only the kappa*N dynamic positions are mixed from K value arrays, so
// aggregation costs K*kappa*N + N instead of K*N and the stored values shrink accordingly.
#pragma once
#include "layers/dynamic_conv2d.h"

namespace cherry {

class DeployedConv2d : public Layer {
 public:
  explicit DeployedConv2d(const DynamicConv2d& trained);  // shares the attention branch
  Tensor forward(const Tensor& x) override;
  std::string type_name() const override { return "DeployedConv2d"; }
  std::string extra_repr() const override;
  int64_t stored_values() const { return folded_.stored_values(); }

 private:
  Conv2dOptions conv_;
  FoldedPad folded_;
  std::shared_ptr<KernelAttention> attention_;
  Tensor bias_, temperature_;
};

}  // namespace cherry
