// Routes Backend calls to the cpu:: kernels and picks the convolution path (oneDNN for f32).
#include "backends/cpu/cpu_backend.h"

#include <cblas.h>
#include <omp.h>

#include <cstdlib>
#include <cstring>

#include "core/error.h"

extern "C" int openblas_get_parallel(void);
extern "C" char* openblas_get_config(void);

namespace cherry {
namespace {

// oneDNN has no f64 convolution; f64 (gradient checks) takes the im2col path. DY-Conv's per-sample
// kernels (one image, groups = B*g) stay on oneDNN: its grouped kernels measured 1.3-3.5x faster
// than one im2col GEMM per group per thread at ResNet-20 shapes (bench/cherry_bench gconv_*).
bool use_onednn(const Arg& x, const Arg&, const Arg&, const Conv2dParams&) { return x.dtype == DType::f32; }

class CpuBackend final : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  void* raw_allocate(size_t nbytes) override { return std::aligned_alloc(64, (nbytes + 63) / 64 * 64); }
  void raw_deallocate(void* p, size_t) override { std::free(p); }
  void copy_from_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }

  void fill(const Arg& out, double v) override { cpu::fill(out, v); }
  void copy(const Arg& src, const Arg& dst) override { cpu::copy(src, dst); }
  void unary(UnaryOp op, const Arg& x, const Arg& out) override { cpu::unary(op, x, out); }
  void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) override { cpu::binary(op, a, b, out); }
  void where(const Arg& c, const Arg& a, const Arg& b, const Arg& out) override { cpu::where(c, a, b, out); }
  void reduce(ReduceOp op, const Arg& x, const Arg& out) override { cpu::reduce(op, x, out); }
  void argmax(const Arg& x, const Arg& out) override { cpu::argmax(x, out); }
  void topk(const Arg& x, int64_t k, bool largest, const Arg& v, const Arg& i) override { cpu::topk(x, k, largest, v, i); }
  void softmax(const Arg& x, bool log, const Arg& y) override { cpu::softmax(x, log, y); }
  void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx) override { cpu::softmax_backward(y, gy, log, gx); }
  void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) override { cpu::matmul(a, b, c, alpha, beta); }

  void conv2d_forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p) override {
    use_onednn(x, w, y, p) ? cpu::conv2d_forward_onednn(x, w, bias, y, p) : cpu::conv2d_forward_im2col(x, w, bias, y, p);
  }
  void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gb,
                       const Conv2dParams& p) override {
    use_onednn(x, w, gy, p) ? cpu::conv2d_backward_onednn(gy, x, w, gx, gw, gb, p) : cpu::conv2d_backward_im2col(gy, x, w, gx, gw, gb, p);
  }

  bool has_channel_blocks(DType t) const override { return t == DType::f32; }  // oneDNN's nChw16c
  bool has_mixed_conv2d(DType t) const override { return t == DType::f32; }
  void mixed_conv2d_forward(const Arg& x, const Arg& mix, const Arg& f, const Arg& y, const Conv2dParams& p) override {
    cpu::mixed_conv2d_forward_onednn(x, mix, f, y, p);
  }
  void mixed_conv2d_backward(const Arg& gy, const Arg& x, const Arg& mix, const Arg& f, const Arg& gx, const Arg& gmix,
                             const Arg& gf, const Conv2dParams& p) override {
    cpu::mixed_conv2d_backward_onednn(gy, x, mix, f, gx, gmix, gf, p);
  }

  void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& i, const Pool2dParams& p) override { cpu::max_pool2d_forward(x, y, i, p); }
  void max_pool2d_backward(const Arg& gy, const Arg& i, const Arg& gx, const Pool2dParams&) override { cpu::max_pool2d_backward(gy, i, gx); }
  void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p) override { cpu::avg_pool2d_forward(x, y, p); }
  void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p) override { cpu::avg_pool2d_backward(gy, gx, p); }

  void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& rm, const Arg& rv, bool training, double momentum,
                          double eps, const Arg& y, const Arg& mean, const Arg& invstd) override {
    cpu::batch_norm_forward(x, w, b, rm, rv, training, momentum, eps, y, mean, invstd);
  }
  void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd, const Arg& gx,
                           const Arg& gw, const Arg& gb) override {
    cpu::batch_norm_backward(gy, x, w, mean, invstd, gx, gw, gb);
  }
  void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y, const Arg& mean, const Arg& rstd) override {
    cpu::layer_norm_forward(x, w, b, eps, y, mean, rstd);
  }
  void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd, const Arg& gx,
                           const Arg& gw, const Arg& gb) override {
    cpu::layer_norm_backward(gy, x, w, mean, rstd, gx, gw, gb);
  }
  void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) override { cpu::index_select(x, dim, idx, out); }
  void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) override { cpu::index_add(out, dim, idx, src); }
  void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) override { cpu::gather(x, dim, idx, out); }
  void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) override { cpu::scatter_add(out, dim, idx, src); }
  void sgd_step(const Arg& p, const Arg& g, const Arg& buf, const SgdStep& s) override { cpu::sgd_step(p, g, buf, s); }
  void adamw_step(const Arg& p, const Arg& g, const Arg& m, const Arg& v, const AdamWStep& s) override { cpu::adamw_step(p, g, m, v, s); }
};

}  // namespace

Backend& cpu_backend() {
  static CpuBackend instance;
  return instance;
}

bool blas_uses_openmp() { return openblas_get_parallel() == 2; }

std::string blas_info() {
  const int par = openblas_get_parallel();
  const char* kind = par == 2 ? "OpenMP" : par == 1 ? "pthreads" : "sequential";
  return cat(openblas_get_config(), " (", kind, ", ", omp_get_max_threads(), " threads)");
}

}  // namespace cherry
