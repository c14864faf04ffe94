// Naive kernels: every element is located by unravelling its linear index into a multi-index and
// dotting it with the strides. Slow on purpose; the point is that each loop reads like the formula.
#include "backends/reference/reference_backend.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <type_traits>

#include "backends/dispatch.h"
#include "backends/scalar_math.h"

namespace cherry {
namespace {

using Index = std::vector<int64_t>;

Index unravel(const Shape& shape, int64_t i) {
  Index idx(shape.size());
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    idx[d] = i % shape[d];
    i /= shape[d];
  }
  return idx;
}
int64_t offset(const Arg& a, const Index& idx) {
  int64_t o = 0;
  for (size_t d = 0; d < idx.size(); ++d) o += idx[d] * a.strides[d];
  return o;
}
// Floating elementwise maths in double with the std:: functions (the CPU backend's float kernels use
// fast approximations; the reference stays independent of them). Integers as they are.
template <class T> using Exact = std::conditional_t<std::is_floating_point_v<T>, double, T>;

template <class T> T& at(const Arg& a, const Index& idx) { return a.ptr<T>()[offset(a, idx)]; }
template <class T> T& at(const Arg& a, int64_t linear) { return at<T>(a, unravel(a.shape, linear)); }
template <class T> T& at4(const Arg& a, int64_t n, int64_t c, int64_t h, int64_t w) {
  return a.ptr<T>()[n * a.strides[0] + c * a.strides[1] + h * a.strides[2] + w * a.strides[3]];
}
int64_t checked_index(const Arg& idx, int64_t linear, int64_t size, const char* op) {
  int64_t i = at<int64_t>(idx, linear);
  CHERRY_CHECK(i >= 0 && i < size, op, "index ", i, " out of range [0, ", size, ")");
  return i;
}

class ReferenceBackend final : public Backend {
 public:
  const char* name() const override { return "reference"; }

  void* raw_allocate(size_t nbytes) override { return std::aligned_alloc(64, (nbytes + 63) / 64 * 64); }
  void raw_deallocate(void* p, size_t) override { std::free(p); }
  void copy_from_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }
  void copy_to_host(void* dst, const void* src, size_t n) override { std::memcpy(dst, src, n); }

  // Conversions only take bf16 here (exact by construction: bf16's own rounding); the bf16 kernels
  // are checked against the f32 ones of this backend (test_ops.cpp).
  void fill(const Arg& out, double value) override {
    dispatch_storage(out.dtype, [&]<class T>() {
      for (int64_t i = 0; i < out.numel(); ++i) at<T>(out, i) = static_cast<T>(value);
    });
  }

  void copy(const Arg& src, const Arg& dst) override {
    dispatch_storage(src.dtype, [&]<class S>() {
      dispatch_storage(dst.dtype, [&]<class D>() {
        for (int64_t i = 0; i < dst.numel(); ++i) store(at<D>(dst, i), compute_t<S>(at<S>(src, i)));
      });
    });
  }

  void unary(UnaryOp op, const Arg& x, const Arg& out) override {
    dispatch_arith(x.dtype, op_name(op), [&]<class T>() {
      with_unary_op(op, [&]<UnaryOp Op>() {
        for (int64_t i = 0; i < out.numel(); ++i) at<T>(out, i) = T(math::unary<Op>(Exact<T>(at<T>(x, i))));
      });
    });
  }

