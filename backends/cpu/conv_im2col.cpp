// Convolution by im2col + GEMM, templated on the element type. oneDNN has no f64 convolution, so
// this is the f64 path (gradient checks); it also serves as a second f32 implementation.
#include <cblas.h>
#include <omp.h>

#include <cstring>
#include <type_traits>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

namespace {
struct Geometry {
  int64_t N, C, H, W, O, Cg, Og, KH, KW, OH, OW, G;
  int64_t col_rows() const { return Cg * KH * KW; }
  int64_t col_cols() const { return OH * OW; }
};
Geometry geometry(const Shape& x, const Shape& w, const Shape& y, int64_t groups) {
  return {x[0], x[1], x[2], x[3], w[0], w[1], w[0] / groups, w[2], w[3], y[2], y[3], groups};
}

// x plane group (Cg,H,W) -> col (Cg*KH*KW, OH*OW).
template <class T> void im2col(const T* x, T* col, const Geometry& g, const Conv2dParams& p) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        T* row = col + ((c * g.KH + kh) * g.KW + kw) * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            row[oh * g.OW + ow] = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? x[(c * g.H + ih) * g.W + iw] : T(0);
          }
        }
      }
}

// col (Cg*KH*KW, OH*OW) -> accumulate into x plane group (Cg,H,W).
template <class T> void col2im(const T* col, T* x, const Geometry& g, const Conv2dParams& p) {
  for (int64_t c = 0; c < g.Cg; ++c)
    for (int64_t kh = 0; kh < g.KH; ++kh)
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const T* row = col + ((c * g.KH + kh) * g.KW + kw) * g.OH * g.OW;
        for (int64_t oh = 0; oh < g.OH; ++oh) {
          const int64_t ih = oh * p.stride[0] - p.padding[0] + kh * p.dilation[0];
          if (ih < 0 || ih >= g.H) continue;
          for (int64_t ow = 0; ow < g.OW; ++ow) {
            const int64_t iw = ow * p.stride[1] - p.padding[1] + kw * p.dilation[1];
            if (iw >= 0 && iw < g.W) x[(c * g.H + ih) * g.W + iw] += row[oh * g.OW + ow];
          }
        }
      }
}

// Units (image, group) run one per thread when there are enough of them; OpenBLAS is
// single-threaded inside the parallel region. Otherwise the units run in order and each GEMM
// uses all threads.
bool parallel_units(int64_t units) { return units >= 2 * omp_get_max_threads(); }

// One im2col buffer per thread of the team, allocated before the parallel region (an exception
// thrown inside one, e.g. std::bad_alloc, would terminate the program instead of reaching the caller).
template <class T> struct ColBuffers {
  int team;
  size_t size;
  std::vector<T> data;
  ColBuffers(const Geometry& g, bool parallel, bool wanted = true)
      : team(parallel ? omp_get_max_threads() : 1), size(wanted ? size_t(g.col_rows() * g.col_cols()) : 0), data(size_t(team) * size) {}
  T* mine() { return data.data() + size_t(omp_get_thread_num()) * size; }
};

template <class T> void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, const T* a, const T* b, T beta, T* c) {
  const auto TA = ta ? CblasTrans : CblasNoTrans, TB = tb ? CblasTrans : CblasNoTrans;
  const int lda = int(ta ? M : K), ldb = int(tb ? K : N);
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, TA, TB, int(M), int(N), int(K), 1.0f, a, lda, b, ldb, beta, c, int(N));
  else
    cblas_dgemm(CblasRowMajor, TA, TB, int(M), int(N), int(K), 1.0, a, lda, b, ldb, beta, c, int(N));
}
}  // namespace

