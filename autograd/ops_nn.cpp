// Neural-network ops with dedicated kernels: conv2d, pooling, batch norm, layer norm. Each saves
// what its backward kernel needs (inputs, pooling indices, batch statistics).
#include "autograd/flops.h"
#include "autograd/op_helpers.h"
#include "backends/custom_kernel.h"

namespace cherry {
using namespace detail;

namespace {
int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) { return (in + 2 * p - d * (k - 1) - 1) / s + 1; }

// Checks x:(B,C,H,W) against a weight of shape ws = (O, C/g, kh, kw); returns y's shape.
Shape conv_output_shape(const Tensor& x, const Shape& ws, const Conv2dParams& p, const char* op) {
  check_floating(x, op);
  check_dim(x, 4, op, "input");
  const int64_t C = x.size(1), O = ws[0], g = p.groups;
  CHERRY_CHECK(g >= 1 && C % g == 0 && O % g == 0 && ws[1] == C / g, op, "input ", x.describe(), " and weight ",
               shape_str(ws), " do not match with groups=", g);
  for (int i = 0; i < 2; ++i)
    CHERRY_CHECK(p.stride[i] >= 1 && p.dilation[i] >= 1 && p.padding[i] >= 0, op, "invalid stride/dilation/padding");
  const int64_t OH = conv_out_size(x.size(2), ws[2], p.stride[0], p.padding[0], p.dilation[0]);
  const int64_t OW = conv_out_size(x.size(3), ws[3], p.stride[1], p.padding[1], p.dilation[1]);
  CHERRY_CHECK(OH > 0 && OW > 0, op, "kernel ", shape_str(ws), " larger than padded input ", x.describe());
  return {x.size(0), O, OH, OW};
}

// A conv's output stays in channel blocks when its input is in them and its channels allow it.
Tensor conv_output(const Tensor& x, const Shape& ys) {
  const bool blocks = x.is_channel_blocks() && ys[1] % kChannelBlock == 0;
  return empty(ys, x.dtype(), x.device(), blocks ? MemoryFormat::channel_blocks : MemoryFormat::strided);
}
// An empty tensor like t, in t's format (for gradients).
Tensor empty_in_format(const Tensor& t) { return empty(t.shape(), t.dtype(), t.device(), t.memory_format()); }
// An incoming gradient in the format of the output it belongs to.
Tensor grad_in_format(const Tensor& g, bool blocks) { return blocks ? to_channel_blocks(g) : g.contiguous(); }

// Channel blocks on a backend without them: the op on the strided layout, converted around.
template <class Op> Tensor via_strided(const Tensor& x, Op&& op) {
  Tensor y = op(x.contiguous());
  return y.dim() == 4 && y.size(1) % kChannelBlock == 0 ? to_channel_blocks(y) : y;
}
}  // namespace

bool has_channel_blocks(const Tensor& x) { return be(x).has_channel_blocks(x.dtype()); }

// Both conversions are one strided copy between the two element orders (block_order_arg); each
// is the other's gradient. On a tensor already in the target format they do nothing.
Tensor to_channel_blocks(const Tensor& x) {
  if (x.is_channel_blocks()) return x;
  CHERRY_CHECK(x.dim() == 4 && x.size(1) > 0 && x.size(1) % kChannelBlock == 0, "to_channel_blocks",
               "expected (N, C, H, W) with C a multiple of ", kChannelBlock, ", got ", x.describe());
  Tensor y = empty_channel_blocks(x.shape(), x.dtype(), x.device());
  if (y.numel()) be(x).copy(block_order_arg(x), block_order_arg(y));
  if (needs_grad({x})) record("to_channel_blocks", {y}, {x}, [](const Grads& g, const Needs&) -> Grads { return {from_channel_blocks(g[0])}; });
  return y;
}

Tensor from_channel_blocks(const Tensor& x) {
  if (!x.is_channel_blocks()) return x;
  Tensor y = dense_copy(x, x.dtype(), x.device());
  if (needs_grad({x})) record("from_channel_blocks", {y}, {x}, [](const Grads& g, const Needs&) -> Grads { return {to_channel_blocks(g[0])}; });
  return y;
}

