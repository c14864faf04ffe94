// Neural-network ops with dedicated kernels: conv2d, pooling, batch norm, layer norm. Each saves
// what its backward kernel needs (inputs, pooling indices, batch statistics).
#include "autograd/flops.h"
#include "autograd/op_helpers.h"

namespace cherry {
using namespace detail;

namespace {
int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }
}  // namespace

Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& bias, const Conv2dParams& p) {
  check_same(x_in, w_in, "conv2d");
  check_floating(x_in, "conv2d");
  check_dim(x_in, 4, "conv2d", "input");
  check_dim(w_in, 4, "conv2d", "weight");
  const int64_t C = x_in.size(1), O = w_in.size(0), g = p.groups;
  CHERRY_CHECK(g >= 1 && C % g == 0 && O % g == 0 && w_in.size(1) == C / g, "conv2d", "input ", x_in.describe(), " and weight ",
               w_in.describe(), " do not match with groups=", g);
  for (int i = 0; i < 2; ++i)
    CHERRY_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0, "conv2d", "invalid stride/dilation/padding");
  const int64_t OH = conv_out_size(x_in.size(2), w_in.size(2), p.stride[0], p.padding[0], p.dilation[0]);
  const int64_t OW = conv_out_size(x_in.size(3), w_in.size(3), p.stride[1], p.padding[1], p.dilation[1]);
  CHERRY_CHECK(OH > 0 && OW > 0, "conv2d", "kernel ", w_in.describe(), " larger than padded input ", x_in.describe());
  if (bias.defined()) CHERRY_CHECK(bias.dim() == 1 && bias.size(0) == O, "conv2d", "bias ", bias.describe(), " for ", O, " output channels");
  Tensor x = x_in.contiguous(), w = w_in.contiguous();
  Tensor y = empty({x.size(0), O, OH, OW}, x.dtype(), x.device());
  FlopCounter::add(2 * y.numel() * w.size(1) * w.size(2) * w.size(3));
  if (y.numel()) be(x).conv2d_forward(x.arg(), w.arg(), bias.defined() ? bias.contiguous().arg() : null_arg(), y.arg(), p);
  if (needs_grad({x_in, w_in, bias}))
    record("conv2d", {y}, {x_in, w_in, bias}, [sx = save(x), sw = save(w), p, has_bias = bias.defined()](const Grads& g, const Needs& n) -> Grads {
      Tensor x = sx.get(), w = sw.get(), gy = g[0].contiguous();
      Tensor gx = n[0] ? empty(x.shape(), x.dtype(), x.device()) : Tensor();
      Tensor gw = n[1] ? empty(w.shape(), w.dtype(), w.device()) : Tensor();
      Tensor gb = has_bias && n[2] ? empty({w.size(0)}, w.dtype(), w.device()) : Tensor();
      be(x).conv2d_backward(gy.arg(), x.arg(), w.arg(), arg_or_null(gx), arg_or_null(gw), arg_or_null(gb), p);
      return {gx, gw, gb};
    });
  return y;
}

namespace {
Shape pool_out_shape(const Tensor& x, const Pool2dParams& p, const char* op) {
  check_dim(x, 4, op, "input");
  for (int i = 0; i < 2; ++i)
    CHERRY_CHECK(p.kernel[i] >= 1 && p.stride[i] >= 1 && p.padding[i] >= 0 && p.padding[i] * 2 <= p.kernel[i], op,
                 "invalid kernel/stride/padding (padding must be at most half the kernel)");
  const int64_t OH = (x.size(2) + 2 * p.padding[0] - p.kernel[0]) / p.stride[0] + 1;
  const int64_t OW = (x.size(3) + 2 * p.padding[1] - p.kernel[1]) / p.stride[1] + 1;
  CHERRY_CHECK(OH > 0 && OW > 0, op, "window larger than input ", x.describe());
  return {x.size(0), x.size(1), OH, OW};
}
}  // namespace

Tensor max_pool2d(const Tensor& x_in, const Pool2dParams& p) {
  check_floating(x_in, "max_pool2d");
  Tensor x = x_in.contiguous();
  Shape s = pool_out_shape(x, p, "max_pool2d");
  Tensor y = empty(s, x.dtype(), x.device()), idx = empty(s, DType::i64, x.device());
  if (y.numel()) be(x).max_pool2d_forward(x.arg(), y.arg(), idx.arg(), p);
  if (needs_grad({x_in}))
    record("max_pool2d", {y}, {x_in}, [si = save(idx), in = x.shape(), p](const Grads& g, const Needs&) -> Grads {
      Tensor gx = empty(in, g[0].dtype(), g[0].device());
      be(gx).max_pool2d_backward(g[0].contiguous().arg(), si.get().arg(), gx.arg(), p);
      return {gx};
    });
  return y;
}

Tensor avg_pool2d(const Tensor& x_in, const Pool2dParams& p) {
  check_floating(x_in, "avg_pool2d");
  Tensor x = x_in.contiguous();
  Tensor y = empty(pool_out_shape(x, p, "avg_pool2d"), x.dtype(), x.device());
  if (y.numel()) be(x).avg_pool2d_forward(x.arg(), y.arg(), p);
  if (needs_grad({x_in}))
    record("avg_pool2d", {y}, {x_in}, [p, in = x.shape()](const Grads& g, const Needs&) -> Grads {
      Tensor gx = empty(in, g[0].dtype(), g[0].device());
      be(gx).avg_pool2d_backward(g[0].contiguous().arg(), gx.arg(), p);
      return {gx};
    });
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t oh, int64_t ow) {
  check_dim(x, 4, "adaptive_avg_pool2d", "input");
  if (oh == 1 && ow == 1) return mean(x, {2, 3}, true);
  CHERRY_CHECK(x.size(2) % oh == 0 && x.size(3) % ow == 0, "adaptive_avg_pool2d",
               "output ", oh, "x", ow, " must divide the input ", x.describe(), " (non-uniform bins are not implemented)");
  Pool2dParams p;
  p.kernel[0] = p.stride[0] = x.size(2) / oh;
  p.kernel[1] = p.stride[1] = x.size(3) / ow;
  return avg_pool2d(x, p);
}

