// DY-Conv's per-sample convolution with the kernel mix fused in (the MixedConv2dKernel custom kernel):
// f32, or bf16 activations (x, y and their gradients) with f32 mix and factors.
// The per-sample conv is one oneDNN conv with groups = B*g whose weights are the B mixed kernels
// W_b = sum_f mix[b, f] F_f. Instead of a plain [B, N] GEMM followed by a reorder of all B kernels
// into oneDNN's blocked layout (these reorders were half of all reorder time in a DY-ResNet step),
// the F factors are reordered once and the GEMM writes the kernels straight into the blocked
// layout: it is linear, so blocking commutes with mixing. Backward reduces the blocked dW to the
// factors the same way and reorders only F kernels back.
#include <omp.h>

#include <algorithm>
#include <cstring>
#include <span>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_util.h"

namespace cherry::cpu {
using namespace onednn;

namespace {

// The per-sample conv as oneDNN sees it: x viewed [1, B*C, H, W], B*g groups.
struct SampleConv {
  int64_t B, F, N;
  memory::dims kernel;  // one sample's kernel dims within the grouped weight: {g, O/g, C/g, kh, kw}
  Geometry geo;
};

SampleConv sample_conv(const Arg& x, const Arg& factors, const Arg& y, const Conv2dParams& p) {
  SampleConv s;
  s.B = x.shape[0], s.F = factors.shape[0];
  const Shape& f = factors.shape;
  s.N = f[1] * f[2] * f[3] * f[4];
  Conv2dParams q = p;
  q.groups = p.groups * s.B;
  // In channel blocks too the B samples are B*C/16 consecutive blocks: x is [1, B*C, H, W] nChw16c.
  const Shape &xs = x.shape, &ys = y.shape;
  s.geo = geometry({1, s.B * xs[1], xs[2], xs[3]}, {s.B * f[1], f[2], f[3], f[4]}, {1, s.B * ys[1], ys[2], ys[3]}, false, q, x.dtype);
  s.kernel = s.geo.w;
  if (s.kernel.size() == 5) s.kernel[0] = p.groups;  // else B = g = 1: one plain kernel
  return s;
}

// Where the B kernels sit in a primitive's weight memory: sample b at b * stride floats, each in
// layout `sample`. When the layout does not split by sample (direct false), `sample` is plain
// and the whole [B, N] block goes through a reorder, as an unfused conv would.
struct SampleLayout {
  memory::desc whole, sample;
  int64_t stride;
  bool direct;
};

// `want` is an f32 layout (for a bf16 one, its f32 twin).
SampleLayout sample_layout(const memory::desc& want, const SampleConv& s) {
  const int64_t total = int64_t(want.get_size() / sizeof(float));
  if (s.B == 1) return {want, want, total, true};
  if (s.kernel.size() == 5 && total % s.B == 0) {
    const int64_t stride = total / s.B;
    memory::dims second(5, 0);
    second[0] = s.kernel[0];
    try {  // submemory_desc throws where a sample boundary would split a block
      memory::desc first = want.submemory_desc(s.kernel, memory::dims(5, 0)), next = want.submemory_desc(s.kernel, second);
      if (int64_t(first.get_size() / sizeof(float)) == stride && next.data.offset0 - first.data.offset0 == stride)
        return {want, first, stride, true};
    } catch (const dnnl::error&) {
    }
  }
  return {want, plain_md(s.kernel), s.N, false};
}

// The f32 layout with a bf16 layout's blocking: element offsets agree, so the kernels can be mixed
// in f32 in it and rounded once into the bf16 one.
memory::desc f32_twin(const memory::desc& d) {
  memory::desc t = d;
  t.data.data_type = dnnl_f32;
  return t;
}

// W[b, :] = sum_f mix[b, f] Fs[f, :], rounded once to bf16: the B kernels of a bf16 convolution, from
// f32 mix and factors. Column tiles outermost, so a tile of the factors serves every sample from cache.
void mix_to_bf16(const float* mix, const float* fs, bf16* w, int64_t B, int64_t F, int64_t P) {
  constexpr int64_t kTile = 512;
  const int64_t tiles = (P + kTile - 1) / kTile;
#pragma omp parallel for collapse(2) schedule(static) if (B * P >= 32768)
  for (int64_t t = 0; t < tiles; ++t)
    for (int64_t b = 0; b < B; ++b) {
      const int64_t q0 = t * kTile, n = std::min(kTile, P - q0);
      alignas(64) float acc[kTile];
      const float m0 = mix[b * F];
#pragma omp simd
      for (int64_t q = 0; q < n; ++q) acc[q] = m0 * fs[q0 + q];
      for (int64_t f = 1; f < F; ++f) {
        const float m = mix[b * F + f];
        const float* row = fs + f * P + q0;
#pragma omp simd
        for (int64_t q = 0; q < n; ++q) acc[q] += m * row[q];
      }
      bf16* out = w + b * P + q0;
#pragma omp simd
      for (int64_t q = 0; q < n; ++q) store(out[q], acc[q]);
    }
}

// c[M, N] = a @ b on row-major buffers.
void gemm(const float* a, const float* b, float* c, int64_t M, int64_t K, int64_t N) {
  auto mat = [](const float* p, int64_t rows, int64_t cols) { return Arg{const_cast<float*>(p), DType::f32, {1, rows, cols}, {0, cols, 1}}; };
  matmul(mat(a, M, K), mat(b, K, N), mat(c, M, N), 1.0, 0.0);
}

// Copies F kernels between a plain [F, N] buffer and the sample layout ([F, stride]): one reorder
// over an F-sample slice of the primitive's layout when F <= B, else one per kernel.
void reorder_factors(const SampleLayout& L, const SampleConv& s, float* plain, float* blocked, bool to_blocked, stream& st) {
  memory::desc plain_d = plain_md(s.kernel), blocked_d = L.sample;
  int64_t calls = s.F;
  if (s.F <= s.B && s.kernel.size() == 5) {
    memory::dims n = s.kernel;
    n[0] *= s.F;
    plain_d = plain_md(n), blocked_d = L.whole.submemory_desc(n, memory::dims(5, 0)), calls = 1;
  }
  memory p(plain_d, cpu_engine(), plain), b(blocked_d, cpu_engine(), blocked);
  reorder r = to_blocked ? reorder(p, b) : reorder(b, p);
  for (int64_t f = 0; f < calls; ++f) {
    p.set_data_handle(plain + f * s.N);
    b.set_data_handle(blocked + f * L.stride);
    to_blocked ? r.execute(st, p, b) : r.execute(st, b, p);
  }
  st.wait();
}

// The F factors in the sample layout, [F, stride], padding zeroed (the user's buffer when plain).
struct Factors {
  std::optional<Scratch> scratch;
  const float* data;
};

Factors factors_in(const SampleLayout& L, const SampleConv& s, const Arg& factors, stream& st) {
  if (!L.direct) return {std::nullopt, factors.ptr<float>()};
  Factors out{Scratch(plain_md({s.F * L.stride})), nullptr};
  out.data = out.scratch->data();
  std::memset(out.scratch->data(), 0, size_t(s.F * L.stride) * sizeof(float));
  reorder_factors(L, s, factors.ptr<float>(), out.scratch->data(), true, st);
  return out;
}

// The B kernels mix @ factors in the primitive's weight layout `want` (f32, or bf16: mixed in f32
// in its twin layout and rounded once).
Scratch mixed_kernels(const memory::desc& want, const SampleConv& s, const Arg& mix, const Arg& factors, stream& st) {
  const bool to_bf16 = want.data_type() == dt::bf16;
  const SampleLayout L = sample_layout(to_bf16 ? f32_twin(want) : want, s);
  Scratch w(want);
  if (L.direct) {
    const Factors fs = factors_in(L, s, factors, st);
    if (to_bf16) mix_to_bf16(mix.ptr<float>(), fs.data, static_cast<bf16*>(w.buf.get()), s.B, s.F, L.stride);
    else gemm(mix.ptr<float>(), fs.data, w.data(), s.B, s.F, L.stride);
    return w;
  }
  Scratch plain(plain_md(s.geo.w));
  gemm(mix.ptr<float>(), factors.ptr<float>(), plain.data(), s.B, s.F, s.N);
  reorder(plain.mem, w.mem).execute(st, plain.mem, w.mem);
  return w;
}

// Both gradients of W = mix @ Fs in one pass over G = dL/dW [B, P] (dW is the largest tensor here:
// two GEMMs would read it twice and OpenBLAS would pack it twice): gmix[b, f] = G[b, :] . Fs[f, :]
// and gF[f, :] = sum_b mix[b, f] G[b, :], over column tiles that keep Fs's and gF's tile in L1.
// gmix or gF may be null. Per-thread partial sums of gmix are added in thread order (deterministic
// for a thread count).
void mix_grads(const float* G, const float* mix, const float* Fs, float* gmix, float* gF, int64_t B, int64_t F, int64_t P) {
  const int threads = omp_get_max_threads();
  const int64_t want = (P + 4 * threads - 1) / (4 * threads);
  const int64_t tile = std::clamp<int64_t>((want + 15) / 16 * 16, 64, 1024), tiles = (P + tile - 1) / tile;
  // Per-thread buffers allocated before the parallel region (an exception cannot leave one).
  std::vector<float> part(gmix ? size_t(threads * B * F) : 0, 0.0f), accs(gF ? size_t(threads * F * tile) : 0);
#pragma omp parallel num_threads(threads)
  {
    float* my = gmix ? part.data() + size_t(omp_get_thread_num() * B * F) : nullptr;
    const std::span<float> acc(gF ? accs.data() + size_t(omp_get_thread_num() * F * tile) : nullptr, gF ? size_t(F * tile) : 0);
#pragma omp for schedule(static)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t q0 = t * tile, n = std::min(P - q0, tile);
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t b = 0; b < B; ++b) {
        const float* g = G + b * P + q0;
        for (int64_t f = 0; f < F; ++f) {
          if (gF) {
            const float m = mix[b * F + f];
            float* a = acc.data() + f * tile;
#pragma omp simd
            for (int64_t q = 0; q < n; ++q) a[q] += m * g[q];
          }
          if (gmix) {
            const float* fs = Fs + f * P + q0;
            float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
            for (int64_t q = 0; q < n; ++q) dot += g[q] * fs[q];
            my[b * F + f] += dot;
          }
        }
      }
      if (gF)
        for (int64_t f = 0; f < F; ++f) std::copy_n(acc.data() + f * tile, n, gF + f * P + q0);
    }
  }
  if (!gmix) return;
  std::fill_n(gmix, B * F, 0.0f);
  for (int th = 0; th < threads; ++th)
    for (int64_t i = 0; i < B * F; ++i) gmix[i] += part[size_t(th * B * F + i)];
}

