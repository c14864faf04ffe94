// Every op of autograd/ops.h, on shapes that exercise broadcasting, non-contiguous inputs,
// groups/strides/dilation, and the reduced-dim variants; and the backends' optimizer updates.
// Cases create any extra tensor on their inputs' device, so the same table runs on CUDA.
#include "tests/op_cases.h"

#include <cmath>

#include "autograd/ops.h"

namespace cherry::test {

namespace {
using V = std::vector<Tensor>;
Conv2dParams conv(int64_t s, int64_t p, int64_t d, int64_t g) {
  Conv2dParams c;
  c.stride[0] = c.stride[1] = s, c.padding[0] = c.padding[1] = p, c.dilation[0] = c.dilation[1] = d, c.groups = g;
  return c;
}
// x[0]: the parameter, x[1], x[2]: the gradients of two updates.
Tensor sgd_two_steps(const V& x, SgdStep s, bool momentum) {
  Tensor p = x[0].detach().clone(), buf = zeros_like(p);
  Backend& be = backend_for(p.device().type);
  const Arg b = momentum ? buf.arg() : Arg{nullptr, p.dtype(), {}, {}};
  be.sgd_step(p.arg(), x[1].contiguous().arg(), b, s);
  s.first = false;
  be.sgd_step(p.arg(), x[2].contiguous().arg(), b, s);
  return stack({p, buf}, 0);
}
// AdamW's scalars as AdamW::update computes them, for updates t = 1, 2.
Tensor adamw_two_steps(const V& x, double lr, double wd, double beta1 = 0.9) {
  Tensor p = x[0].detach().clone(), m = zeros_like(p), v = zeros_like(p);
  Backend& be = backend_for(p.device().type);
  const double beta2 = 0.999, eps = 1e-8;
  for (int t = 1; t <= 2; ++t) {
    const AdamWStep s{1.0 - lr * wd, 1.0 - beta1, beta2, 1.0 - beta2, std::sqrt(1.0 - std::pow(beta2, t)), lr / (1.0 - std::pow(beta1, t)), eps};
    be.adamw_step(p.arg(), x[size_t(t)].contiguous().arg(), m.arg(), v.arg(), s);
  }
  return stack({p, m, v}, 0);
}
Pool2dParams pool(int64_t k, int64_t s, int64_t p, bool include_pad = true) {
  Pool2dParams q;
  q.kernel[0] = q.kernel[1] = k, q.stride[0] = q.stride[1] = s, q.padding[0] = q.padding[1] = p, q.count_include_pad = include_pad;
  return q;
}
}  // namespace

std::vector<OpCase> op_cases() {
  std::vector<OpCase> c;
  // --- elementwise ---
  c.push_back({"add", {N({3, 4}), N({3, 4})}, [](const V& x) { return x[0] + x[1]; }});
  c.push_back({"add_broadcast", {N({3, 1, 4}), N({5, 4})}, [](const V& x) { return add(x[0], x[1]); }});
  c.push_back({"add_noncontiguous", {NT({4, 3}), NT({4, 3})}, [](const V& x) { return x[0] + x[1]; }});
  c.push_back({"add_scalar", {N({2, 3})}, [](const V& x) { return x[0] + 1.5; }});
  c.push_back({"sub_broadcast", {N({2, 3}), N({3})}, [](const V& x) { return x[0] - x[1]; }});
  c.push_back({"mul_broadcast", {N({2, 1, 3}), NT({4, 3})}, [](const V& x) { return x[0] * x[1]; }});
  c.push_back({"div", {N({3, 4}), P({3, 4})}, [](const V& x) { return x[0] / x[1]; }});
  c.push_back({"maximum", {D({3, 4}), D({3, 4})}, [](const V& x) { return maximum(x[0], x[1]); }});
  c.push_back({"minimum_broadcast", {D({3, 4}), D({4})}, [](const V& x) { return minimum(x[0], x[1]); }});
  c.push_back({"pow", {P({3, 4})}, [](const V& x) { return pow(x[0], 2.5); }});
  c.push_back({"neg", {NT({3, 4})}, [](const V& x) { return -x[0]; }});
  c.push_back({"exp", {N({3, 4})}, [](const V& x) { return exp(x[0]); }});
  c.push_back({"log", {P({3, 4})}, [](const V& x) { return log(x[0]); }});
  c.push_back({"sqrt", {P({3, 4})}, [](const V& x) { return sqrt(x[0]); }});
  c.push_back({"rsqrt", {P({3, 4})}, [](const V& x) { return rsqrt(x[0]); }});
  c.push_back({"abs", {D({3, 4})}, [](const V& x) { return abs(x[0]); }});
  c.push_back({"square", {N({3, 4})}, [](const V& x) { return square(x[0]); }});
  c.push_back({"reciprocal", {P({3, 4})}, [](const V& x) { return reciprocal(x[0]); }});
  c.push_back({"relu", {D({4, 5})}, [](const V& x) { return relu(x[0]); }});
  c.push_back({"gelu", {N({4, 5})}, [](const V& x) { return gelu(x[0]); }});
  c.push_back({"sigmoid", {N({4, 5})}, [](const V& x) { return sigmoid(x[0]); }});
  c.push_back({"tanh", {NT({4, 5})}, [](const V& x) { return tanh(x[0]); }});
  c.push_back({"erf", {NT({4, 5})}, [](const V& x) { return erf(x[0]); }});
  c.push_back({"softplus (composed)", {N({4, 5})}, [](const V& x) { return softplus(x[0] * 8.0); }});
  c.push_back({"normal_cdf (composed)", {N({4, 5})}, [](const V& x) { return normal_cdf(x[0]); }});
  c.push_back({"clamp", {D({4, 5})}, [](const V& x) { return clamp(x[0], -0.3, 0.4); }});
  c.push_back({"where", {M({3, 4}), N({3, 4}), N({4})}, [](const V& x) { return where(x[0], x[1], x[2]); }});
  c.push_back({"masked_fill", {N({3, 4}), M({4})}, [](const V& x) { return masked_fill(x[0], x[1], -2.0); }});
  c.push_back({"compare", {D({3, 4}), D({3, 4})}, [](const V& x) { return gt(x[0], x[1]).to(x[0].dtype()) + eq(x[0], x[0]).to(x[0].dtype()) + lt(x[0], x[1]).to(x[0].dtype()); }, false});
  c.push_back({"sign", {N({3, 4})}, [](const V& x) { return sign(x[0]); }, false});
  // --- reductions and row ops ---
  c.push_back({"sum_all", {N({3, 4, 2})}, [](const V& x) { return sum(x[0]); }});
  c.push_back({"sum_dims_keepdim", {N({3, 4, 2})}, [](const V& x) { return sum(x[0], {0, 2}, true); }});
  c.push_back({"sum_noncontiguous", {NT({5, 3})}, [](const V& x) { return x[0].sum({1}); }});
  c.push_back({"mean", {N({3, 4, 2})}, [](const V& x) { return mean(x[0], {-1}); }});
  c.push_back({"amax", {D({3, 4, 2})}, [](const V& x) { return amax(x[0], {1}); }});
  c.push_back({"amin_all", {D({3, 4})}, [](const V& x) { return amin(x[0]); }});
  c.push_back({"var", {N({4, 6})}, [](const V& x) { return var(x[0], {1}); }});
  c.push_back({"softmax_last", {N({3, 7})}, [](const V& x) { return softmax(x[0], -1); }});
  c.push_back({"softmax_dim0", {NT({5, 3})}, [](const V& x) { return softmax(x[0], 0); }});
  c.push_back({"log_softmax", {N({2, 3, 6})}, [](const V& x) { return log_softmax(x[0], -1); }});
  // finite, +-inf and NaN entries (x / 0 and 0 / 0), through a transposed view.
  c.push_back({"isfinite", {NT({3, 4})}, [](const V& x) {
    const Tensor z = x[0] * 0.0, t = cat({x[0], x[0] / z, z / z}, 0);
    return isfinite(t.transpose(0, 1)).to(x[0].dtype());
  }, false});
  c.push_back({"argmax", {D({4, 6})}, [](const V& x) { return argmax(x[0], 1); }, false});
  c.push_back({"topk", {D({4, 7})}, [](const V& x) { return topk(x[0], 3, -1).first; }});
  c.push_back({"topk_smallest_dim0", {D({6, 3})}, [](const V& x) { return topk(x[0], 2, 0, false).first; }});
  // --- linear algebra ---
  c.push_back({"matmul_2d", {N({5, 4}), N({4, 3})}, [](const V& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_transposed", {NT({5, 4}), NT({4, 3})}, [](const V& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_batched_broadcast", {N({2, 3, 4, 5}), N({3, 5, 2})}, [](const V& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_vector", {N({4}), N({3, 4, 2})}, [](const V& x) { return matmul(x[0], x[1]); }});
  // Inner dimension <= 8 over long rows: the streaming kernel (its backward for b runs it on a^T).
  c.push_back({"matmul_small_k", {N({3, 5}), N({5, 1100})}, [](const V& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_small_k_batched", {NT({2, 4, 3}), N({2, 3, 300})}, [](const V& x) { return matmul(x[0], x[1]); }});
  c.push_back({"matmul_small_k_broadcast", {N({2, 4, 3}), N({1, 3, 300})}, [](const V& x) { return matmul(x[0], x[1]); }});
  c.push_back({"linear", {N({2, 3, 4}), N({5, 4}), N({5})}, [](const V& x) { return linear(x[0], x[1], x[2]); }});
  // Groups of 3, 0 (an expert no token chose) and 4 rows; and without bias.
  c.push_back({"grouped_linear", {N({7, 4}), N({3, 5, 4}), N({3, 5})}, [](const V& x) { return grouped_linear(x[0], {3, 0, 4}, x[1], x[2]); }});
  c.push_back({"grouped_linear", {N({6, 4}), NT({2, 5, 4})}, [](const V& x) { return grouped_linear(x[0], {2, 4}, x[1]); }});
  // --- convolution, pooling, normalisation ---
  c.push_back({"conv2d", {N({2, 3, 6, 5}), N({4, 3, 3, 3}), N({4})}, [](const V& x) { return conv2d(x[0], x[1], x[2], conv(1, 1, 1, 1)); }});
  c.push_back({"conv2d_groups_stride_dilation", {N({2, 4, 9, 8}), N({6, 2, 3, 3})},
               [](const V& x) { return conv2d(x[0], x[1], {}, conv(2, 2, 2, 2)); }});
  c.push_back({"conv2d_1x1_stride2", {N({2, 4, 6, 6}), N({3, 4, 1, 1})}, [](const V& x) { return conv2d(x[0], x[1], {}, conv(2, 0, 1, 1)); }});
  // DY-Conv's per-sample conv. On the CPU all but depthwise (whose blocks span samples: the plain
  // fallback) mix the kernels straight into oneDNN's blocked layout.
  c.push_back({"mixed_conv2d", {N({3, 4, 6, 5}), N({3, 2}), N({2, 5, 4, 3, 3})}, [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(1, 1, 1, 1)); }});
  c.push_back({"mixed_conv2d_groups_stride", {N({2, 4, 7, 7}), NT({2, 3}), N({3, 6, 2, 3, 3})},
               [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(2, 1, 1, 2)); }});
  c.push_back({"mixed_conv2d_blocked", {N({3, 16, 5, 5}), N({3, 2}), N({2, 32, 16, 3, 3})},
               [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(2, 1, 1, 1)); }});
  c.push_back({"mixed_conv2d_dilation", {N({2, 4, 9, 8}), N({2, 2}), N({2, 6, 4, 3, 3})},
               [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(1, 2, 2, 1)); }});
  c.push_back({"mixed_conv2d_blocked_dilation_stride", {N({2, 16, 9, 9}), N({2, 3}), N({3, 16, 16, 3, 3})},
               [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(2, 2, 2, 1)); }});
  c.push_back({"mixed_conv2d_depthwise", {N({3, 4, 5, 5}), N({3, 2}), N({2, 4, 1, 3, 3})},
               [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(1, 1, 1, 4)); }});
  c.push_back({"mixed_conv2d_one_sample", {N({1, 16, 4, 4}), N({1, 3}), N({3, 16, 16, 1, 1})},
               [](const V& x) { return mixed_conv2d(x[0], x[1], x[2], conv(1, 0, 1, 1)); }});
  c.push_back({"conv2d_depthwise", {N({2, 4, 5, 5}), N({4, 1, 3, 3}), N({4})}, [](const V& x) { return conv2d(x[0], x[1], x[2], conv(1, 1, 1, 4)); }});
  c.push_back({"max_pool2d", {D({2, 3, 6, 6})}, [](const V& x) { return max_pool2d(x[0], pool(2, 2, 0)); }});
  c.push_back({"max_pool2d_k3s2p1", {D({2, 2, 7, 7})}, [](const V& x) { return max_pool2d(x[0], pool(3, 2, 1)); }});
  c.push_back({"avg_pool2d_pad", {N({2, 2, 7, 7})}, [](const V& x) { return avg_pool2d(x[0], pool(3, 2, 1)); }});
  c.push_back({"avg_pool2d_exclude_pad", {N({2, 2, 7, 7})}, [](const V& x) { return avg_pool2d(x[0], pool(3, 2, 1, false)); }});
  c.push_back({"adaptive_avg_pool2d_1", {N({2, 3, 4, 4})}, [](const V& x) { return adaptive_avg_pool2d(x[0], 1, 1); }});
  c.push_back({"adaptive_avg_pool2d_2", {N({2, 3, 4, 6})}, [](const V& x) { return adaptive_avg_pool2d(x[0], 2, 3); }});
  c.push_back({"batch_norm_train", {N({4, 3, 3, 2}), P({3}), N({3})},
               [](const V& x) {
                 const DType st = master_dtype(x[0].dtype());
                 Tensor rm = zeros({3}, st, x[0].device()), rv = ones({3}, st, x[0].device());
                 return batch_norm(x[0], x[1], x[2], rm, rv, true, 0.1, 1e-5);
               }});
  c.push_back({"batch_norm_train_2d_noaffine", {N({6, 4})}, [](const V& x) { return batch_norm(x[0], {}, {}, {}, {}, true); }});
  c.push_back({"batch_norm_eval", {N({4, 3, 2, 2}), P({3}), N({3})},
               [](const V& x) {
                 Tensor rm = from_vector<double>({0.3, -0.2, 0.1}, {3}, x[0].device()).to(master_dtype(x[0].dtype()));
                 Tensor rv = from_vector<double>({1.7, 0.6, 1.1}, {3}, x[0].device()).to(master_dtype(x[0].dtype()));
                 return batch_norm(x[0], x[1], x[2], rm, rv, false);
               }});
  // Channel blocks (MemoryFormat::channel_blocks): the CPU's native kernels against the reference
  // backend's strided call converted around; float64 checks the conversions' gradients. Inputs go in
  // through to_channel_blocks and results come out through from_channel_blocks (each a no-op on
  // the other format), so every path in between is exercised in both formats.
  c.push_back({"conv2d_channel_blocks", {N({2, 32, 5, 5}), N({16, 32, 3, 3}), N({16})},
               [](const V& x) { return from_channel_blocks(conv2d(to_channel_blocks(x[0]), x[1], x[2], conv(1, 1, 1, 1))); }});
  c.push_back({"conv2d_channel_blocks_groups_stride", {N({2, 16, 7, 6}), N({32, 8, 3, 3})},
               [](const V& x) { return from_channel_blocks(conv2d(to_channel_blocks(x[0]), x[1], {}, conv(2, 1, 1, 2))); }});
  c.push_back({"conv2d_channel_blocks_to_strided", {N({2, 16, 4, 4}), N({3, 16, 1, 1})},  // 3 outputs: a strided result
               [](const V& x) { return conv2d(to_channel_blocks(x[0]), x[1]); }});
  c.push_back({"mixed_conv2d_channel_blocks", {N({3, 16, 5, 5}), N({3, 2}), N({2, 32, 16, 3, 3})},
               [](const V& x) { return from_channel_blocks(mixed_conv2d(to_channel_blocks(x[0]), x[1], x[2], conv(1, 1, 1, 1))); }});
  c.push_back({"batch_norm_train_channel_blocks", {N({4, 32, 3, 2}), P({32}), N({32})},
               [](const V& x) {
                 const DType st = master_dtype(x[0].dtype());
                 Tensor rm = zeros({32}, st, x[0].device()), rv = ones({32}, st, x[0].device());
                 return from_channel_blocks(batch_norm(to_channel_blocks(x[0]), x[1], x[2], rm, rv, true, 0.1, 1e-5));
               }});
  c.push_back({"batch_norm_eval_channel_blocks", {N({2, 16, 2, 3}), P({16}), N({16})},
               [](const V& x) {
                 const DType st = master_dtype(x[0].dtype());
                 Tensor rm = full({16}, 0.2, st, x[0].device()), rv = full({16}, 1.3, st, x[0].device());
                 return from_channel_blocks(batch_norm(to_channel_blocks(x[0]), x[1], x[2], rm, rv, false, 0.1, 1e-5));
               }});
  c.push_back({"batch_norm_train_5d_volumetric", {N({2, 3, 2, 3, 16}), P({3}), N({3})},
               [](const V& x) { return batch_norm(x[0], x[1], x[2], {}, {}, true); }});
  c.push_back({"channel_means_channel_blocks", {N({2, 32, 3, 4})}, [](const V& x) { return channel_means(to_channel_blocks(x[0])); }});
  // Elementwise ops and reductions on channel blocks mixed with strided and per-channel operands,
  // and a view (which reads a strided copy).
  c.push_back({"channel_blocks_elementwise", {N({2, 32, 3, 2}), N({2, 32, 3, 2}), N({1, 32, 1, 1})},
               [](const V& x) {
                 const Tensor a = to_channel_blocks(x[0]), y = relu(a * to_channel_blocks(x[1]) + x[2]) - x[1] * 0.5;
                 return from_channel_blocks(y) + sum(a, {0, 2, 3}, true) + mean(square(a)) + a.narrow(1, 3, 1);
               }});
  c.push_back({"channel_blocks_batch_view", {N({2, 32, 3, 2})},  // (2, 32, ..) as (1, 64, ..) and (4, 16, ..): still in blocks
               [](const V& x) {
                 const Tensor v = to_channel_blocks(x[0]).view({1, 64, 3, 2});
                 return from_channel_blocks(v.reshape({4, 16, 3, 2}) * 2.0);
               }});
  c.push_back({"layer_norm", {N({2, 3, 8}), P({8}), N({8})}, [](const V& x) { return layer_norm(x[0], x[1], x[2], 1e-5); }});
  c.push_back({"layer_norm_noaffine", {NT({6, 5})}, [](const V& x) { return layer_norm(x[0], {}, {}, 1e-5); }});
  // --- indexing ---
  c.push_back({"index_select", {N({3, 5, 2}), I({7}, 5)}, [](const V& x) { return index_select(x[0], 1, x[1]); }});
  c.push_back({"index_add", {N({5, 3}), I({7}, 5), N({7, 3})}, [](const V& x) { return index_add(x[0], 0, x[1], x[2]); }});
  c.push_back({"gather", {N({4, 6}), I({4, 3}, 6)}, [](const V& x) { return gather(x[0], 1, x[1]); }});
  c.push_back({"scatter_add", {N({4, 6}), I({4, 8}, 6), N({4, 8})}, [](const V& x) { return scatter_add(x[0], 1, x[1], x[2]); }});
  c.push_back({"embedding", {N({10, 4}), I({2, 3}, 10)}, [](const V& x) { return embedding(x[0], x[1]); }});
  c.push_back({"cat", {N({2, 3}), NT({2, 4}), N({2, 1})}, [](const V& x) { return cat({x[0], x[1], x[2]}, 1); }});
  c.push_back({"stack", {N({2, 3}), N({2, 3})}, [](const V& x) { return stack({x[0], x[1]}, -1); }});
  // --- views and copies ---
  c.push_back({"view_reshape", {N({3, 4})}, [](const V& x) { return x[0].reshape({2, -1}) * 2.0; }});
  c.push_back({"reshape_copy", {NT({3, 4})}, [](const V& x) { return x[0].reshape({12}); }});
  c.push_back({"permute", {N({2, 3, 4})}, [](const V& x) { return x[0].permute({2, 0, 1}).contiguous(); }});
  c.push_back({"narrow_select", {N({4, 5})}, [](const V& x) { return x[0].narrow(1, 1, 3) * x[0].select(0, 2).narrow(0, 0, 3); }});
  c.push_back({"expand", {N({3, 1})}, [](const V& x) { return x[0].expand({2, 3, 4}) * 1.0; }});
  c.push_back({"squeeze_unsqueeze_flatten", {N({3, 1, 4})}, [](const V& x) { return x[0].squeeze(1).unsqueeze(0).flatten(); }});
  c.push_back({"clone", {NT({3, 4})}, [](const V& x) { return x[0].clone(); }});
  c.push_back({"to_dtype", {N({3, 4})},
               [](const V& x) { return x[0].to(x[0].dtype() == DType::f64 ? DType::f32 : DType::f64).to(x[0].dtype()) * 3.0; }, true, 1e-4, 1e-5, 1e-2});
  // --- losses ---
  c.push_back({"cross_entropy", {N({5, 4}), I({5}, 4)}, [](const V& x) { return cross_entropy(x[0], x[1]); }});
  c.push_back({"cross_entropy_smoothing_ignore", {N({6, 5}), I({6}, 5)},
               [](const V& x) {
                 Tensor t = x[1].to(kCPU).clone();  // edited on the host, then back to the inputs' device
                 t.data_ptr<int64_t>()[2] = -100;
                 return cross_entropy(x[0], t.to(x[1].device()), 0.1, -100);
               }});
  c.push_back({"cross_entropy_none", {N({4, 3}), I({4}, 3)}, [](const V& x) { return cross_entropy(x[0], x[1], 0.0, -100, Reduction::none); }});
  c.push_back({"mse_loss", {N({3, 4}), N({3, 4})}, [](const V& x) { return mse_loss(x[0], x[1]); }});
  c.push_back({"dropout", {N({6, 5})}, [](const V& x) { return dropout(x[0], 0.3, true); }});
  // --- optimizer updates (the backends' sgd_step/adamw_step): a first and a later update of a
  // parameter, returning the parameter and its state stacked ---
  c.push_back({"sgd_step_momentum_nesterov_wd", {N({3, 5}), N({3, 5}), N({3, 5})},
               [](const V& x) { return sgd_two_steps(x, SgdStep{0.1, 5e-4, 0.9, true, true}, true); }, false});
  c.push_back({"sgd_step_plain", {N({4, 3}), N({4, 3}), N({4, 3})},
               [](const V& x) { return sgd_two_steps(x, SgdStep{0.05, 0.0, 0.0, false, true}, false); }, false});
  c.push_back({"adamw_step", {N({3, 5}), N({3, 5}), N({3, 5})}, [](const V& x) { return adamw_two_steps(x, 1e-3, 0.01); }, false});
  c.push_back({"adamw_step_high_beta1", {N({2, 6}), N({2, 6}), N({2, 6})}, [](const V& x) { return adamw_two_steps(x, 0.1, 0.0, 0.3); },
               false});
  // bf16 runs: batch norm's parameters and DY-Conv's mix and factors stay f32; no bf16 optimizer.
  for (OpCase& k : c) {
    if (k.name.starts_with("batch_norm") && k.inputs.size() == 3) k.f32_inputs = {1, 2};
    if (k.name.starts_with("mixed_conv2d")) k.f32_inputs = {1, 2};
    if (k.name.starts_with("sgd_step") || k.name.starts_with("adamw_step")) k.bf16 = false;
  }
  return c;
}

}  // namespace cherry::test
