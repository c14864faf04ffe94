// 2-D convolution by im2col + cuBLAS (strided-batched GEMM), forward and backward, with groups,
// stride, padding and dilation. Images go in chunks whose column buffer fits a fixed budget;
// within a chunk one batched GEMM call covers every image (G == 1), or every group of an image
// (G >= images: DY-Conv's per-sample kernels, a single image with groups = B*g), or every image
// of a group. 1x1 convolutions with stride 1 and no padding use x (and write gx) directly.
// col2im gathers per input pixel in (kh, kw) order, so no atomics and the same bits every run.
#include <algorithm>
#include <cstdint>
#include <limits>

#include "backends/cuda/common.cuh"
#include "backends/dispatch.h"

namespace cherry::cuda {
namespace {

constexpr size_t kColumnBudget = size_t(256) << 20;  // bytes of column/transposed buffers per chunk

struct Geom {
  int64_t N, C, H, W, O, G, Cg, Og, KH, KW, OH, OW;
  int64_t sh, sw, ph, pw, dh, dw;
  __host__ __device__ int64_t kk() const { return KH * KW; }
  __host__ __device__ int64_t ohw() const { return OH * OW; }
  __host__ __device__ int64_t ckk() const { return Cg * KH * KW; }  // column rows per group
  bool direct() const { return KH == 1 && KW == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && OH == H && OW == W; }
};

Geom geometry(const char* op, const Arg& x, const Arg& w, const Arg& y, const Conv2dParams& p) {
  CHERRY_CHECK(x.dim() == 4 && w.dim() == 4 && y.dim() == 4, op, "expected 4-D x, w, y; got ", shape_str(x.shape), ", ", shape_str(w.shape),
               ", ", shape_str(y.shape));
  Geom g{x.shape[0], x.shape[1], x.shape[2], x.shape[3], w.shape[0], p.groups, w.shape[1], 0, w.shape[2], w.shape[3], y.shape[2],
         y.shape[3], p.stride[0], p.stride[1], p.padding[0], p.padding[1], p.dilation[0], p.dilation[1]};
  CHERRY_CHECK(g.G >= 1 && g.C == g.Cg * g.G && g.O % g.G == 0 && y.shape[0] == g.N && y.shape[1] == g.O, op, "shapes x ",
               shape_str(x.shape), " w ", shape_str(w.shape), " y ", shape_str(y.shape), " do not fit groups=", g.G);
  g.Og = g.O / g.G;
  return g;
}

void check_contiguous(const char* op, const Arg& a, const char* what) {
  CHERRY_CHECK(!a.data || a.is_contiguous(), op, what, " must be contiguous, got shape ", shape_str(a.shape), " strides ", shape_str(a.strides));
}

// Images per chunk: as many as fit the budget at `per_image` bytes each, at least one.
int64_t chunk_images(const Geom& g, size_t per_image) {
  return std::clamp<int64_t>(int64_t(kColumnBudget / std::max<size_t>(per_image, 1)), 1, g.N);
}

// x:(N,C,H,W) images [n0, n0+nb) -> col. Image-major: (nb, C*KH*KW, OH*OW); pixel-major:
// (C*KH*KW, nb*OH*OW), the layout of the weight gradient's GEMM. I: the index type.
template <class T, class I, bool PixelMajor>
__global__ void __launch_bounds__(kBlock) im2col_kernel(const T* __restrict__ x, T* __restrict__ col, Geom g, int64_t n0, int64_t nb) {
  const I KW = I(g.KW), kk = I(g.kk()), OW = I(g.OW), ohw = I(g.ohw()), rows = I(g.C * g.kk()), images = I(nb);
  const I total = rows * images * ohw;
  for (I i = I(global_thread()); i < total; i += I(grid_threads())) {
    I p, r, n;
    if constexpr (PixelMajor) {  // i = (r*nb + n)*ohw + p
      p = i % ohw;
      const I t = i / ohw;
      n = t % images;
      r = t / images;
    } else {  // i = (n*rows + r)*ohw + p
      p = i % ohw;
      const I t = i / ohw;
      r = t % rows;
      n = t / rows;
    }
    const I c = r / kk, k = r % kk, kh = k / KW, kw = k % KW, oh = p / OW, ow = p % OW;
    const int64_t ih = int64_t(oh) * g.sh - g.ph + int64_t(kh) * g.dh, iw = int64_t(ow) * g.sw - g.pw + int64_t(kw) * g.dw;
    col[i] = (ih >= 0 && ih < g.H && iw >= 0 && iw < g.W) ? x[((n0 + int64_t(n)) * g.C + c) * g.H * g.W + ih * g.W + iw] : T(0);
  }
}

// colg:(nb, C*KH*KW, OH*OW) -> gx images [n0, n0+nb), every element written: each input pixel sums
// the column entries that read it, in (kh, kw) order (the CPU col2im's order).
template <class T, class I>
__global__ void __launch_bounds__(kBlock) col2im_kernel(const T* __restrict__ colg, T* __restrict__ gx, Geom g, int64_t n0, int64_t nb) {
  const I W = I(g.W), H = I(g.H), C = I(g.C), total = I(nb) * C * H * W;
  const int64_t ohw = g.ohw();
  for (I i = I(global_thread()); i < total; i += I(grid_threads())) {
    const I w = i % W, h = (i / W) % H, c = (i / (W * H)) % C, n = i / (W * H * C);
    T acc = T(0);
    for (int64_t kh = 0; kh < g.KH; ++kh) {
      const int64_t th = int64_t(h) + g.ph - kh * g.dh;
      if (th < 0 || th % g.sh != 0 || th / g.sh >= g.OH) continue;
      const int64_t oh = th / g.sh;
      for (int64_t kw = 0; kw < g.KW; ++kw) {
        const int64_t tw = int64_t(w) + g.pw - kw * g.dw;
        if (tw < 0 || tw % g.sw != 0 || tw / g.sw >= g.OW) continue;
        acc += colg[((int64_t(n) * C + c) * g.kk() + kh * g.KW + kw) * ohw + oh * g.OW + tw / g.sw];
      }
    }
    gx[(n0 * C) * H * W + int64_t(i)] = acc;
  }
}

// gy:(N,O,P) images [n0, n0+nb) -> gyt:(O, nb*P).
template <class T, class I>
__global__ void __launch_bounds__(kBlock) to_pixel_major_kernel(const T* __restrict__ gy, T* __restrict__ gyt, int64_t O, int64_t P,
                                                               int64_t n0, int64_t nb) {
  const I total = I(O * nb * P), p_ = I(P), images = I(nb);
  for (I i = I(global_thread()); i < total; i += I(grid_threads())) {
    const I p = i % p_, n = (i / p_) % images, o = i / (p_ * images);
    gyt[i] = gy[((n0 + int64_t(n)) * O + o) * P + p];
  }
}

// y images [n0, n0+nb) of (N,O,P) = bias[o], so the GEMM can accumulate onto it (beta = 1).
template <class T, class I>
__global__ void __launch_bounds__(kBlock) fill_bias_kernel(T* __restrict__ y, const T* __restrict__ bias, int64_t O, int64_t P, int64_t n0,
                                                          int64_t nb) {
  const I total = I(nb * O * P), p_ = I(P), o_ = I(O);
  for (I i = I(global_thread()); i < total; i += I(grid_threads())) y[n0 * O * P + int64_t(i)] = bias[(i / p_) % o_];
}


template <class T>
void im2col(const T* x, T* col, const Geom& g, int64_t n0, int64_t nb, bool pixel_major) {
  const int64_t total = nb * g.C * g.kk() * g.ohw();
  const unsigned blocks = blocks_for(total);
  if (fits32(total)) {
    if (pixel_major)
      im2col_kernel<T, uint32_t, true><<<blocks, kBlock, 0, stream()>>>(x, col, g, n0, nb);
    else
      im2col_kernel<T, uint32_t, false><<<blocks, kBlock, 0, stream()>>>(x, col, g, n0, nb);
  } else {
    if (pixel_major)
      im2col_kernel<T, int64_t, true><<<blocks, kBlock, 0, stream()>>>(x, col, g, n0, nb);
    else
      im2col_kernel<T, int64_t, false><<<blocks, kBlock, 0, stream()>>>(x, col, g, n0, nb);
  }
  CHERRY_CUDA_CHECK_LAUNCH();
}

template <class T>
void col2im(const T* colg, T* gx, const Geom& g, int64_t n0, int64_t nb) {
  const int64_t total = nb * g.C * g.H * g.W;
  if (fits32(total))
    col2im_kernel<T, uint32_t><<<blocks_for(total), kBlock, 0, stream()>>>(colg, gx, g, n0, nb);
  else
    col2im_kernel<T, int64_t><<<blocks_for(total), kBlock, 0, stream()>>>(colg, gx, g, n0, nb);
  CHERRY_CUDA_CHECK_LAUNCH();
}

template <class T>
void to_pixel_major(const T* gy, T* gyt, int64_t O, int64_t P, int64_t n0, int64_t nb) {
  const int64_t total = O * nb * P;
  if (fits32(total))
    to_pixel_major_kernel<T, uint32_t><<<blocks_for(total), kBlock, 0, stream()>>>(gy, gyt, O, P, n0, nb);
  else
    to_pixel_major_kernel<T, int64_t><<<blocks_for(total), kBlock, 0, stream()>>>(gy, gyt, O, P, n0, nb);
  CHERRY_CUDA_CHECK_LAUNCH();
}

template <class T>
void fill_bias(T* y, const T* bias, int64_t O, int64_t P, int64_t n0, int64_t nb) {
  const int64_t total = nb * O * P;
  if (fits32(total))
    fill_bias_kernel<T, uint32_t><<<blocks_for(total), kBlock, 0, stream()>>>(y, bias, O, P, n0, nb);
  else
    fill_bias_kernel<T, int64_t><<<blocks_for(total), kBlock, 0, stream()>>>(y, bias, O, P, n0, nb);
  CHERRY_CUDA_CHECK_LAUNCH();
}

// For each image n < nb and group j < G: C(n,j) = op(A(j)) @ B(n,j), where the operands sit at
// base + n*n_stride + j*g_stride (A: j only). One batched call per image or per group, whichever
// is fewer calls; G == 1 is one call over all images.
struct Operand {
  int64_t n_stride, g_stride;
};
template <class T>
void per_image_group_gemm(int64_t nb, int64_t G, bool ta, int64_t M, int64_t N, int64_t K, const T* A, int64_t lda, int64_t a_g,
                          const T* B, int64_t ldb, Operand b, T beta, T* C, int64_t ldc, Operand c) {
  if (G >= nb) {
    for (int64_t n = 0; n < nb; ++n)
      gemm_rm<T>(ta, false, M, N, K, T(1), A, lda, a_g, B + n * b.n_stride, ldb, b.g_stride, beta, C + n * c.n_stride, ldc, c.g_stride, G);
  } else {
    for (int64_t j = 0; j < G; ++j)
      gemm_rm<T>(ta, false, M, N, K, T(1), A + j * a_g, lda, 0, B + j * b.g_stride, ldb, b.n_stride, beta, C + j * c.g_stride, ldc,
                 c.n_stride, nb);
  }
}

template <class T>
void forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Geom& g) {
  const bool direct = g.direct();
  const int64_t col_image = g.C * g.kk() * g.ohw();  // elements of one image's columns
  const int64_t nb_max = direct ? g.N : chunk_images(g, size_t(col_image) * sizeof(T));
  Scratch col(direct ? 0 : size_t(nb_max * col_image) * sizeof(T));
  const T *px = x.ptr<T>(), *pw = w.ptr<T>();
  T* py = y.ptr<T>();
  const int64_t P = g.ohw();
  for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, g.N - n0);
    const T* cols = px + n0 * g.C * g.H * g.W;  // direct: x's own (C, H*W) planes are the columns
    if (!direct) {
      im2col(px, col.as<T>(), g, n0, nb, false);
      cols = col.as<T>();
    }
    if (bias.data) fill_bias(py, bias.ptr<T>(), g.O, P, n0, nb);
    // y[n, j] (Og, P) = w[j] (Og, Cg*KK) @ cols[n, j] (Cg*KK, P)
    per_image_group_gemm<T>(nb, g.G, false, g.Og, P, g.ckk(), pw, g.ckk(), g.Og * g.ckk(), cols, P, {col_image, g.ckk() * P},
                            bias.data ? T(1) : T(0), py + n0 * g.O * P, P, {g.O * P, g.Og * P});
  }
}