// In channel blocks the means are a batched (1, H*W) @ (H*W, 16) product of ones over the (n, c/16)
// rows, scaled by 1/(H*W): a reduction over middle dims would run 16-element inner loops; its
// backward spreads g / (H*W) back. bf16 x gives f32 means (they feed DY-Conv's attention, which
// stays f32). Counted as the pooling it is (no FLOPs), whichever layout.
Tensor channel_means(const Tensor& x) {
  check_dim(x, 4, "channel_means", "input");
  if (!x.is_channel_blocks()) return upcast_bf16(mean(x, {2, 3})).reshape({x.size(0), x.size(1)});
  FlopCounter::Pause not_counted;
  const int64_t N = x.size(0), C = x.size(1), S = x.size(2) * x.size(3), rows = N * C / kChannelBlock;
  const DType dt = x.dtype(), out = dt == DType::bf16 ? DType::f32 : dt;
  Tensor y = empty({N, C}, out, x.device());
  if (y.numel()) {
    const Tensor ones = full({1, S}, 1.0, dt, x.device());
    const Arg a{ones.raw_data(), dt, {rows, 1, S}, {0, S, 1}};
    const Arg b{x.raw_data(), dt, {rows, S, kChannelBlock}, {S * kChannelBlock, kChannelBlock, 1}};
    be(x).matmul(a, b, y.view({rows, 1, kChannelBlock}).arg(), 1.0 / double(S), 0.0);
  }
  if (needs_grad({x}))
    record("channel_means", {y}, {x}, [shape = x.shape(), dt](const Grads& g, const Needs&) -> Grads {
      // Each row's gradient is the outer product (H*W, 1) / (H*W) @ gy_row (1, 16).
      const Tensor gy = g[0].to(dt).contiguous();
      const int64_t S = shape[2] * shape[3], rows = shape[0] * shape[1] / kChannelBlock;
      const Tensor ones = full({S, 1}, 1.0, dt, gy.device());
      Tensor gx = empty_channel_blocks(shape, dt, gy.device());
      const Arg a{ones.raw_data(), dt, {rows, S, 1}, {0, 1, 1}};
      const Arg b{gy.raw_data(), dt, {rows, 1, kChannelBlock}, {kChannelBlock, kChannelBlock, 1}};
      const Arg c{gx.raw_data(), dt, {rows, S, kChannelBlock}, {S * kChannelBlock, kChannelBlock, 1}};
      if (gx.numel()) be(gy).matmul(a, b, c, 1.0 / double(S), 0.0);
      return {gx};
    });
  return y;
}

Tensor per_channel(const Tensor& v, const Tensor& like) { return v.view({v.size(0), like.size(1), 1, 1}); }

