// Batched GEMM on OpenBLAS. Row- or column-major slices go straight to cblas (transposed views
// cost nothing); anything else is packed first. Many small matrices run one per thread.
#include <cblas.h>
#include <omp.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

#include <algorithm>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

namespace {
struct Layout {
  CBLAS_TRANSPOSE trans;
  int64_t ld;
};
// A (rows x cols) slice with strides (s_row, s_col) as a BLAS operand, if it is one.
std::optional<Layout> blas_layout(int64_t rows, int64_t cols, int64_t s_row, int64_t s_col) {
  if ((cols == 1 || s_col == 1) && (rows == 1 || s_row >= cols)) return Layout{CblasNoTrans, rows == 1 ? cols : s_row};
  if ((rows == 1 || s_row == 1) && (cols == 1 || s_col >= rows)) return Layout{CblasTrans, cols == 1 ? rows : s_col};
  return std::nullopt;
}

template <class T> void gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M, int64_t N, int64_t K, T alpha, const T* a,
                             int64_t lda, const T* b, int64_t ldb, T beta, T* c, int64_t ldc) {
  if constexpr (std::is_same_v<T, float>)
    cblas_sgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
  else
    cblas_dgemm(CblasRowMajor, ta, tb, int(M), int(N), int(K), alpha, a, int(lda), b, int(ldb), beta, c, int(ldc));
}

// Copies a strided (B,R,C) operand into a contiguous buffer.
template <class T> std::vector<T> pack(const Arg& x) {
  const int64_t B = x.shape[0], R = x.shape[1], C = x.shape[2];
  std::vector<T> out(size_t(B * R * C));
  const T* p = x.ptr<T>();
  for (int64_t b = 0; b < B; ++b)
    for (int64_t r = 0; r < R; ++r)
      for (int64_t c = 0; c < C; ++c) out[size_t((b * R + r) * C + c)] = p[b * x.strides[0] + r * x.strides[1] + c * x.strides[2]];
  return out;
}

// A small inner dimension over long rows ([B, K] @ [K, N] with K <= 8: DY-Conv's per-sample mix of
// K weight factors): streamed in column tiles that keep b's K rows in cache, each output written
// once. OpenBLAS first zero-fills C for beta = 0 and packs both operands, twice the memory traffic.
constexpr int64_t kSmallK = 8, kMaxTile = 1024;
#ifdef __AVX512F__
constexpr bool kHaveStreamStores = true;
// n floats (a multiple of 16) from a cache-resident buffer to 64-byte aligned memory, bypassing the cache.
template <class T> void stream_store(const T* from, T* to, int64_t n) {
  if constexpr (std::is_same_v<T, float>)
    for (int64_t q = 0; q < n; q += 16) _mm512_stream_ps(to + q, _mm512_load_ps(from + q));
}
inline void stream_fence() { _mm_sfence(); }  // non-temporal stores are weakly ordered
#else
constexpr bool kHaveStreamStores = false;
template <class T> void stream_store(const T*, T*, int64_t) {}
inline void stream_fence() {}
#endif
template <class T>
void small_k_matmul(const Arg& a, const T* pb, int64_t sb, int64_t ldb, const Arg& c, T alpha, T beta) {
  const int64_t B = c.shape[0], M = c.shape[1], N = c.shape[2], K = a.shape[2];
  // About four tiles per thread (multiples of 16 columns, 64 to 1024) so the threads share evenly.
  const int64_t want = (N + 4 * omp_get_max_threads() - 1) / (4 * omp_get_max_threads());
  const int64_t tile = std::clamp<int64_t>((want + 15) / 16 * 16, 64, kMaxTile), tiles = (N + tile - 1) / tile;
  // An output far larger than the caches (DY-Conv's B kernels, up to 19 MB) is written with
  // non-temporal stores: a plain store first reads each line in, doubling the memory traffic.
  const bool stream_out = std::is_same_v<T, float> && kHaveStreamStores && B * M * N * int64_t(sizeof(T)) > (int64_t(8) << 20);
  const T* pa = a.ptr<T>();
  T* pc = c.ptr<T>();
#pragma omp parallel if (B * M * N >= 32768)
  {
#pragma omp for collapse(2) schedule(static) nowait
  for (int64_t i = 0; i < B; ++i)
    for (int64_t t = 0; t < tiles; ++t) {
      const int64_t q0 = t * tile, n = std::min(N - q0, tile);
      const T* bt = pb + i * sb + q0;
      for (int64_t r = 0; r < M; ++r) {
        T coef[kSmallK];
        for (int64_t k = 0; k < K; ++k) coef[k] = alpha * pa[i * a.strides[0] + r * a.strides[1] + k * a.strides[2]];
        T* const out = pc + i * c.strides[0] + r * c.strides[1] + q0;
        alignas(64) T staged[kMaxTile];
        const bool stream = stream_out && beta == T(0) && n % 16 == 0 && reinterpret_cast<uintptr_t>(out) % 64 == 0;
        T* cr = stream ? staged : out;
        if (beta == T(0)) {
#pragma omp simd
          for (int64_t q = 0; q < n; ++q) cr[q] = coef[0] * bt[q];
        } else {
#pragma omp simd
          for (int64_t q = 0; q < n; ++q) cr[q] = beta * cr[q] + coef[0] * bt[q];
        }
        for (int64_t k = 1; k < K; ++k) {
          const T* bk = bt + k * ldb;
#pragma omp simd
          for (int64_t q = 0; q < n; ++q) cr[q] += coef[k] * bk[q];
        }
        if (stream) stream_store(staged, out, n);
      }
    }
    if (stream_out) stream_fence();  // each thread, before the region's closing barrier
  }
}
}  // namespace