template <class T>
void backward_data(const Arg& gy, const Arg& w, const Arg& gx, const Geom& g) {
  const bool direct = g.direct();
  const int64_t col_image = g.C * g.kk() * g.ohw();
  const int64_t nb_max = direct ? g.N : chunk_images(g, size_t(col_image) * sizeof(T));
  Scratch col(direct ? 0 : size_t(nb_max * col_image) * sizeof(T));
  const T *pgy = gy.ptr<T>(), *pw = w.ptr<T>();
  T* pgx = gx.ptr<T>();
  const int64_t P = g.ohw();
  for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, g.N - n0);
    T* cols = direct ? pgx + n0 * g.C * g.H * g.W : col.as<T>();
    // cols[n, j] (Cg*KK, P) = w[j]^T (Cg*KK, Og) @ gy[n, j] (Og, P)
    per_image_group_gemm<T>(nb, g.G, true, g.ckk(), P, g.Og, pw, g.ckk(), g.Og * g.ckk(), pgy + n0 * g.O * P, P, {g.O * P, g.Og * P}, T(0),
                            cols, P, {col_image, g.ckk() * P});
    if (!direct) col2im(col.as<T>(), pgx, g, n0, nb);
  }
}

template <class T>
void backward_weight(const Arg& gy, const Arg& x, const Arg& gw, const Geom& g) {
  const int64_t P = g.ohw(), rows = g.C * g.kk();
  // Per image: columns (C*KK, P) and gy (O, P); a chunk of nb > 1 images needs both pixel-major.
  const int64_t nb_max = g.N == 1 ? 1 : std::max<int64_t>(2, chunk_images(g, size_t((rows + g.O) * P) * sizeof(T)));
  const bool need_col = !(nb_max == 1 && g.direct());
  Scratch col(need_col ? size_t(std::min(nb_max, g.N) * rows * P) * sizeof(T) : 0);
  Scratch gyt(nb_max > 1 ? size_t(std::min(nb_max, g.N) * g.O * P) * sizeof(T) : 0);
  const T *px = x.ptr<T>(), *pgy = gy.ptr<T>();
  T* pgw = gw.ptr<T>();
  for (int64_t n0 = 0; n0 < g.N; n0 += nb_max) {
    const int64_t nb = std::min(nb_max, g.N - n0), L = nb * P;
    const T* cols = px + n0 * g.C * g.H * g.W;
    const T* gys = pgy + n0 * g.O * P;
    if (need_col) {
      im2col(px, col.as<T>(), g, n0, nb, /*pixel_major=*/nb > 1);
      cols = col.as<T>();
    }
    if (nb > 1) {
      to_pixel_major(pgy, gyt.as<T>(), g.O, P, n0, nb);
      gys = gyt.as<T>();
    }
    // gw[j] (Og, Cg*KK) (+)= gys[j] (Og, L) @ cols[j]^T (L, Cg*KK), one call over the groups
    gemm_rm<T>(false, true, g.Og, g.ckk(), L, T(1), gys, L, g.Og * L, cols, L, g.ckk() * L, n0 == 0 ? T(0) : T(1), pgw, g.ckk(),
               g.Og * g.ckk(), g.G);
  }
}