// dL/dmix = dW F^T and dL/dF = mix^T dW, from dW in the primitive's layout.
void reduce_kernel_grad(Scratch& dw, const SampleConv& s, const Arg& mix, const Arg& factors, const Arg& gmix,
                        const Arg& gfactors, stream& st) {
  const SampleLayout L = sample_layout(dw.mem.get_desc(), s);
  std::optional<Scratch> plain, blocked;
  const float* g = dw.data();
  if (!L.direct) {
    plain.emplace(plain_md(s.geo.w));
    reorder(dw.mem, plain->mem).execute(st, dw.mem, plain->mem);
    g = plain->data();
  }
  float* gf = gfactors.ptr<float>();
  if (gf && L.direct) gf = blocked.emplace(plain_md({s.F * L.stride})).data();
  const Factors fs = gmix.data ? factors_in(L, s, factors, st) : Factors{std::nullopt, nullptr};
  mix_grads(g, mix.ptr<float>(), fs.data, gmix.ptr<float>(), gf, s.B, s.F, L.stride);
  if (blocked) reorder_factors(L, s, gfactors.ptr<float>(), blocked->data(), false, st);
}

}  // namespace

class MixedConv2dOnednn final : public MixedConv2dKernel {
 public:
  void forward(const Arg& x, const Arg& mix, const Arg& factors, const Arg& y, const Conv2dParams& p) override;
  void backward(const Arg& gy, const Arg& x, const Arg& mix, const Arg& factors, const Arg& gx, const Arg& gmix,
                const Arg& gfactors, const Conv2dParams& p) override;
};