// bf16 activations take f32 weights and bias as they are (the kernel converts the weights into its
// layout once per call; the weight and bias gradients come back f32) and keep bf16 x for backward.
Tensor conv2d(const Tensor& x_in, const Tensor& w_in, const Tensor& bias, const Conv2dParams& p) {
  if (autocasts(x_in)) return conv2d(autocast(x_in), w_in, bias, p);
  if (x_in.is_channel_blocks() && !has_channel_blocks(x_in)) return via_strided(x_in, [&](const Tensor& x) { return conv2d(x, w_in, bias, p); });
  check_param(x_in, w_in, "conv2d");
  if (bias.defined()) check_same(w_in, bias, "conv2d");
  check_dim(w_in, 4, "conv2d", "weight");
  const Shape ys = conv_output_shape(x_in, w_in.shape(), p, "conv2d");
  const int64_t O = w_in.size(0);
  if (bias.defined()) CHERRY_CHECK(bias.dim() == 1 && bias.size(0) == O, "conv2d", "bias ", bias.describe(), " for ", O, " output channels");
  Tensor x = x_in.is_channel_blocks() ? x_in : x_in.contiguous(), w = w_in.contiguous();
  Tensor y = conv_output(x, ys);
  FlopCounter::add(2 * y.numel() * w.size(1) * w.size(2) * w.size(3));
  if (y.numel()) be(x).conv2d_forward(x.format_arg(), w.arg(), bias.defined() ? bias.contiguous().arg() : null_arg(), y.format_arg(), p);
  if (needs_grad({x_in, w_in, bias}))
    record("conv2d", {y}, {x_in, w_in, bias},
           [sx = save(x), sw = save(w), p, has_bias = bias.defined(), y_blocks = y.is_channel_blocks()](const Grads& g, const Needs& n) -> Grads {
      Tensor x = sx.get(), w = sw.get(), gy = grad_in_format(g[0], y_blocks);
      Tensor gx = n[0] ? empty_in_format(x) : Tensor();
      Tensor gw = n[1] ? empty(w.shape(), w.dtype(), w.device()) : Tensor();
      Tensor gb = has_bias && n[2] ? empty({w.size(0)}, w.dtype(), w.device()) : Tensor();
      be(x).conv2d_backward(gy.format_arg(), x.format_arg(), w.arg(), gx.defined() ? gx.format_arg() : null_arg(), arg_or_null(gw),
                            arg_or_null(gb), p);
      return {gx, gw, gb};
    });
  return y;
}

namespace {
// The composed default of the mixed_conv2d custom op, where the backend has no fused kernel: the B kernels [B*O, C/g, kh, kw] by
// one GEMM, then one conv with groups B*g over x viewed as [1, B*C, H, W].
Tensor stacked_kernels(const Tensor& mix, const Tensor& f) {
  const int64_t B = mix.size(0), F = f.size(0), N = f.numel() / F;
  Tensor w = empty({1, B, N}, f.dtype(), f.device());
  be(f).matmul(mix.view({1, B, F}).arg(), f.view({1, F, N}).arg(), w.arg(), 1.0, 0.0);
  return w.view({B * f.size(1), f.size(2), f.size(3), f.size(4)});
}
Tensor one_image(const Tensor& t) { return t.view({1, t.size(0) * t.size(1), t.size(2), t.size(3)}); }
Conv2dParams per_sample(Conv2dParams p, int64_t B) {
  p.groups *= B;
  return p;
}

void mixed_conv2d_forward(const Tensor& x, const Tensor& mix, const Tensor& f, const Tensor& y, const Conv2dParams& p) {
  Backend& b = be(x);
  if (auto* fused = find_custom_kernel<MixedConv2dKernel>(b, x.dtype()))
    return fused->forward(x.format_arg(), mix.arg(), f.arg(), y.format_arg(), p);
  b.conv2d_forward(one_image(x).arg(), stacked_kernels(mix, f).arg(), null_arg(x.dtype()), one_image(y).arg(), per_sample(p, x.size(0)));
}

void mixed_conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& mix, const Tensor& f, const Tensor& gx,
                           const Tensor& gmix, const Tensor& gf, const Conv2dParams& p) {
  Backend& b = be(x);
  if (auto* fused = find_custom_kernel<MixedConv2dKernel>(b, x.dtype()))
    return fused->backward(gy.format_arg(), x.format_arg(), mix.arg(), f.arg(), gx.defined() ? gx.format_arg() : null_arg(),
                           arg_or_null(gmix), arg_or_null(gf), p);
  const int64_t B = x.size(0), F = f.size(0), N = f.numel() / F;
  Tensor w = stacked_kernels(mix, f);
  Tensor gw = gmix.defined() || gf.defined() ? empty(w.shape(), w.dtype(), w.device()) : Tensor();
  b.conv2d_backward(one_image(gy).arg(), one_image(x).arg(), w.arg(), gx.defined() ? one_image(gx).arg() : null_arg(x.dtype()),
                    arg_or_null(gw), null_arg(x.dtype()), per_sample(p, B));
  // dL/dmix = dW F^T, dL/dF = mix^T dW.
  if (gmix.defined()) b.matmul(gw.view({1, B, N}).arg(), f.view({1, F, N}).permute({0, 2, 1}).arg(), gmix.view({1, B, F}).arg(), 1.0, 0.0);
  if (gf.defined()) b.matmul(mix.view({1, B, F}).permute({0, 2, 1}).arg(), gw.view({1, B, N}).arg(), gf.view({1, F, N}).arg(), 1.0, 0.0);
}
}  // namespace