// gbias[o] = sum of gy over (N, OH, OW): the deterministic float64 reduction of reduce.cu.
void backward_bias(const Arg& gy, const Arg& gb, const Geom& g) {
  const int64_t P = g.ohw();
  const Arg src{gy.data, gy.dtype, {g.N, g.O, P}, {g.O * P, P, 1}};
  const Arg dst{gb.data, gb.dtype, {1, g.O, 1}, {0, 1, 0}};
  reduce(ReduceOp::sum, src, dst);
}

}  // namespace

// x:(N,C,H,W), w:(O,C/G,KH,KW), bias:(O) optional -> y:(N,O,OH,OW); all contiguous.
void conv2d_forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p) {
  const Geom g = geometry("conv2d", x, w, y, p);
  for (const Arg* a : {&x, &w, &bias, &y}) check_contiguous("conv2d", *a, "every operand");
  if (y.numel() == 0) return;
  dispatch_floating(x.dtype, "conv2d", [&]<class T>() {
    if (g.C == 0 || g.kk() == 0) {  // nothing to sum: y = bias (or 0)
      if (bias.data)
        fill_bias(y.ptr<T>(), bias.ptr<T>(), g.O, g.ohw(), 0, g.N);
      else
        fill(y, 0.0);
      return;
    }
    forward<T>(x, w, bias, y, g);
  });
}

// gy:(N,O,OH,OW), x, w as in the forward; gx, gw, gbias may each have data == nullptr.
void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias, const Conv2dParams& p) {
  const Geom g = geometry("conv2d_backward", x, w, gy, p);
  for (const Arg* a : {&gy, &x, &w, &gx, &gw, &gbias}) check_contiguous("conv2d_backward", *a, "every operand");
  dispatch_floating(x.dtype, "conv2d_backward", [&]<class T>() {
    const bool empty_sum = g.N == 0 || g.ohw() == 0 || g.Og == 0;  // gx/gw sum over nothing
    if (gx.data && gx.numel()) {
      if (empty_sum || g.kk() == 0)
        fill(gx, 0.0);
      else
        backward_data<T>(gy, w, gx, g);
    }
    if (gw.data && gw.numel()) {
      if (empty_sum)
        fill(gw, 0.0);
      else
        backward_weight<T>(gy, x, gw, g);
    }
    if (gbias.data && gbias.numel()) backward_bias(gy, gbias, g);
  });
}

}  // namespace cherry::cuda