Tensor batch_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  check_floating(x_in, "batch_norm");
  CHERRY_CHECK(x_in.dim() >= 2, "batch_norm", "input must be (N,C,...), got ", x_in.describe());
  const int64_t C = x_in.size(1);
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var})
    if (t->defined()) CHERRY_CHECK(t->dim() == 1 && t->size(0) == C, "batch_norm", "parameter ", t->describe(), " for ", C, " channels");
  Shape bshape(size_t(x_in.dim()), 1);
  bshape[1] = C;
  if (!training) {  // y = x*scale + shift, differentiable through weight and bias by composition
    CHERRY_CHECK(running_mean.defined() && running_var.defined(), "batch_norm", "evaluation mode needs running statistics");
    Tensor scale = rsqrt(running_var + eps);
    if (weight.defined()) scale = scale * weight;
    Tensor shift = neg(running_mean * scale);
    if (bias.defined()) shift = shift + bias;
    return x_in * scale.reshape(bshape) + shift.reshape(bshape);
  }
  const int64_t N = x_in.size(0), S = x_in.numel() / std::max<int64_t>(N * C, 1);
  CHERRY_CHECK(N * S > 1, "batch_norm", "training needs more than one value per channel, got ", x_in.describe());
  Tensor x = x_in.contiguous().reshape({N, C, S, 1});
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  Tensor mu = empty({C}, x.dtype(), x.device()), invstd = empty({C}, x.dtype(), x.device());
  be(x).batch_norm_forward(x.arg(), arg_or_null(weight), arg_or_null(bias), arg_or_null(running_mean), arg_or_null(running_var),
                           true, momentum, eps, y.arg(), mu.arg(), invstd.arg());
  if (running_mean.defined()) running_mean.storage()->bump_version(), running_var.storage()->bump_version();
  y = y.reshape(x_in.shape());
  if (needs_grad({x_in, weight, bias}))
    record("batch_norm", {y}, {x_in, weight, bias},
           [sx = save(x), sw = save(weight), sm = save(mu), si = save(invstd), in = x_in.shape()](const Grads& g, const Needs& n) -> Grads {
             Tensor x = sx.get(), w = sw.get();
             Tensor gy = g[0].contiguous().reshape(x.shape());
             Tensor gx = empty(x.shape(), x.dtype(), x.device());
             Tensor gw = n[1] ? empty({x.size(1)}, x.dtype(), x.device()) : Tensor();
             Tensor gb = n[2] ? empty({x.size(1)}, x.dtype(), x.device()) : Tensor();
             be(x).batch_norm_backward(gy.arg(), x.arg(), arg_or_null(w), sm.get().arg(), si.get().arg(), gx.arg(), arg_or_null(gw),
                                       arg_or_null(gb));
             return {n[0] ? gx.reshape(in) : Tensor(), gw, gb};
           });
  return y;
}

Tensor layer_norm(const Tensor& x_in, const Tensor& weight, const Tensor& bias, double eps) {
  check_floating(x_in, "layer_norm");
  CHERRY_CHECK(x_in.dim() >= 1, "layer_norm", "input must be at least 1-D");
  const int64_t N = x_in.size(-1), M = x_in.numel() / std::max<int64_t>(N, 1);
  for (const Tensor* t : {&weight, &bias})
    if (t->defined()) CHERRY_CHECK(t->dim() == 1 && t->size(0) == N, "layer_norm", "parameter ", t->describe(), " for last dim ", N);
  Tensor x = x_in.contiguous().reshape({M, N});
  Tensor y = empty({M, N}, x.dtype(), x.device()), mu = empty({M}, x.dtype(), x.device()), rstd = empty({M}, x.dtype(), x.device());
  if (y.numel()) be(x).layer_norm_forward(x.arg(), arg_or_null(weight), arg_or_null(bias), eps, y.arg(), mu.arg(), rstd.arg());
  y = y.reshape(x_in.shape());
  if (needs_grad({x_in, weight, bias}))
    record("layer_norm", {y}, {x_in, weight, bias},
           [sx = save(x), sw = save(weight), sm = save(mu), sr = save(rstd), in = x_in.shape()](const Grads& g, const Needs& n) -> Grads {
             Tensor x = sx.get(), w = sw.get();
             Tensor gy = g[0].contiguous().reshape(x.shape());
             Tensor gx = empty(x.shape(), x.dtype(), x.device());
             Tensor gw = n[1] ? empty({x.size(1)}, x.dtype(), x.device()) : Tensor();
             Tensor gb = n[2] ? empty({x.size(1)}, x.dtype(), x.device()) : Tensor();
             be(x).layer_norm_backward(gy.arg(), x.arg(), arg_or_null(w), sm.get().arg(), sr.get().arg(), gx.arg(), arg_or_null(gw),
                                       arg_or_null(gb));
             return {n[0] ? gx.reshape(in) : Tensor(), gw, gb};
           });
  return y;
}

}  // namespace cherry
