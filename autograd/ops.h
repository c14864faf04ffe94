// The differentiable ops: each forward dispatches to the tensor's backend and, when an input
// requires grad, records its backward formula (written next to it, grouped by family in ops_*.cpp).
// Names and semantics follow PyTorch.
#pragma once
#include <optional>
#include <vector>

#include "autograd/autocast.h"
#include "autograd/node.h"
#include "backends/backend.h"
#include "core/tensor.h"

namespace cherry {

// --- elementwise (ops_elementwise.cpp); binary ops broadcast ---
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& a, double exponent);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // exact (erf)
Tensor erf(const Tensor& x);
Tensor softplus(const Tensor& x);     // log(1 + exp(x)), stable for large |x| (composed)
Tensor normal_cdf(const Tensor& x);   // Phi(x) = (1 + erf(x / sqrt 2)) / 2 (composed)
Tensor sigmoid(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sign(const Tensor& x);  // gradient 0
Tensor clamp(const Tensor& x, double lo, double hi);
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// Comparisons: bool result, not differentiable.
Tensor compare(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor eq(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor isfinite(const Tensor& x);  // bool: neither inf nor NaN (integers and bool: all true)

// A scalar operand takes the tensor's dtype (for a bf16 tensor it is rounded to bf16, as any stored
// bf16 value is).
Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double s);
Tensor operator-(const Tensor& a, double s);
Tensor operator*(const Tensor& a, double s);
Tensor operator/(const Tensor& a, double s);
Tensor operator+(double s, const Tensor& a);
Tensor operator-(double s, const Tensor& a);
Tensor operator*(double s, const Tensor& a);
Tensor operator/(double s, const Tensor& a);

// --- reductions and row ops (ops_reduce.cpp); empty dims = all dims ---
Tensor sum(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);  // ties share the gradient
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims = {}, bool keepdim = false);
Tensor var(const Tensor& x, const std::vector<int64_t>& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor sum_to(const Tensor& x, const Shape& shape);  // undo broadcasting
Tensor argmax(const Tensor& x, int64_t dim = -1, bool keepdim = false);
std::pair<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);  // values, i64 indices
Tensor softmax(const Tensor& x, int64_t dim = -1);
Tensor log_softmax(const Tensor& x, int64_t dim = -1);

// --- linear algebra (ops_linalg.cpp) ---
Tensor matmul(const Tensor& a, const Tensor& b);  // 1-D/2-D/batched with broadcast batch dims
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = {});  // x @ W^T + b, W:(out,in)
// Rows of x in consecutive groups of group_sizes[g] rows; group g goes through weight[g]:(out,in)
// and bias[g]. One GEMM per non-empty group, written in place (mixture-of-experts layers).
Tensor grouped_linear(const Tensor& x, const std::vector<int64_t>& group_sizes, const Tensor& weight, const Tensor& bias = {});

// --- convolution, pooling, normalisation (ops_nn.cpp) ---
// Channel blocks (MemoryFormat::channel_blocks, backends/arg.h): an (N, C, H, W) tensor stored as
// oneDNN's nChw16c, the layout its CPU convolutions compute in. The shape stays (N, C, H, W); only
// the memory order differs. conv2d, mixed_conv2d and batch_norm keep their input's format (where
// has_channel_blocks: CPU f32; elsewhere they convert around a strided call); elementwise ops,
// reductions, channel_means, clone, to(dtype) and a view that moves whole blocks between batch and
// channels work on it directly; every other op (other views, matmul, indexing, ...) reads a strided
// copy (contiguous()), so any op or layer can take such a tensor.
bool has_channel_blocks(const Tensor& x);
Tensor to_channel_blocks(const Tensor& x);    // (N, C, H, W) with C % 16 == 0; a no-op when already
Tensor from_channel_blocks(const Tensor& x);  // the strided (N, C, H, W) copy; a no-op when strided
Tensor channel_means(const Tensor& x);        // (N, C): the mean over H, W, in either format
Tensor per_channel(const Tensor& v, const Tensor& like);  // v:(N, C) as (N, C, 1, 1), broadcastable against like
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& p = {});
// DY-Conv's per-sample convolution: y[b] = conv(x[b], sum_f mix[b, f] * factors[f]) with
// mix:(B,F), factors:(F,O,C/g,kh,kw). Fused on the CPU (the kernels are mixed in oneDNN's layout).
Tensor mixed_conv2d(const Tensor& x, const Tensor& mix, const Tensor& factors, const Conv2dParams& p = {});
Tensor max_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor avg_pool2d(const Tensor& x, const Pool2dParams& p);
Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w);
// training: batch statistics (running stats updated in place when defined); else running stats.
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);  // last dim

// --- indexing (ops_index.cpp); indices are i64 ---
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);  // out-of-place
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);  // out-of-place
Tensor embedding(const Tensor& weight, const Tensor& indices);  // weight:(V,D), indices:(...) -> (...,D)
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);

// --- losses and regularisers (losses.cpp) ---
enum class Reduction { none, mean, sum };
// logits:(N,C), target:(N) i64. Mean is over non-ignored targets (PyTorch semantics).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, double label_smoothing = 0.0,
                     int64_t ignore_index = -100, Reduction reduction = Reduction::mean);
Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor dropout(const Tensor& x, double p, bool training);

}  // namespace cherry
