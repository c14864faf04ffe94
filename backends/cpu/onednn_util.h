// Shared by the oneDNN convolution files: the engine, primitive descriptors cached by geometry,
// pooled scratch memory, and user-buffer <-> primitive-layout adapters. oneDNN picks its own
// (blocked) layouts; we reorder from and to NCHW/OIHW, or pass channel blocks (nChw16c) through.
#pragma once
#include <memory>
#include <oneapi/dnnl/dnnl.hpp>
#include <optional>
#include <tuple>

#include "backends/backend.h"
#include "core/error.h"

namespace cherry::cpu::onednn {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

engine& cpu_engine();

dt data_type(DType t);  // f32 or bf16

// compute: the activations' type, f32 or bf16. A bf16 convolution computes in bf16 with f32
// accumulation: x, y and their gradients are bf16, the weights are converted to bf16 by the
// reorder into oneDNN's layout (which happens anyway), bias and the weight/bias gradients stay f32.
struct Geometry {
  memory::dims x, w, b, y, strides, dilates, pad_l, pad_r;
  dt compute = dt::f32;
  auto key() const { return std::tie(x, w, b, y, strides, dilates, pad_l, pad_r, compute); }
  bool operator<(const Geometry& o) const { return key() < o.key(); }
};
Geometry geometry(const Shape& xs, const Shape& ws, const Shape& ys, bool bias, const Conv2dParams& p, DType compute);

memory::desc plain_md(const memory::dims& d, dt type = dt::f32);  // a / nchw / goihw by rank
memory::desc plain_md(const Arg& a, const memory::dims& d);      // in a's dtype
// An activation Arg's layout as oneDNN sees it over its dims d: nchw, or nChw16c for channel blocks.
memory::desc act_md(const Arg& a, const memory::dims& d);

struct Prims {
  convolution_forward::primitive_desc fwd;
  convolution_backward_data::primitive_desc bwd_data;
  convolution_backward_weights::primitive_desc bwd_weights;
  bool has_bwd_data = false, has_bwd_weights = false;
};
// The cached forward primitive for g; the backward ones are created on first use.
Prims& prims_for(const Geometry& g);
const convolution_backward_data::primitive_desc& bwd_data_pd(Prims& pr, const Geometry& g);
const convolution_backward_weights::primitive_desc& bwd_weights_pd(Prims& pr, const Geometry& g);

// A memory in the given layout, backed by a pooled buffer that lives as long as this (a fresh
// multi-megabyte malloc per call page-faults on first touch, which cost more than the reorder).
struct Scratch {
  std::shared_ptr<void> buf;
  memory mem;
  explicit Scratch(const memory::desc& d);
  float* data() const { return static_cast<float*>(buf.get()); }
};

// Input side: the user buffer itself when layouts agree, else a reordered pooled copy.
struct In {
  std::optional<Scratch> scratch;
  memory mem;
  In(const memory::desc& want, const memory::desc& have, void* ptr, stream& s);
};
// Output side: computed in the primitive's layout, copied back into the user buffer by finish().
struct Out {
  std::optional<Scratch> scratch;
  memory user, mem;
  Out(const memory::desc& want, const memory::desc& have, void* ptr);
  void finish(stream& s);
};

// diff_dst for the two backward primitives: reordered from the user buffer on first use, and
// again only if the second primitive wants another layout.
class LazyIn {
 public:
  LazyIn(const memory::desc& have, void* ptr) : have_(have), ptr_(ptr) {}
  memory get(const memory::desc& want, stream& s) {
    if (!in_ || in_->mem.get_desc() != want) in_.emplace(want, have_, ptr_, s);
    return in_->mem;
  }

 private:
  memory::desc have_;
  void* ptr_;
  std::optional<In> in_;
};

template <class F> void guarded(const char* op, F&& f) {
  try {
    f();
  } catch (const dnnl::error& e) {
    throw Error(op, cat("oneDNN: ", e.what(), " (status ", int(e.status), ")"));
  }
}

}  // namespace cherry::cpu::onednn