// c:(B,M,N) = alpha * a:(B,M,K) @ b:(B,K,N) + beta * c; c row-major per slice.
void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) {
  if (a.dtype == DType::bf16) return matmul_bf16(a, b, c, alpha, beta);
  dispatch_floating(a.dtype, "matmul", [&]<class T>() {
    const int64_t B = c.shape[0], M = c.shape[1], N = c.shape[2], K = a.shape[2];
    CHERRY_CHECK(c.strides[2] == 1 || N == 1, "matmul", "output must be row-major");
    if (M == 0 || N == 0) return;
    auto la = blas_layout(M, K, a.strides[1], a.strides[2]);
    auto lb = blas_layout(K, N, b.strides[1], b.strides[2]);
    std::vector<T> a_buf, b_buf;
    const T* pa = a.ptr<T>();
    const T* pb = b.ptr<T>();
    int64_t sa = a.strides[0], sb = b.strides[0];
    if (K >= 1 && K <= kSmallK && N >= 256 && lb && lb->trans == CblasNoTrans)  // reads a through its strides
      return small_k_matmul<T>(a, pb, sb, lb->ld, c, T(alpha), T(beta));
    if (!la) {
      a_buf = pack<T>(a);
      pa = a_buf.data(), sa = M * K, la = Layout{CblasNoTrans, K};
    }
    if (!lb) {
      b_buf = pack<T>(b);
      pb = b_buf.data(), sb = K * N, lb = Layout{CblasNoTrans, N};
    }
    const int64_t ldc = M == 1 ? N : c.strides[1];
    T* pc = c.ptr<T>();
    auto one = [&](int64_t i) {
      if (K == 0) {  // BLAS leaves C untouched for K == 0; the maths says alpha*0 + beta*C.
        for (int64_t r = 0; r < M; ++r)
          for (int64_t q = 0; q < N; ++q) {
            T& v = pc[i * c.strides[0] + r * ldc + q];
            v = beta == 0 ? T(0) : T(beta) * v;
          }
        return;
      }
      gemm<T>(la->trans, lb->trans, M, N, K, T(alpha), pa + i * sa, la->ld, pb + i * sb, lb->ld, T(beta),
              pc + i * c.strides[0], ldc);
    };
    // Small slices: one GEMM per thread (OpenBLAS runs single-threaded inside a parallel region).
    const bool per_thread = B >= omp_get_max_threads() && M * N * K <= 128 * 128 * 128;
#pragma omp parallel for schedule(static) if (per_thread)
    for (int64_t i = 0; i < B; ++i) one(i);
  });
}

}  // namespace cherry::cpu