// x:(N,C,H,W), w:(O,C/G,KH,KW), bias:(O) optional -> y:(N,O,OH,OW); all contiguous.
void conv2d_forward_im2col(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p) {
  dispatch_floating(x.dtype, "conv2d", [&]<class T>() {
    const Geometry g = geometry(x.shape, w.shape, y.shape, p.groups);
    const int64_t units = g.N * g.G;
    ColBuffers<T> cols(g, parallel_units(units));
#pragma omp parallel num_threads(cols.team)
    {
      T* col = cols.mine();
#pragma omp for schedule(static)
      for (int64_t u = 0; u < units; ++u) {
        const int64_t n = u / g.G, gi = u % g.G;
        im2col(x.ptr<T>() + (n * g.C + gi * g.Cg) * g.H * g.W, col, g, p);
        T* out = y.ptr<T>() + (n * g.O + gi * g.Og) * g.OH * g.OW;
        gemm<T>(false, false, g.Og, g.col_cols(), g.col_rows(), w.ptr<T>() + gi * g.Og * g.col_rows(), col, T(0), out);
        if (bias.data)
          for (int64_t o = 0; o < g.Og; ++o)
            for (int64_t i = 0; i < g.col_cols(); ++i) out[o * g.col_cols() + i] += bias.ptr<T>()[gi * g.Og + o];
      }
    }
  });
}

namespace {
// gx = col2im(w^T @ gy) per sample and group.
void backward_data(const Arg& gy, const Arg& w, const Arg& gx, const Conv2dParams& p) {
  dispatch_floating(gy.dtype, "conv2d_backward_data", [&]<class T>() {
    const Geometry g = geometry(gx.shape, w.shape, gy.shape, p.groups);
    const int64_t units = g.N * g.G;
    std::memset(gx.data, 0, size_t(gx.numel()) * sizeof(T));
    ColBuffers<T> cols(g, parallel_units(units));
#pragma omp parallel num_threads(cols.team)
    {
      T* col = cols.mine();
#pragma omp for schedule(static)
      for (int64_t u = 0; u < units; ++u) {  // each unit writes its own (image, group) planes
        const int64_t n = u / g.G, gi = u % g.G;
        const T* go = gy.ptr<T>() + (n * g.O + gi * g.Og) * g.OH * g.OW;
        gemm<T>(true, false, g.col_rows(), g.col_cols(), g.Og, w.ptr<T>() + gi * g.Og * g.col_rows(), go, T(0), col);
        col2im(col, gx.ptr<T>() + (n * g.C + gi * g.Cg) * g.H * g.W, g, p);
      }
    }
  });
}

// gw = sum over samples of gy @ im2col(x)^T (when gw is wanted); gbias = sum of gy over (N,OH,OW).
void backward_weight(const Arg& gy, const Arg& x, const Arg& w, const Arg& gw, const Arg& gbias, const Conv2dParams& p) {
  dispatch_floating(gy.dtype, "conv2d_backward_weight", [&]<class T>() {
    const Geometry g = geometry(x.shape, w.shape, gy.shape, p.groups);
    // Parallel over groups only: each group's gradient sums over images in a fixed order.
    ColBuffers<T> cols(g, gw.data && parallel_units(g.G), gw.data != nullptr);
#pragma omp parallel num_threads(cols.team)
    {
      T* col = cols.mine();
#pragma omp for schedule(static)
      for (int64_t gi = 0; gi < (gw.data ? g.G : 0); ++gi)
        for (int64_t n = 0; n < g.N; ++n) {
          im2col(x.ptr<T>() + (n * g.C + gi * g.Cg) * g.H * g.W, col, g, p);
          const T* go = gy.ptr<T>() + (n * g.O + gi * g.Og) * g.OH * g.OW;
          gemm<T>(false, true, g.Og, g.col_rows(), g.col_cols(), go, col, n == 0 ? T(0) : T(1),
                  gw.ptr<T>() + gi * g.Og * g.col_rows());
        }
    }
    if (gbias.data)
      for (int64_t o = 0; o < g.O; ++o) {
        double s = 0;
        for (int64_t n = 0; n < g.N; ++n)
          for (int64_t i = 0; i < g.OH * g.OW; ++i) s += gy.ptr<T>()[(n * g.O + o) * g.OH * g.OW + i];
        gbias.ptr<T>()[o] = T(s);
      }
  });
}
}  // namespace

void conv2d_backward_im2col(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                            const Conv2dParams& p) {
  if (gx.data) backward_data(gy, w, gx, p);
  if (gw.data || gbias.data) backward_weight(gy, x, w, gw, gbias, p);
}

}  // namespace cherry::cpu
