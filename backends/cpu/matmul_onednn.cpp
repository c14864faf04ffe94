// bf16 matmul on oneDNN's matmul primitive (brgemm kernels: AMX or AVX512-BF16 where the CPU has
// them, emulated elsewhere): a and b bf16, c bf16 or f32, accumulation in f32. OpenBLAS as packaged
// has no sbgemm. alpha is the primitive's output scale, beta a sum post-op.
#include <map>
#include <mutex>

#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_util.h"
#include "backends/dispatch.h"

namespace cherry::cpu {
using namespace onednn;

namespace {
// A (B, R, C) operand as oneDNN dims and strides: its batch broadcasts (dims 1) when the batch
// stride is 0; a size-1 dim gets the stride a dense layout would give it (oneDNN checks them).
struct Operand {
  memory::dims dims, strides;
  Operand(const Arg& x, int64_t batch) {
    const bool broadcast = x.strides[0] == 0 && batch > 1;
    const int64_t R = x.shape[1], C = x.shape[2];
    dims = {broadcast ? 1 : batch, R, C};
    strides = {broadcast ? R * C : x.strides[0], R == 1 ? C : x.strides[1], C == 1 ? 1 : x.strides[2]};
  }
  memory::desc md(DType t) const { return memory::desc(dims, data_type(t), strides); }
};

struct Key {
  memory::dims a, sa, b, sb, c, sc;
  DType c_type;
  float alpha, beta;
  auto tie() const { return std::tie(a, sa, b, sb, c, sc, c_type, alpha, beta); }
  bool operator<(const Key& o) const { return tie() < o.tie(); }
};

// Primitives cached by problem (training repeats the same shapes). Bounded: with dynamic padding
// and MoE routing the shapes change every step, and an unbounded cache grew a PAD-MoE bf16 run
// by 8 GB in 40 steps.
dnnl::matmul primitive_for(const Key& k) {
  static std::mutex mu;
  static std::map<Key, dnnl::matmul> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(k);
  if (it != cache.end()) return it->second;
  if (cache.size() >= 64) cache.clear();
  primitive_attr attr;
  if (k.alpha != 1.0f) attr.set_output_scales(0, {k.alpha});
  if (k.beta != 0.0f) {
    post_ops ops;
    ops.append_sum(k.beta);
    attr.set_post_ops(ops);
  }
  const dnnl::matmul::desc d(memory::desc(k.a, dt::bf16, k.sa), memory::desc(k.b, dt::bf16, k.sb), memory::desc(k.c, data_type(k.c_type), k.sc));
  return cache.emplace(k, dnnl::matmul(dnnl::matmul::primitive_desc(d, attr, cpu_engine()))).first->second;
}
}  // namespace

void matmul_bf16(const Arg& a, const Arg& b, const Arg& c, double alpha, double beta) {
  CHERRY_CHECK(a.dtype == DType::bf16 && b.dtype == DType::bf16 && (c.dtype == DType::bf16 || c.dtype == DType::f32), "matmul",
               "bf16 matmul takes bf16 operands and a bf16 or f32 output, got ", dtype_name(a.dtype), " @ ", dtype_name(b.dtype),
               " -> ", dtype_name(c.dtype));
  const int64_t B = c.shape[0], M = c.shape[1], N = c.shape[2], K = a.shape[2];
  if (M == 0 || N == 0 || B == 0) return;
  if (K == 0) {  // the maths says alpha*0 + beta*C
    dispatch_storage(c.dtype, [&]<class T>() {
      for (int64_t i = 0; i < B; ++i)
        for (int64_t r = 0; r < M; ++r)
          for (int64_t q = 0; q < N; ++q) {
            T& v = c.ptr<T>()[i * c.strides[0] + r * c.strides[1] + q * c.strides[2]];
            v = beta == 0 ? T(0.0f) : T(float(beta) * float(v));
          }
    });
    return;
  }
  guarded("matmul", [&] {
    const Operand oa(a, B), ob(b, B), oc(c, B);
    dnnl::matmul m = primitive_for(Key{oa.dims, oa.strides, ob.dims, ob.strides, oc.dims, oc.strides, c.dtype, float(alpha), float(beta)});
    stream s(cpu_engine());
    memory am(oa.md(a.dtype), cpu_engine(), a.data), bm(ob.md(b.dtype), cpu_engine(), b.data), cm(oc.md(c.dtype), cpu_engine(), c.data);
    m.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
    s.wait();
  });
}

}  // namespace cherry::cpu
