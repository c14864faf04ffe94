// f32 and bf16 convolution on oneDNN: forward, backward-data, backward-weights, any stride/padding/
// dilation/groups, plus the helpers of onednn_util.h. Primitive descriptors are cached by
// geometry, since training repeats the same shapes.
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "backends/allocator.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/cpu/onednn_util.h"

namespace cherry::cpu {
namespace onednn {

engine& cpu_engine() {
  static engine e(engine::kind::cpu, 0);
  return e;
}

dt data_type(DType t) {
  CHERRY_CHECK(t == DType::f32 || t == DType::bf16, "oneDNN", "no oneDNN path for ", dtype_name(t));
  return t == DType::bf16 ? dt::bf16 : dt::f32;
}

Geometry geometry(const Shape& xs, const Shape& ws, const Shape& ys, bool bias, const Conv2dParams& p, DType compute) {
  Geometry g;
  g.compute = data_type(compute);
  g.x = {xs[0], xs[1], xs[2], xs[3]};
  g.y = {ys[0], ys[1], ys[2], ys[3]};
  g.w = p.groups > 1 ? memory::dims{p.groups, ws[0] / p.groups, ws[1], ws[2], ws[3]} : memory::dims{ws[0], ws[1], ws[2], ws[3]};
  g.b = bias ? memory::dims{ws[0]} : memory::dims{};
  g.strides = {p.stride[0], p.stride[1]};
  g.dilates = {p.dilation[0] - 1, p.dilation[1] - 1};
  g.pad_l = {p.padding[0], p.padding[1]};
  // oneDNN wants explicit right padding consistent with the (floor) output size; it may be
  // negative (a strided 1x1 conv that skips the last row), which oneDNN accepts.
  for (int i = 0; i < 2; ++i)
    g.pad_r.push_back((ys[2 + i] - 1) * p.stride[i] - xs[2 + i] + (ws[2 + i] - 1) * p.dilation[i] + 1 - p.padding[i]);
  return g;
}

namespace {
memory::desc any_md(const memory::dims& d, dt type) { return memory::desc(d, type, tag::any); }
}  // namespace

memory::desc plain_md(const memory::dims& d, dt type) {
  return memory::desc(d, type, d.size() == 1 ? tag::a : d.size() == 4 ? tag::nchw : tag::goihw);
}
memory::desc plain_md(const Arg& a, const memory::dims& d) { return plain_md(d, data_type(a.dtype)); }

memory::desc act_md(const Arg& a, const memory::dims& d) {
  return a.blocked() ? memory::desc(d, data_type(a.dtype), tag::nChw16c) : plain_md(a, d);
}

Prims& prims_for(const Geometry& g) {
  static std::mutex mu;
  static std::map<Geometry, Prims> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(g);
  if (it != cache.end()) return it->second;
  const dt c = g.compute;
  auto d = g.b.empty() ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any_md(g.x, c),
                                                   any_md(g.w, c), any_md(g.y, c), g.strides, g.dilates, g.pad_l, g.pad_r)
                       : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, any_md(g.x, c),
                                                   any_md(g.w, c), any_md(g.b, dt::f32), any_md(g.y, c), g.strides, g.dilates,
                                                   g.pad_l, g.pad_r);
  Prims p;
  p.fwd = convolution_forward::primitive_desc(d, cpu_engine());
  return cache.emplace(g, std::move(p)).first->second;
}

const convolution_backward_data::primitive_desc& bwd_data_pd(Prims& pr, const Geometry& g) {
  if (!pr.has_bwd_data) {
    const dt c = g.compute;
    auto d = convolution_backward_data::desc(algorithm::convolution_direct, any_md(g.x, c), any_md(g.w, c), any_md(g.y, c),
                                             g.strides, g.dilates, g.pad_l, g.pad_r);
    pr.bwd_data = convolution_backward_data::primitive_desc(d, cpu_engine(), pr.fwd);
    pr.has_bwd_data = true;
  }
  return pr.bwd_data;
}

const convolution_backward_weights::primitive_desc& bwd_weights_pd(Prims& pr, const Geometry& g) {
  if (!pr.has_bwd_weights) {
    const dt c = g.compute, f = dt::f32;  // weight and bias gradients in f32
    auto d = g.b.empty() ? convolution_backward_weights::desc(algorithm::convolution_direct, any_md(g.x, c), any_md(g.w, f),
                                                              any_md(g.y, c), g.strides, g.dilates, g.pad_l, g.pad_r)
                         : convolution_backward_weights::desc(algorithm::convolution_direct, any_md(g.x, c), any_md(g.w, f),
                                                              any_md(g.b, f), any_md(g.y, c), g.strides, g.dilates, g.pad_l, g.pad_r);
    pr.bwd_weights = convolution_backward_weights::primitive_desc(d, cpu_engine(), pr.fwd);
    pr.has_bwd_weights = true;
  }
  return pr.bwd_weights;
}

