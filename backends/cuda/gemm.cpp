// Batched GEMM on cuBLAS. cuBLAS is column-major and our c slices are row-major, so we ask it for
// c^T = b^T a^T: a row-major slice read column-major is already its transpose (op N), a
// column-major slice needs op T. Other slice layouts throw; packing them is the ops layer's job
// (a contiguous() before the call), so no hidden copy happens here.
#include <climits>
#include <optional>
#include <type_traits>

#include "backends/cuda/cuda_check.h"
#include "backends/cuda/kernels.h"
#include "backends/dispatch.h"

namespace cherry::cuda {

namespace {
struct Layout {
  cublasOperation_t op;
  int64_t ld;
};
// A (rows x cols) slice with strides (s_row, s_col) as a cuBLAS operand of the swapped product.
// Same rule as the CPU's blas_layout; the ld bounds are the ones cuBLAS checks.
std::optional<Layout> blas_layout(int64_t rows, int64_t cols, int64_t s_row, int64_t s_col) {
  if ((cols == 1 || s_col == 1) && (rows == 1 || s_row >= cols)) return Layout{CUBLAS_OP_N, rows == 1 ? cols : s_row};
  if ((rows == 1 || s_row == 1) && (cols == 1 || s_col >= rows)) return Layout{CUBLAS_OP_T, cols == 1 ? rows : s_col};
  return std::nullopt;
}

// (m,n,k) are the column-major problem: m = N, n = M (see the file comment).
template <class T>
void gemm_strided_batched(cublasOperation_t op_first, cublasOperation_t op_second, int m, int n, int k, T alpha, const T* first,
                          int ld_first, long long stride_first, const T* second, int ld_second, long long stride_second, T beta, T* c,
                          int ldc, long long stride_c, int batch) {
  if constexpr (std::is_same_v<T, float>)
    CHERRY_CUBLAS_CHECK(cublasSgemmStridedBatched(cublas_handle(), op_first, op_second, m, n, k, &alpha, first, ld_first, stride_first,
                                                  second, ld_second, stride_second, &beta, c, ldc, stride_c, batch));
  else
    CHERRY_CUBLAS_CHECK(cublasDgemmStridedBatched(cublas_handle(), op_first, op_second, m, n, k, &alpha, first, ld_first, stride_first,
                                                  second, ld_second, stride_second, &beta, c, ldc, stride_c, batch));
}

bool fits_int(int64_t v) { return v >= 0 && v <= INT_MAX; }
}  // namespace

template <class T>
void gemm_rm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, T alpha, const T* A, int64_t lda, int64_t sA, const T* B, int64_t ldb,
             int64_t sB, T beta, T* C, int64_t ldc, int64_t sC, int64_t batch) {
  if (M == 0 || N == 0 || batch == 0) return;
  CHERRY_CHECK(K > 0, "gemm", "K must be positive");
  CHERRY_CHECK(fits_int(M) && fits_int(N) && fits_int(K) && fits_int(lda) && fits_int(ldb) && fits_int(ldc) && fits_int(batch), "gemm",
               "sizes exceed cuBLAS's 32-bit API: M=", M, " N=", N, " K=", K, " batch=", batch);
  // Row-major C = op(A) op(B) is column-major C^T = op(B)^T op(A)^T: a row-major operand read
  // column-major is its own transpose, so the flags carry over unchanged with A and B swapped.
  gemm_strided_batched<T>(tb ? CUBLAS_OP_T : CUBLAS_OP_N, ta ? CUBLAS_OP_T : CUBLAS_OP_N, int(N), int(M), int(K), alpha, B, int(ldb), sB, A,
                          int(lda), sA, beta, C, int(ldc), sC, int(batch));
}
template void gemm_rm<float>(bool, bool, int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*, int64_t, int64_t,
                             float, float*, int64_t, int64_t, int64_t);
template void gemm_rm<double>(bool, bool, int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*, int64_t,
                              int64_t, double, double*, int64_t, int64_t, int64_t);

// c:(B,M,N) = alpha * a:(B,M,K) @ b:(B,K,N) + beta * c; c row-major per slice, a/b row- or
// column-major per slice, batch stride 0 allowed on a and b.
void matmul(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) {
  CHERRY_CHECK(a.dim() == 3 && b.dim() == 3 && c.dim() == 3, "matmul", "expected 3-D (B,M,K) @ (B,K,N) -> (B,M,N), got ",
               shape_str(a.shape), " @ ", shape_str(b.shape), " -> ", shape_str(c.shape));
  CHERRY_CHECK(a.dtype == c.dtype && b.dtype == c.dtype, "matmul", "dtypes differ: ", dtype_name(a.dtype), " @ ", dtype_name(b.dtype),
               " -> ", dtype_name(c.dtype));
  dispatch_floating(c.dtype, "matmul", [&]<class T>() {
    const int64_t B = c.shape[0], M = c.shape[1], N = c.shape[2], K = a.shape[2];
    CHERRY_CHECK(c.strides[2] == 1 || N == 1, "matmul", "output must be row-major, got strides ", shape_str(c.strides));
    if (B == 0 || M == 0 || N == 0) return;
    if (K == 0) {  // the maths says alpha*0 + beta*c; don't rely on cuBLAS's k == 0 behaviour
      if (beta == 0)
        fill(c, 0.0);
      else
        scale(c, beta);
      return;
    }
    const auto la = blas_layout(M, K, a.strides[1], a.strides[2]);
    const auto lb = blas_layout(K, N, b.strides[1], b.strides[2]);
    CHERRY_CHECK(la && lb, "matmul", "CUDA matmul needs row- or column-major slices; got a ", shape_str(a.shape), " strides ",
                 shape_str(a.strides), ", b ", shape_str(b.shape), " strides ", shape_str(b.strides),
                 " (the ops layer must make the operand contiguous first)");
    const int64_t ldc = M == 1 ? N : c.strides[1];
    CHERRY_CHECK(ldc >= N, "matmul", "output rows overlap: strides ", shape_str(c.strides), " for shape ", shape_str(c.shape));
    CHERRY_CHECK(B == 1 || c.strides[0] != 0, "matmul", "output batch stride is 0 for ", B, " batches");
    CHERRY_CHECK(fits_int(B) && fits_int(M) && fits_int(N) && fits_int(K) && fits_int(la->ld) && fits_int(lb->ld) && fits_int(ldc),
                 "matmul", "sizes exceed cuBLAS's 32-bit API: a ", shape_str(a.shape), " b ", shape_str(b.shape));
    gemm_strided_batched<T>(lb->op, la->op, int(N), int(M), int(K), T(alpha), b.ptr<T>(), int(lb->ld), b.strides[0], a.ptr<T>(),
                            int(la->ld), a.strides[0], T(beta), c.ptr<T>(), int(ldc), c.strides[0], int(B));
  });
}

}  // namespace cherry::cuda