// bf16 activations take the f32 mix and factors: the kernels are mixed in f32 and cast once.
Tensor mixed_conv2d(const Tensor& x_in, const Tensor& mix_in, const Tensor& f_in, const Conv2dParams& p) {
  if (autocasts(x_in)) return mixed_conv2d(autocast(x_in), mix_in, f_in, p);
  if (x_in.is_channel_blocks() && (!has_channel_blocks(x_in) || !find_custom_kernel<MixedConv2dKernel>(be(x_in), x_in.dtype())))
    return via_strided(x_in, [&](const Tensor& x) { return mixed_conv2d(x, mix_in, f_in, p); });
  check_same(mix_in, f_in, "mixed_conv2d");
  CHERRY_CHECK(mix_in.dtype() == master_dtype(x_in.dtype()) && x_in.device() == mix_in.device(), "mixed_conv2d", "mix ",
               mix_in.describe(), " for input ", x_in.describe(), " (expected ", dtype_name(master_dtype(x_in.dtype())), ")");
  check_dim(mix_in, 2, "mixed_conv2d", "mix");
  check_dim(f_in, 5, "mixed_conv2d", "factors");
  const Shape ws(f_in.shape().begin() + 1, f_in.shape().end());
  const Shape ys = conv_output_shape(x_in, ws, p, "mixed_conv2d");
  CHERRY_CHECK(mix_in.size(0) == x_in.size(0) && mix_in.size(1) == f_in.size(0), "mixed_conv2d", "mix ", mix_in.describe(),
               " must be [batch, factors] for input ", x_in.describe(), " and factors ", f_in.describe());
  Tensor x = x_in.is_channel_blocks() ? x_in : x_in.contiguous(), mix = mix_in.contiguous(), f = f_in.contiguous();
  Tensor y = conv_output(x, ys);
  FlopCounter::add(2 * y.numel() * ws[1] * ws[2] * ws[3] + 2 * mix.numel() * (f.numel() / f.size(0)));
  if (y.numel()) mixed_conv2d_forward(x, mix, f, y, p);
  // Saves x, mix and the factors, not the [B, N] kernels: backward remakes them with one GEMM.
  if (needs_grad({x_in, mix_in, f_in}))
    record("mixed_conv2d", {y}, {x_in, mix_in, f_in},
           [sx = save(x), sm = save(mix), sf = save(f), p, y_blocks = y.is_channel_blocks()](const Grads& g, const Needs& n) -> Grads {
      Tensor x = sx.get(), mix = sm.get(), f = sf.get(), gy = grad_in_format(g[0], y_blocks);
      Tensor gx = n[0] ? empty_in_format(x) : Tensor();
      Tensor gmix = n[1] ? empty(mix.shape(), mix.dtype(), mix.device()) : Tensor();
      Tensor gf = n[2] ? empty(f.shape(), f.dtype(), f.device()) : Tensor();
      if (gy.numel()) {
        mixed_conv2d_backward(gy, x, mix, f, gx, gmix, gf, p);
      } else {  // no samples (or no output pixels): nothing flows back
        for (Tensor* t : {&gx, &gmix, &gf})
          if (t->defined()) t->fill_(0.0);
      }
      return {gx, gmix, gf};
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
  const bool blocks = x_in.is_channel_blocks();
  if (blocks && !has_channel_blocks(x_in))
    return via_strided(x_in, [&](const Tensor& x) { return batch_norm(x, weight, bias, running_mean, running_var, training, momentum, eps); });
  check_floating(x_in, "batch_norm");
  CHERRY_CHECK(x_in.dim() >= 2, "batch_norm", "input must be (N,C,...), got ", x_in.describe());
  const int64_t C = x_in.size(1);
  // Parameters and statistics are f32 with bf16 activations (its arithmetic is f32), else x's dtype.
  const DType stats = x_in.dtype() == DType::bf16 ? DType::f32 : x_in.dtype();
  for (const Tensor* t : {&weight, &bias, &running_mean, &running_var})
    if (t->defined()) {
      CHERRY_CHECK(t->dim() == 1 && t->size(0) == C, "batch_norm", "parameter ", t->describe(), " for ", C, " channels");
      CHERRY_CHECK(t->dtype() == stats && t->device() == x_in.device(), "batch_norm", "parameter ", t->describe(), " for input ",
                   x_in.describe(), " (expected ", dtype_name(stats), ")");
    }
  if (!training) CHERRY_CHECK(running_mean.defined() && running_var.defined(), "batch_norm", "evaluation mode needs running statistics");
  if (!training && needs_grad({x_in, weight, bias})) {  // y = x*scale + shift, differentiable by composition
    Shape bshape(size_t(x_in.dim()), 1);
    bshape[1] = C;
    Tensor scale = rsqrt(running_var + eps);
    if (weight.defined()) scale = scale * weight;
    Tensor shift = neg(running_mean * scale);
    if (bias.defined()) shift = shift + bias;
    return x_in * scale.reshape(bshape) + shift.reshape(bshape);
  }
  const int64_t N = x_in.size(0), S = x_in.numel() / std::max<int64_t>(N * C, 1);
  if (training) CHERRY_CHECK(N * S > 1, "batch_norm", "training needs more than one value per channel, got ", x_in.describe());
  // The kernel sees x as (N, C, S, 1), or in channel blocks as they are.
  Tensor x = blocks ? x_in : x_in.contiguous().reshape({N, C, S, 1});
  Tensor y = empty_in_format(x);
  Tensor mu = empty({C}, stats, x.device()), invstd = empty({C}, stats, x.device());
  be(x).batch_norm_forward(x.format_arg(), arg_or_null(weight), arg_or_null(bias), arg_or_null(running_mean), arg_or_null(running_var),
                           training, momentum, eps, y.format_arg(), mu.arg(), invstd.arg());
  if (training && running_mean.defined()) running_mean.storage()->bump_version(), running_var.storage()->bump_version();
  if (!blocks) y = y.reshape(x_in.shape());
  if (training && needs_grad({x_in, weight, bias}))
    record("batch_norm", {y}, {x_in, weight, bias},
           [sx = save(x), sw = save(weight), sm = save(mu), si = save(invstd), in = x_in.shape(), C, blocks, stats](const Grads& g, const Needs& n) -> Grads {
             Tensor x = sx.get(), w = sw.get();
             Tensor gy = blocks ? to_channel_blocks(g[0]) : g[0].contiguous().reshape(x.shape());
             Tensor gx = empty_in_format(x);
             Tensor gw = n[1] ? empty({C}, stats, x.device()) : Tensor();
             Tensor gb = n[2] ? empty({C}, stats, x.device()) : Tensor();
             be(x).batch_norm_backward(gy.format_arg(), x.format_arg(), arg_or_null(w), sm.get().arg(), si.get().arg(), gx.format_arg(),
                                       arg_or_null(gw), arg_or_null(gb));
             return {n[0] ? (blocks ? gx : gx.reshape(in)) : Tensor(), gw, gb};
           });
  return y;
}

// Computes in f32 (bf16 input and parameters are cast up first).
Tensor layer_norm(const Tensor& x_bf, const Tensor& weight_bf, const Tensor& bias_bf, double eps) {
  const Tensor x_in = upcast_bf16(x_bf), weight = weight_bf.defined() ? upcast_bf16(weight_bf) : weight_bf,
               bias = bias_bf.defined() ? upcast_bf16(bias_bf) : bias_bf;
  for (const Tensor* t : {&weight, &bias})
    if (t->defined()) check_same(x_in, *t, "layer_norm");
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