namespace {
// Scratch buffers come from the host's caching allocator: counted in its peak (what the apps' memory
// check measures) and failing with cherry::Error when the system has no memory left.
std::shared_ptr<void> scratch_buffer(size_t n) {
  CachingAllocator& a = CachingAllocator::get(DeviceType::cpu);
  return std::shared_ptr<void>(a.allocate(n), [n](void* p) { CachingAllocator::get(DeviceType::cpu).deallocate(p, n); });
}
}  // namespace

Scratch::Scratch(const memory::desc& d) : buf(scratch_buffer(d.get_size())), mem(d, cpu_engine(), buf.get()) {}

In::In(const memory::desc& want, const memory::desc& have, void* ptr, stream& s) {
  memory user(have, cpu_engine(), ptr);
  if (want == have) {
    mem = user;
    return;
  }
  scratch.emplace(want);
  mem = scratch->mem;
  reorder(user, mem).execute(s, user, mem);
}

Out::Out(const memory::desc& want, const memory::desc& have, void* ptr) : user(have, cpu_engine(), ptr) {
  if (want == have) {
    mem = user;
  } else {
    scratch.emplace(want);
    mem = scratch->mem;
  }
}

void Out::finish(stream& s) {
  if (scratch) reorder(mem, user).execute(s, mem, user);
}

}  // namespace onednn

using namespace onednn;

// oneDNN has no f64 convolution; f64 (gradient checks) takes the im2col path. DY-Conv's per-sample
// kernels (one image, groups = B*g) stay on oneDNN: its grouped kernels measured 1.3-3.5x faster
// than one im2col GEMM per group per thread at ResNet-20 shapes (bench/cherry_bench gconv_*).
// bf16: x and y bf16, the weights f32 or bf16, the bias f32 (see Geometry).
void conv2d_forward(const Arg& x, const Arg& w, const Arg& bias, const Arg& y, const Conv2dParams& p) {
  if (x.dtype == DType::f64) return conv2d_forward_im2col(x, w, bias, y, p);
  guarded("conv2d", [&] {
    Geometry g = geometry(x.shape, w.shape, y.shape, bias.data != nullptr, p, x.dtype);
    Prims& pr = prims_for(g);
    stream s(cpu_engine());
    In src(pr.fwd.src_desc(), act_md(x, g.x), x.data, s), wei(pr.fwd.weights_desc(), plain_md(w, g.w), w.data, s);
    Out dst(pr.fwd.dst_desc(), act_md(y, g.y), y.data);
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src.mem}, {DNNL_ARG_WEIGHTS, wei.mem}, {DNNL_ARG_DST, dst.mem}};
    std::optional<In> b;
    if (bias.data) args[DNNL_ARG_BIAS] = b.emplace(pr.fwd.bias_desc(), plain_md(bias, g.b), bias.data, s).mem;
    convolution_forward(pr.fwd).execute(s, args);
    dst.finish(s);
    s.wait();
  });
}

// Both gradients; gy is reordered into oneDNN's layout once and shared by the two primitives.
void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gbias,
                     const Conv2dParams& p) {
  if (x.dtype == DType::f64) return conv2d_backward_im2col(gy, x, w, gx, gw, gbias, p);
  guarded("conv2d_backward", [&] {
    Geometry g = geometry(x.shape, w.shape, gy.shape, gbias.data != nullptr, p, x.dtype);
    Prims& pr = prims_for(g);
    stream s(cpu_engine());
    LazyIn diff_dst(act_md(gy, g.y), gy.data);
    if (gx.data) {
      const auto& pd = bwd_data_pd(pr, g);
      In wei(pd.weights_desc(), plain_md(w, g.w), w.data, s);
      Out dsrc(pd.diff_src_desc(), act_md(gx, g.x), gx.data);
      convolution_backward_data(pd).execute(
          s, {{DNNL_ARG_DIFF_DST, diff_dst.get(pd.diff_dst_desc(), s)}, {DNNL_ARG_WEIGHTS, wei.mem}, {DNNL_ARG_DIFF_SRC, dsrc.mem}});
      dsrc.finish(s);
    }
    if (gw.data || gbias.data) {
      const auto& pd = bwd_weights_pd(pr, g);
      In src(pd.src_desc(), act_md(x, g.x), x.data, s);
      // oneDNN always computes the weight gradient; when only the bias is wanted it goes to scratch.
      std::optional<Scratch> unused_gw;
      if (!gw.data) unused_gw.emplace(plain_md(g.w));
      Out dwei(pd.diff_weights_desc(), plain_md(g.w, gw.data ? data_type(gw.dtype) : dt::f32),
               gw.data ? gw.data : unused_gw->mem.get_data_handle());
      std::unordered_map<int, memory> args{
          {DNNL_ARG_SRC, src.mem}, {DNNL_ARG_DIFF_DST, diff_dst.get(pd.diff_dst_desc(), s)}, {DNNL_ARG_DIFF_WEIGHTS, dwei.mem}};
      std::optional<Out> dbias;
      if (gbias.data) args[DNNL_ARG_DIFF_BIAS] = dbias.emplace(pd.diff_bias_desc(), plain_md(gbias, g.b), gbias.data).mem;
      convolution_backward_weights(pd).execute(s, args);
      dwei.finish(s);
      if (dbias) dbias->finish(s);
    }
    s.wait();
  });
}

}  // namespace cherry::cpu
