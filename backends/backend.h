// The Backend interface: one virtual call per op (never per element). Each device implements it
// (cpu/, cuda/, and reference/ for tests); the ops layer in autograd/ is the only caller.
// Args are already validated there: shapes agree, broadcast dims carry stride 0.
#pragma once
#include <cstddef>
#include <string>

#include "backends/arg.h"

namespace cherry {

enum class UnaryOp { neg, exp, log, sqrt, rsqrt, abs, relu, sigmoid, tanh, gelu, sign, square, reciprocal, erf };
// relu_backward: a=grad, b=x -> a*(b>0); gelu_backward: a=grad, b=x -> a*gelu'(b).
enum class BinaryOp { add, sub, mul, div, maximum, minimum, pow, eq, ne, lt, le, gt, ge, relu_backward, gelu_backward };
enum class ReduceOp { sum, mean, max, min };

const char* op_name(UnaryOp op);
const char* op_name(BinaryOp op);
const char* op_name(ReduceOp op);
inline bool is_comparison(BinaryOp op) { return op >= BinaryOp::eq && op <= BinaryOp::ge; }

struct Conv2dParams {
  int64_t stride[2] = {1, 1}, padding[2] = {0, 0}, dilation[2] = {1, 1};
  int64_t groups = 1;
};
struct Pool2dParams {
  int64_t kernel[2] = {2, 2}, stride[2] = {2, 2}, padding[2] = {0, 0};
  bool count_include_pad = true;  // avg pool only
};

// One optimizer update of one parameter (optim/sgd.h, optim/adamw.h give the formulas). Scalars
// are rounded to the parameter's dtype before use; each element rounds where PyTorch's kernels do.
struct SgdStep {
  double lr = 0.0, weight_decay = 0.0, momentum = 0.0;
  bool nesterov = false;
  bool first = false;  // the parameter's first update: the momentum buffer takes the gradient itself
};
struct AdamWStep {
  double decay = 1.0;  // 1 - lr*wd
  double one_minus_beta1 = 0.1, beta2 = 0.999, one_minus_beta2 = 0.001;
  double bc2_sqrt = 1.0;   // sqrt(1 - beta2^t)
  double step_size = 0.0;  // lr / (1 - beta1^t)
  double eps = 1e-8;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual const char* name() const = 0;

  // Memory (raw; core's CachingAllocator sits on top).
  virtual void* raw_allocate(size_t nbytes) = 0;
  virtual void raw_deallocate(void* p, size_t nbytes) = 0;
  virtual void copy_from_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void copy_to_host(void* dst, const void* src, size_t nbytes) = 0;
  virtual void synchronize() {}