void MixedConv2dOnednn::forward(const Arg& x, const Arg& mix, const Arg& factors, const Arg& y, const Conv2dParams& p) {
  guarded("mixed_conv2d", [&] {
    const SampleConv s = sample_conv(x, factors, y, p);
    Prims& pr = prims_for(s.geo);
    stream st(cpu_engine());
    Scratch w = mixed_kernels(pr.fwd.weights_desc(), s, mix, factors, st);
    In src(pr.fwd.src_desc(), act_md(x, s.geo.x), x.data, st);
    Out dst(pr.fwd.dst_desc(), act_md(y, s.geo.y), y.data);
    convolution_forward(pr.fwd).execute(st, {{DNNL_ARG_SRC, src.mem}, {DNNL_ARG_WEIGHTS, w.mem}, {DNNL_ARG_DST, dst.mem}});
    dst.finish(st);
    st.wait();
  });
}

void MixedConv2dOnednn::backward(const Arg& gy, const Arg& x, const Arg& mix, const Arg& factors, const Arg& gx,
                                 const Arg& gmix, const Arg& gfactors, const Conv2dParams& p) {
  guarded("mixed_conv2d_backward", [&] {
    const SampleConv s = sample_conv(x, factors, gy, p);
    Prims& pr = prims_for(s.geo);
    stream st(cpu_engine());
    LazyIn diff_dst(act_md(gy, s.geo.y), gy.data);
    if (gx.data) {
      const auto& pd = bwd_data_pd(pr, s.geo);
      Scratch w = mixed_kernels(pd.weights_desc(), s, mix, factors, st);
      Out dsrc(pd.diff_src_desc(), act_md(gx, s.geo.x), gx.data);
      convolution_backward_data(pd).execute(
          st, {{DNNL_ARG_DIFF_DST, diff_dst.get(pd.diff_dst_desc(), st)}, {DNNL_ARG_WEIGHTS, w.mem}, {DNNL_ARG_DIFF_SRC, dsrc.mem}});
      dsrc.finish(st);
    }
    if (gmix.data || gfactors.data) {
      const auto& pd = bwd_weights_pd(pr, s.geo);
      In src(pd.src_desc(), act_md(x, s.geo.x), x.data, st);
      Scratch dw(pd.diff_weights_desc());
      convolution_backward_weights(pd).execute(
          st, {{DNNL_ARG_SRC, src.mem}, {DNNL_ARG_DIFF_DST, diff_dst.get(pd.diff_dst_desc(), st)}, {DNNL_ARG_DIFF_WEIGHTS, dw.mem}});
      st.wait();
      reduce_kernel_grad(dw, s, mix, factors, gmix, gfactors, st);
    }
    st.wait();
  });
}

MixedConv2dKernel& mixed_conv2d_onednn() {
  static MixedConv2dOnednn kernel;
  return kernel;
}

}  // namespace cherry::cpu
