// Indexing kernels: index_select / index_add along a dim, gather / scatter_add. Inputs are
// contiguous (the ops layer ensures it); indices are range-checked, bad ones throw.
#include "backends/cpu/cpu_backend.h"
#include "backends/dispatch.h"

namespace cherry::cpu {

namespace {
// Views a contiguous tensor as (outer, size(dim), inner).
struct Split {
  int64_t outer = 1, mid = 1, inner = 1;
  Split(const Shape& s, int64_t dim) {
    for (int64_t d = 0; d < int64_t(s.size()); ++d) (d < dim ? outer : d == dim ? mid : inner) *= s[d];
  }
};
int64_t checked(int64_t i, int64_t size, const char* op) {
  CHERRY_CHECK(i >= 0 && i < size, op, "index ", i, " out of range [0, ", size, ")");
  return i;
}
}  // namespace

// x:(A,S,B), idx:(K) -> out:(A,K,B)
void index_select(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) {
  dispatch_storage(x.dtype, [&]<class T>() {
    const Split xs(x.shape, dim);
    const int64_t K = idx.numel();
    const int64_t* ip = idx.ptr<int64_t>();
    for (int64_t k = 0; k < K; ++k) checked(ip[k], xs.mid, "index_select");
#pragma omp parallel for collapse(2) if (out.numel() >= 32768)
    for (int64_t a = 0; a < xs.outer; ++a)
      for (int64_t k = 0; k < K; ++k) {
        const T* src = x.ptr<T>() + (a * xs.mid + ip[k]) * xs.inner;
        T* dst = out.ptr<T>() + (a * K + k) * xs.inner;
        for (int64_t b = 0; b < xs.inner; ++b) dst[b] = src[b];
      }
  });
}

// out:(A,S,B) += src:(A,K,B) at idx:(K). Serial over k: repeated indices must accumulate.
void index_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) {
  dispatch_compute(out.dtype, "index_add", [&]<class T>() {
    using C = compute_t<T>;
    const Split os(out.shape, dim);
    const int64_t K = idx.numel();
    const int64_t* ip = idx.ptr<int64_t>();
    for (int64_t k = 0; k < K; ++k) checked(ip[k], os.mid, "index_add");
#pragma omp parallel for if (src.numel() >= 32768 && os.outer > 1)
    for (int64_t a = 0; a < os.outer; ++a)
      for (int64_t k = 0; k < K; ++k) {
        const T* s = src.ptr<T>() + (a * K + k) * os.inner;
        T* d = out.ptr<T>() + (a * os.mid + ip[k]) * os.inner;
        for (int64_t b = 0; b < os.inner; ++b) d[b] = T(C(d[b]) + C(s[b]));
      }
  });
}

// x:(A,S,B), idx:(A,K,B) -> out:(A,K,B), out[a,k,b] = x[a, idx[a,k,b], b]
void gather(const Arg& x, int64_t dim, const Arg& idx, const Arg& out) {
  dispatch_storage(x.dtype, [&]<class T>() {
    const Split xs(x.shape, dim), is(idx.shape, dim);
    const int64_t* ip = idx.ptr<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i) checked(ip[i], xs.mid, "gather");
#pragma omp parallel for if (out.numel() >= 32768)
    for (int64_t a = 0; a < is.outer; ++a)
      for (int64_t k = 0; k < is.mid; ++k)
        for (int64_t b = 0; b < is.inner; ++b) {
          const int64_t o = (a * is.mid + k) * is.inner + b;
          out.ptr<T>()[o] = x.ptr<T>()[(a * xs.mid + ip[o]) * xs.inner + b];
        }
  });
}

// out:(A,S,B) += src at idx, both (A,K,B). Serial: indices may repeat.
void scatter_add(const Arg& out, int64_t dim, const Arg& idx, const Arg& src) {
  dispatch_compute(out.dtype, "scatter_add", [&]<class T>() {
    using C = compute_t<T>;
    const Split os(out.shape, dim), is(idx.shape, dim);
    const int64_t* ip = idx.ptr<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i) checked(ip[i], os.mid, "scatter_add");
    for (int64_t a = 0; a < is.outer; ++a)
      for (int64_t k = 0; k < is.mid; ++k)
        for (int64_t b = 0; b < is.inner; ++b) {
          const int64_t i = (a * is.mid + k) * is.inner + b;
          T& o = out.ptr<T>()[(a * os.mid + ip[i]) * os.inner + b];
          o = T(C(o) + C(src.ptr<T>()[i]));
        }
  });
}

}  // namespace cherry::cpu