  void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& out) override {
    if (is_comparison(op)) {
      dispatch_all(a.dtype, [&]<class T>() {
        with_compare_op(op, [&]<BinaryOp Op>() {
          for (int64_t i = 0; i < out.numel(); ++i) at<bool>(out, i) = math::compare<Op>(at<T>(a, i), at<T>(b, i));
        });
      });
      return;
    }
    dispatch_arith(a.dtype, op_name(op), [&]<class T>() {
      with_arith_op(op, [&]<BinaryOp Op>() {
        for (int64_t i = 0; i < out.numel(); ++i) at<T>(out, i) = T(math::binary<Op>(Exact<T>(at<T>(a, i)), Exact<T>(at<T>(b, i))));
      });
    });
  }

  void isfinite(const Arg& x, const Arg& out) override {
    dispatch_all(x.dtype, [&]<class T>() {
      for (int64_t i = 0; i < out.numel(); ++i) at<bool>(out, i) = math::is_finite(at<T>(x, i));
    });
  }

  void where(const Arg& cond, const Arg& a, const Arg& b, const Arg& out) override {
    dispatch_all(out.dtype, [&]<class T>() {
      for (int64_t i = 0; i < out.numel(); ++i) {
        bool c = cond.dtype == DType::boolean ? at<bool>(cond, i) : at<uint8_t>(cond, i) != 0;
        at<T>(out, i) = c ? at<T>(a, i) : at<T>(b, i);
      }
    });
  }

  void reduce(ReduceOp op, const Arg& x, const Arg& out) override {
    dispatch_arith(x.dtype, op_name(op), [&]<class T>() {
      const int64_t n_out = out.numel(), count = n_out ? x.numel() / n_out : 0;
      std::vector<double> acc(n_out, op == ReduceOp::max   ? -std::numeric_limits<double>::infinity()
                                     : op == ReduceOp::min ? std::numeric_limits<double>::infinity()
                                                           : 0.0);
      for (int64_t i = 0; i < x.numel(); ++i) {
        Index idx = unravel(x.shape, i);
        for (size_t d = 0; d < idx.size(); ++d)
          if (out.shape[d] == 1) idx[d] = 0;
        int64_t o = 0;
        for (size_t d = 0; d < idx.size(); ++d) o = o * out.shape[d] + idx[d];
        double v = double(at<T>(x, i));
        if (op == ReduceOp::max) acc[o] = std::max(acc[o], v);
        else if (op == ReduceOp::min) acc[o] = std::min(acc[o], v);
        else acc[o] += v;
      }
      for (int64_t o = 0; o < n_out; ++o) at<T>(out, o) = static_cast<T>(op == ReduceOp::mean ? acc[o] / double(count) : acc[o]);
    });
  }

  void argmax(const Arg& x, const Arg& out) override {
    dispatch_arith(x.dtype, "argmax", [&]<class T>() {
      for (int64_t m = 0; m < x.shape[0]; ++m) {
        int64_t best = 0;
        for (int64_t n = 1; n < x.shape[1]; ++n)
          if (at<T>(x, {m, n}) > at<T>(x, {m, best})) best = n;
        at<int64_t>(out, {m}) = best;
      }
    });
  }

  void topk(const Arg& x, int64_t k, bool largest, const Arg& values, const Arg& indices) override {
    dispatch_arith(x.dtype, "topk", [&]<class T>() {
      for (int64_t m = 0; m < x.shape[0]; ++m) {
        std::vector<int64_t> order(x.shape[1]);
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) {
          return largest ? at<T>(x, {m, i}) > at<T>(x, {m, j}) : at<T>(x, {m, i}) < at<T>(x, {m, j});
        });
        for (int64_t j = 0; j < k; ++j) {
          at<T>(values, {m, j}) = at<T>(x, {m, order[j]});
          at<int64_t>(indices, {m, j}) = order[j];
        }
      }
    });
  }

  void softmax(const Arg& x, bool log, const Arg& y) override {
    dispatch_floating(x.dtype, "softmax", [&]<class T>() {
      for (int64_t m = 0; m < x.shape[0]; ++m) {
        double mx = -std::numeric_limits<double>::infinity(), sum = 0;
        for (int64_t n = 0; n < x.shape[1]; ++n) mx = std::max(mx, double(at<T>(x, {m, n})));
        for (int64_t n = 0; n < x.shape[1]; ++n) sum += std::exp(double(at<T>(x, {m, n})) - mx);
        for (int64_t n = 0; n < x.shape[1]; ++n) {
          double z = double(at<T>(x, {m, n})) - mx;
          at<T>(y, {m, n}) = T(log ? z - std::log(sum) : std::exp(z) / sum);
        }
      }
    });
  }

  void softmax_backward(const Arg& y, const Arg& gy, bool log, const Arg& gx) override {
    dispatch_floating(y.dtype, "softmax_backward", [&]<class T>() {
      for (int64_t m = 0; m < y.shape[0]; ++m) {
        double dot = 0;
        for (int64_t n = 0; n < y.shape[1]; ++n)
          dot += double(at<T>(gy, {m, n})) * (log ? 1.0 : double(at<T>(y, {m, n})));
        for (int64_t n = 0; n < y.shape[1]; ++n) {
          double yv = at<T>(y, {m, n}), g = at<T>(gy, {m, n});
          at<T>(gx, {m, n}) = T(log ? g - std::exp(yv) * dot : yv * (g - dot));
        }
      }
    });
  }

  void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) override {
    dispatch_floating(a.dtype, "matmul", [&]<class T>() {
      const int64_t B = c.shape[0], M = c.shape[1], N = c.shape[2], K = a.shape[2];
      for (int64_t bi = 0; bi < B; ++bi)
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double s = 0;
            for (int64_t k = 0; k < K; ++k) s += double(at<T>(a, {bi, i, k})) * double(at<T>(b, {bi, k, j}));
            T& dst = at<T>(c, {bi, i, j});
            dst = T(alpha * s + (beta == 0 ? 0.0 : beta * double(dst)));
          }
    });
  }

  // Visits every (output position, kernel tap) pair of a convolution with its input coordinate.
  template <class F> static void conv_taps(const Arg& x, const Arg& w, const Shape& y_shape, const Conv2dParams& p, F&& f) {
    const int64_t N = x.shape[0], Cin = x.shape[1], H = x.shape[2], W = x.shape[3];
    const int64_t O = w.shape[0], Cg = w.shape[1], KH = w.shape[2], KW = w.shape[3];
    const int64_t OH = y_shape[2], OW = y_shape[3], Og = O / p.groups;
    (void)Cin;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t oh = 0; oh < OH; ++oh)
          for (int64_t ow = 0; ow < OW; ++ow)
            for (int64_t c = 0; c < Cg; ++c)
              for (int64_t kh = 0; kh < KH; ++kh)
                for (int64_t kw = 0; kw < KW; ++kw) {
                  int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
                  int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
                  if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                  f(n, o, oh, ow, (o / Og) * Cg + c, c, kh, kw, ih, iw);
                }
  }

  void conv2d_forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p) override {
    dispatch_floating(x.dtype, "conv2d", [&]<class T>() {
      std::vector<double> acc(y.numel(), 0.0);
      const Shape& ys = y.shape;
      conv_taps(x, w, ys, p, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t ci, int64_t c, int64_t kh, int64_t kw, int64_t ih, int64_t iw) {
        acc[((n * ys[1] + o) * ys[2] + oh) * ys[3] + ow] += double(at4<T>(x, n, ci, ih, iw)) * double(at4<T>(w, o, c, kh, kw));
      });
      for (int64_t i = 0; i < y.numel(); ++i) {
        Index idx = unravel(ys, i);
        at<T>(y, idx) = T(acc[i] + (bias.data ? double(at<T>(bias, {idx[1]})) : 0.0));
      }
    });
  }

  void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                       const Conv2dParams& p) override {
    if (gx.data) backward_data(gy, w, gx, p);
    if (gw.data || gbias.data) backward_weight(gy, x, w, gw, gbias, p);
  }

  void backward_data(const Arg& gy, const Arg& w, const Arg& gx, const Conv2dParams& p) {
    dispatch_floating(gy.dtype, "conv2d_backward_data", [&]<class T>() {
      std::vector<double> acc(gx.numel(), 0.0);
      const Shape& xs = gx.shape;
      conv_taps(gx, w, gy.shape, p, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t ci, int64_t c, int64_t kh, int64_t kw, int64_t ih, int64_t iw) {
        acc[((n * xs[1] + ci) * xs[2] + ih) * xs[3] + iw] += double(at4<T>(gy, n, o, oh, ow)) * double(at4<T>(w, o, c, kh, kw));
      });
      for (int64_t i = 0; i < gx.numel(); ++i) at<T>(gx, i) = T(acc[i]);
    });
  }

  // gw and gbias may each be absent.
  void backward_weight(const Arg& gy, const Arg& x, const Arg& w, const Arg& gw, const Arg& gbias, const Conv2dParams& p) {
    dispatch_floating(gy.dtype, "conv2d_backward_weight", [&]<class T>() {
      if (gw.data) {
        std::vector<double> acc(gw.numel(), 0.0);
        const Shape& ws = w.shape;
        conv_taps(x, w, gy.shape, p, [&](int64_t n, int64_t o, int64_t oh, int64_t ow, int64_t ci, int64_t c, int64_t kh, int64_t kw, int64_t ih, int64_t iw) {
          acc[((o * ws[1] + c) * ws[2] + kh) * ws[3] + kw] += double(at4<T>(gy, n, o, oh, ow)) * double(at4<T>(x, n, ci, ih, iw));
        });
        for (int64_t i = 0; i < gw.numel(); ++i) at<T>(gw, i) = T(acc[i]);
      }
      if (gbias.data) {
        for (int64_t o = 0; o < gy.shape[1]; ++o) {
          double s = 0;
          for (int64_t n = 0; n < gy.shape[0]; ++n)
            for (int64_t h = 0; h < gy.shape[2]; ++h)
              for (int64_t v = 0; v < gy.shape[3]; ++v) s += double(at4<T>(gy, n, o, h, v));
          at<T>(gbias, {o}) = T(s);
        }
      }
    });
  }

  // Visits every output position of a pooling window with the window's clipped input range.
  template <class F> static void pool_windows(const Shape& x_shape, const Shape& y_shape, const Pool2dParams& p, F&& f) {
    for (int64_t n = 0; n < y_shape[0]; ++n)
      for (int64_t c = 0; c < y_shape[1]; ++c)
        for (int64_t oh = 0; oh < y_shape[2]; ++oh)
          for (int64_t ow = 0; ow < y_shape[3]; ++ow) {
            int64_t h0 = oh * p.stride[0] - p.padding[0], w0 = ow * p.stride[1] - p.padding[1];
            f(n, c, oh, ow, h0, w0);
          }
    (void)x_shape;
  }

  void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& indices, const Pool2dParams& p) override {
    dispatch_floating(x.dtype, "max_pool2d", [&]<class T>() {
      const int64_t H = x.shape[2], W = x.shape[3];
      pool_windows(x.shape, y.shape, p, [&](int64_t n, int64_t c, int64_t oh, int64_t ow, int64_t h0, int64_t w0) {
        T best = -std::numeric_limits<T>::infinity();
        int64_t best_i = -1;
        for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + p.kernel[0], H); ++h)
          for (int64_t v = std::max<int64_t>(w0, 0); v < std::min(w0 + p.kernel[1], W); ++v)
            if (best_i < 0 || at4<T>(x, n, c, h, v) > best) best = at4<T>(x, n, c, h, v), best_i = h * W + v;
        at4<T>(y, n, c, oh, ow) = best;
        at4<int64_t>(indices, n, c, oh, ow) = best_i;
      });
    });
  }

  void max_pool2d_backward(const Arg& gy, const Arg& indices, const Arg& gx, const Pool2dParams&) override {
    dispatch_floating(gy.dtype, "max_pool2d_backward", [&]<class T>() {
      fill(gx, 0.0);
      const int64_t W = gx.shape[3];
      for (int64_t i = 0; i < gy.numel(); ++i) {
        Index idx = unravel(gy.shape, i);
        int64_t flat = at<int64_t>(indices, idx);
        at4<T>(gx, idx[0], idx[1], flat / W, flat % W) += at<T>(gy, idx);
      }
    });
  }

  static int64_t avg_divisor(int64_t h0, int64_t w0, int64_t H, int64_t W, const Pool2dParams& p) {
    if (p.count_include_pad)
      return (std::min(h0 + p.kernel[0], H + p.padding[0]) - h0) * (std::min(w0 + p.kernel[1], W + p.padding[1]) - w0);
    return (std::min(h0 + p.kernel[0], H) - std::max<int64_t>(h0, 0)) * (std::min(w0 + p.kernel[1], W) - std::max<int64_t>(w0, 0));
  }

  void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p) override {
    dispatch_floating(x.dtype, "avg_pool2d", [&]<class T>() {
      const int64_t H = x.shape[2], W = x.shape[3];
      pool_windows(x.shape, y.shape, p, [&](int64_t n, int64_t c, int64_t oh, int64_t ow, int64_t h0, int64_t w0) {
        double s = 0;
        for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + p.kernel[0], H); ++h)
          for (int64_t v = std::max<int64_t>(w0, 0); v < std::min(w0 + p.kernel[1], W); ++v) s += double(at4<T>(x, n, c, h, v));
        at4<T>(y, n, c, oh, ow) = T(s / double(avg_divisor(h0, w0, H, W, p)));
      });
    });
  }

  void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p) override {
    dispatch_floating(gy.dtype, "avg_pool2d_backward", [&]<class T>() {
      fill(gx, 0.0);
      const int64_t H = gx.shape[2], W = gx.shape[3];
      pool_windows(gx.shape, gy.shape, p, [&](int64_t n, int64_t c, int64_t oh, int64_t ow, int64_t h0, int64_t w0) {
        T g = T(double(at4<T>(gy, n, c, oh, ow)) / double(avg_divisor(h0, w0, H, W, p)));
        for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h0 + p.kernel[0], H); ++h)
          for (int64_t v = std::max<int64_t>(w0, 0); v < std::min(w0 + p.kernel[1], W); ++v) at4<T>(gx, n, c, h, v) += g;
      });
    });
  }

  // Batch norm on x viewed as (N,C,S) with S = H*W (x is 4-D here; ops layer reshapes 2-D input).
  void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& running_mean, const Arg& running_var,
                          bool training, double momentum, double eps, const Arg& y, const Arg& mean, const Arg& invstd) override {
    dispatch_floating(x.dtype, "batch_norm", [&]<class T>() {
      const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3], count = N * H * W;
      for (int64_t c = 0; c < C; ++c) {
        double mu, var;
        if (training) {
          double s = 0, ss = 0;
          for (int64_t n = 0; n < N; ++n)
            for (int64_t h = 0; h < H; ++h)
              for (int64_t v = 0; v < W; ++v) s += double(at4<T>(x, n, c, h, v));
          mu = s / double(count);
          for (int64_t n = 0; n < N; ++n)
            for (int64_t h = 0; h < H; ++h)
              for (int64_t v = 0; v < W; ++v) ss += std::pow(double(at4<T>(x, n, c, h, v)) - mu, 2);
          var = ss / double(count);
          at<T>(mean, {c}) = T(mu);
          at<T>(invstd, {c}) = T(1.0 / std::sqrt(var + eps));
          if (running_mean.data) {
            T& rm = at<T>(running_mean, {c});
            T& rv = at<T>(running_var, {c});
            rm = T((1 - momentum) * double(rm) + momentum * mu);
            rv = T((1 - momentum) * double(rv) + momentum * var * double(count) / double(std::max<int64_t>(count - 1, 1)));
          }
        } else {
          mu = double(at<T>(running_mean, {c}));
          var = double(at<T>(running_var, {c}));
        }
        double is = 1.0 / std::sqrt(var + eps);
        double g = w.data ? double(at<T>(w, {c})) : 1.0, beta = b.data ? double(at<T>(b, {c})) : 0.0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t v = 0; v < W; ++v) at4<T>(y, n, c, h, v) = T((double(at4<T>(x, n, c, h, v)) - mu) * is * g + beta);
      }
    });
  }

  void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& invstd,
                           const Arg& gx, const Arg& gw, const Arg& gb) override {
    dispatch_floating(x.dtype, "batch_norm_backward", [&]<class T>() {
      const int64_t N = x.shape[0], C = x.shape[1], H = x.shape[2], W = x.shape[3];
      const double count = double(N * H * W);
      for (int64_t c = 0; c < C; ++c) {
        double mu = at<T>(mean, {c}), is = at<T>(invstd, {c}), g = w.data ? double(at<T>(w, {c})) : 1.0;
        double sum_gy = 0, sum_gy_xhat = 0;
        for (int64_t n = 0; n < N; ++n)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t v = 0; v < W; ++v) {
              double d = at4<T>(gy, n, c, h, v);
              sum_gy += d;
              sum_gy_xhat += d * (double(at4<T>(x, n, c, h, v)) - mu) * is;
            }
        for (int64_t n = 0; n < N; ++n)
          for (int64_t h = 0; h < H; ++h)
            for (int64_t v = 0; v < W; ++v) {
              double xhat = (double(at4<T>(x, n, c, h, v)) - mu) * is;
              at4<T>(gx, n, c, h, v) = T(g * is / count * (count * double(at4<T>(gy, n, c, h, v)) - sum_gy - xhat * sum_gy_xhat));
            }
        if (gw.data) at<T>(gw, {c}) = T(sum_gy_xhat);
        if (gb.data) at<T>(gb, {c}) = T(sum_gy);
      }
    });
  }

  void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double eps, const Arg& y, const Arg& mean, const Arg& rstd) override {
    dispatch_floating(x.dtype, "layer_norm", [&]<class T>() {
      const int64_t M = x.shape[0], N = x.shape[1];
      for (int64_t m = 0; m < M; ++m) {
        double s = 0, ss = 0;
        for (int64_t n = 0; n < N; ++n) s += double(at<T>(x, {m, n}));
        double mu = s / double(N);
        for (int64_t n = 0; n < N; ++n) ss += std::pow(double(at<T>(x, {m, n})) - mu, 2);
        double rs = 1.0 / std::sqrt(ss / double(N) + eps);
        at<T>(mean, {m}) = T(mu);
        at<T>(rstd, {m}) = T(rs);
        for (int64_t n = 0; n < N; ++n) {
          double v = (double(at<T>(x, {m, n})) - mu) * rs;
          if (w.data) v *= double(at<T>(w, {n}));
          if (b.data) v += double(at<T>(b, {n}));
          at<T>(y, {m, n}) = T(v);
        }
      }
    });
  }

  void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& mean, const Arg& rstd,
                           const Arg& gx, const Arg& gw, const Arg& gb) override {
    dispatch_floating(x.dtype, "layer_norm_backward", [&]<class T>() {
      const int64_t M = x.shape[0], N = x.shape[1];
      std::vector<double> acc_w(N, 0.0), acc_b(N, 0.0);
      for (int64_t m = 0; m < M; ++m) {
        double mu = at<T>(mean, {m}), rs = at<T>(rstd, {m}), a = 0, bsum = 0;
        for (int64_t n = 0; n < N; ++n) {
          double xhat = (double(at<T>(x, {m, n})) - mu) * rs, g = at<T>(gy, {m, n});
          double gw_n = g * (w.data ? double(at<T>(w, {n})) : 1.0);
          a += gw_n;
          bsum += gw_n * xhat;
          acc_w[n] += g * xhat;
          acc_b[n] += g;
        }
        for (int64_t n = 0; n < N; ++n) {
          double xhat = (double(at<T>(x, {m, n})) - mu) * rs;
          double gw_n = double(at<T>(gy, {m, n})) * (w.data ? double(at<T>(w, {n})) : 1.0);
          at<T>(gx, {m, n}) = T(rs * (gw_n - a / double(N) - xhat * bsum / double(N)));
        }
      }
      for (int64_t n = 0; n < N; ++n) {
        if (gw.data) at<T>(gw, {n}) = T(acc_w[n]);
        if (gb.data) at<T>(gb, {n}) = T(acc_b[n]);
      }
    });
  }

  void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) override {
    dispatch_all(x.dtype, [&]<class T>() {
      for (int64_t i = 0; i < out.numel(); ++i) {
        Index oi = unravel(out.shape, i), xi = oi;
        xi[dim] = checked_index(idx, oi[dim], x.shape[dim], "index_select");
        at<T>(out, oi) = at<T>(x, xi);
      }
    });
  }

  void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) override {
    dispatch_arith(out.dtype, "index_add", [&]<class T>() {
      for (int64_t i = 0; i < src.numel(); ++i) {
        Index si = unravel(src.shape, i), oi = si;
        oi[dim] = checked_index(idx, si[dim], out.shape[dim], "index_add");
        at<T>(out, oi) += at<T>(src, si);
      }
    });
  }

  void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) override {
    dispatch_all(x.dtype, [&]<class T>() {
      for (int64_t i = 0; i < out.numel(); ++i) {
        Index oi = unravel(out.shape, i), xi = oi;
        xi[dim] = checked_index(idx, i, x.shape[dim], "gather");
        at<T>(out, oi) = at<T>(x, xi);
      }
    });
  }

  void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) override {
    dispatch_arith(out.dtype, "scatter_add", [&]<class T>() {
      for (int64_t i = 0; i < idx.numel(); ++i) {
        Index si = unravel(idx.shape, i), oi = si;
        oi[dim] = checked_index(idx, i, out.shape[dim], "scatter_add");
        at<T>(out, oi) += at<T>(src, si);
      }
    });
  }

  // The update formulas of optim/sgd.h and optim/adamw.h, element by element, rounding in T where
  // PyTorch's kernels round (std::fma where torch fuses; this file has no implicit contraction).
  void sgd_step(const Arg& p, const Arg& g, const Arg& buf, const SgdStep& s) override {
    dispatch_floating(p.dtype, "sgd_step", [&]<class T>() {
      const T lr = T(s.lr), wd = T(s.weight_decay), mom = T(s.momentum);
      for (int64_t i = 0; i < p.numel(); ++i) {
        T& pi = at<T>(p, i);
        T d = at<T>(g, i);
        if (wd != T(0)) d = std::fma(wd, pi, d);
        if (buf.data) {
          T& b = at<T>(buf, i);
          b = s.first ? d : T(mom * b) + d;
          d = s.nesterov ? std::fma(mom, b, d) : b;
        }
        pi = std::fma(-lr, d, pi);
      }
    });
  }

  void adamw_step(const Arg& p, const Arg& g, const Arg& m, const Arg& v, const AdamWStep& s) override {
    dispatch_floating(p.dtype, "adamw_step", [&]<class T>() {
      const T decay = T(s.decay), w = T(s.one_minus_beta1), b2 = T(s.beta2), w2 = T(s.one_minus_beta2), bc2 = T(s.bc2_sqrt),
              step = T(s.step_size), eps = T(s.eps);
      for (int64_t i = 0; i < p.numel(); ++i) {
        T &pi = at<T>(p, i), &mi = at<T>(m, i), &vi = at<T>(v, i);
        const T gi = at<T>(g, i);
        const T decayed = T(pi * decay);
        mi = w < T(0.5) ? T(mi + T(w * T(gi - mi))) : T(gi - T(T(gi - mi) * T(T(1) - w)));  // torch's lerp
        vi = T(T(b2 * vi) + T(T(w2 * gi) * gi));
        const T denom = T(T(std::sqrt(vi) / bc2) + eps);
        pi = T(decayed + T(-step * T(mi / denom)));
      }
    });
  }
};

}  // namespace

Backend& reference_backend() {
  static ReferenceBackend instance;
  return instance;
}

}  // namespace cherry