  // Elementwise. out is contiguous; inputs are strided views already broadcast to out's shape.
  virtual void fill(const Arg& out, double value) = 0;                 // out strided
  virtual void copy(const Arg& src, const Arg& dst) = 0;               // strided -> strided, casts dtype
  virtual void unary(UnaryOp op, const Arg& x, const Arg& out) = 0;
  virtual void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) = 0;  // comparisons: out bool
  virtual void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out) = 0;

  // Reductions: out has x's rank with size 1 on each reduced dim.
  virtual void reduce(ReduceOp op, const Arg& x, const Arg& out) = 0;
  // Last-dim ops on contiguous x:(M,N).
  virtual void argmax(const Arg& x, const Arg& out) = 0;                                  // out:(M) i64
  virtual void topk(const Arg& x, int64_t k, bool largest, const Arg& values, const Arg& indices) = 0;  // (M,k)
  virtual void softmax(const Arg& x, bool log, const Arg& y) = 0;                         // y:(M,N)
  virtual void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx) = 0;

  // Batched GEMM: c:(B,M,N) = alpha * a:(B,M,K) @ b:(B,K,N) + beta * c. Each 2-D slice has a unit
  // stride on one of its dims (row- or column-major); batch stride may be 0 (broadcast).
  virtual void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) = 0;

  // Convolution, NCHW / OIHW (PyTorch layouts). bias may have data == nullptr.
  // Where has_channel_blocks(dtype), x, y and their gradients may also come in channel blocks
  // (5-D (N, C/16, H, W, 16), ops.h) for conv2d and mixed_conv2d, and batch norm's x as
  // (N, C/16, H*W, 16); elsewhere the ops layer converts around a plain call.
  virtual bool has_channel_blocks(DType) const { return false; }
  virtual void conv2d_forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p) = 0;
  // Both gradients in one call, so a backend can share work on gy (oneDNN reorders it once).
  // gx, gw, gbias may each have data == nullptr (not needed).
  virtual void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                               const Conv2dParams& p) = 0;

  // Optional fused kernel for DY-Conv's per-sample convolution: y[b] = conv(x[b], W_b) with
  // W_b = sum_f mix[b, f] * factors[f]; x:(B,C,H,W), mix:(B,F), factors:(F,O,C/g,kh,kw),
  // y:(B,O,OH,OW), all contiguous; p.groups = g applies within each sample. gx, gmix, gfactors
  // may be null. Where has_mixed_conv2d is false the ops layer runs matmul + one conv2d with
  // groups = B*g instead (the defaults below throw).
  virtual bool has_mixed_conv2d(DType) const { return false; }
  virtual void mixed_conv2d_forward(const Arg& x, const Arg& mix, const Arg& factors, const Arg& y, const Conv2dParams& p);
  virtual void mixed_conv2d_backward(const Arg& gy, const Arg& x, const Arg& mix, const Arg& factors, const Arg& gx,
                                     const Arg& gmix, const Arg& gfactors, const Conv2dParams& p);

  // Pooling, NCHW. indices: i64 flat h*W+w into each input plane.
  virtual void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& indices, const Pool2dParams& p) = 0;
  // p: the forward's window geometry (a device kernel gathers per input pixel, in output order).
  virtual void max_pool2d_backward(const Arg& gy, const Arg& indices, const Arg& gx, const Pool2dParams& p) = 0;
  virtual void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p) = 0;
  virtual void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p) = 0;

  // Batch norm over (N,S) per channel of x:(N,C,S,1) (S = H*W, 1 allowed). training: batch stats,
  // written to mean/invstd:(C), running stats updated in place (unbiased var) when given.
  // eval: uses running stats, mean/invstd untouched.
  virtual void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean,
                                  const Arg& running_var, bool training, double momentum, double eps,
                                  const Arg& y, const Arg& mean, const Arg& invstd) = 0;
  virtual void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd,
                                   const Arg& gx, const Arg& gw, const Arg& gb) = 0;

  // Layer norm over the last dim of x:(M,N); w,b:(N) optional (data == nullptr); mean/rstd:(M).
  virtual void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y,
                                  const Arg& mean, const Arg& rstd) = 0;
  virtual void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd,
                                   const Arg& gx, const Arg& gw, const Arg& gb) = 0;

  // Indexing along dim. idx i64. index_select: out[.., i, ..] = x[.., idx[i], ..].
  virtual void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) = 0;
  virtual void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) = 0;  // out[.., idx[i], ..] += src[.., i, ..]
  virtual void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) = 0;       // out[i][j] = x[i][idx[i][j]] (dim=1)
  virtual void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) = 0;  // out[i][idx[i][j]] += src[i][j]

  // Optimizer updates, in place. p, g and the state buffers: contiguous, same shape, f32/f64.
  // sgd_step: momentum_buffer.data == nullptr when momentum is 0.
  virtual void sgd_step(const Arg& p, const Arg& g, const Arg& momentum_buffer, const SgdStep& s) = 0;
  virtual void adamw_step(const Arg& p, const Arg& g, const Arg& exp_avg, const Arg& exp_avg_sq, const AdamWStep& s) = 0;
};

// The registry (backends/registry.cpp, the only #ifdef CHERRY_CUDA).
Backend& backend_for(DeviceType device);
bool backend_available(DeviceType device);
// One line about a device's backend, for logs and skip messages: for CUDA the runtime, driver,
// device and built archs, or why there is none ("this build has no CUDA backend", "no CUDA device").
std::string backend_info(DeviceType device);

// Tests swap the CPU backend for the reference backend for the lifetime of this guard.
class ScopedBackendOverride {
 public:
  ScopedBackendOverride(DeviceType device, Backend* replacement);
  ~ScopedBackendOverride();
  ScopedBackendOverride(const ScopedBackendOverride&) = delete;
  ScopedBackendOverride& operator=(const ScopedBackendOverride&) = delete;

 private:
  DeviceType device_;
  Backend* previous_;
};

}  // namespace cherry
