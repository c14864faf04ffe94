// A Backend decorator that counts calls per method and forwards to another backend. The op
// harness wraps the CPU backend with it to prove every kernel was exercised.
#pragma once
#include <map>
#include <string>

#include "backends/backend.h"

namespace cherry::test {

class CountingBackend final : public Backend {
 public:
  explicit CountingBackend(Backend& inner) : inner_(inner) {}
  std::map<std::string, int> calls;
  std::map<std::string, int> block_calls;  // the calls given activations in channel blocks
  static std::vector<std::string> op_methods() {
    return {"fill", "copy", "unary", "binary", "where", "reduce", "argmax", "topk", "softmax", "softmax_backward", "matmul",
            "conv2d_forward", "conv2d_backward", "mixed_conv2d_forward", "mixed_conv2d_backward", "max_pool2d_forward", "max_pool2d_backward",
            "avg_pool2d_forward", "avg_pool2d_backward", "batch_norm_forward", "batch_norm_backward", "layer_norm_forward",
            "layer_norm_backward", "index_select", "index_add", "gather", "scatter_add", "sgd_step", "adamw_step"};
  }

  const char* name() const override { return inner_.name(); }
  void* raw_allocate(size_t n) override { return inner_.raw_allocate(n); }
  void raw_deallocate(void* p, size_t n) override { inner_.raw_deallocate(p, n); }
  void copy_from_host(void* d, const void* s, size_t n) override { inner_.copy_from_host(d, s, n); }
  void copy_to_host(void* d, const void* s, size_t n) override { inner_.copy_to_host(d, s, n); }
  void synchronize() override { inner_.synchronize(); }
  void fill(const Arg& o, double v) override { ++calls["fill"], inner_.fill(o, v); }
  void copy(const Arg& s, const Arg& d) override { ++calls["copy"], inner_.copy(s, d); }
  void unary(UnaryOp op, const Arg& x, const Arg& o) override { ++calls["unary"], inner_.unary(op, x, o); }
  void binary(BinaryOp op, const Arg& a, const Arg& b, const Arg& o) override { ++calls["binary"], inner_.binary(op, a, b, o); }
  void where(const Arg& c, const Arg& a, const Arg& b, const Arg& o) override { ++calls["where"], inner_.where(c, a, b, o); }
  void reduce(ReduceOp op, const Arg& x, const Arg& o) override { ++calls["reduce"], inner_.reduce(op, x, o); }
  void argmax(const Arg& x, const Arg& o) override { ++calls["argmax"], inner_.argmax(x, o); }
  void topk(const Arg& x, int64_t k, bool l, const Arg& v, const Arg& i) override { ++calls["topk"], inner_.topk(x, k, l, v, i); }
  void softmax(const Arg& x, bool l, const Arg& y) override { ++calls["softmax"], inner_.softmax(x, l, y); }
  void softmax_backward(const Arg& y, const Arg& g, bool l, const Arg& gx) override {
    ++calls["softmax_backward"], inner_.softmax_backward(y, g, l, gx);
  }
  void matmul(const Arg& a, const Arg& b, const Arg& c, double al, double be) override { ++calls["matmul"], inner_.matmul(a, b, c, al, be); }
  void conv2d_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& y, const Conv2dParams& p) override {
    ++calls["conv2d_forward"], block_calls["conv2d_forward"] += x.dim() == 5, inner_.conv2d_forward(x, w, b, y, p);
  }
  void conv2d_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& gx, const Arg& gw, const Arg& gb, const Conv2dParams& p) override {
    ++calls["conv2d_backward"], block_calls["conv2d_backward"] += x.dim() == 5, inner_.conv2d_backward(gy, x, w, gx, gw, gb, p);
  }
  bool has_channel_blocks(DType t) const override { return inner_.has_channel_blocks(t); }
  bool has_mixed_conv2d(DType t) const override { return inner_.has_mixed_conv2d(t); }
  void mixed_conv2d_forward(const Arg& x, const Arg& m, const Arg& f, const Arg& y, const Conv2dParams& p) override {
    ++calls["mixed_conv2d_forward"], block_calls["mixed_conv2d_forward"] += x.dim() == 5, inner_.mixed_conv2d_forward(x, m, f, y, p);
  }
  void mixed_conv2d_backward(const Arg& gy, const Arg& x, const Arg& m, const Arg& f, const Arg& gx, const Arg& gm, const Arg& gf,
                             const Conv2dParams& p) override {
    ++calls["mixed_conv2d_backward"], block_calls["mixed_conv2d_backward"] += x.dim() == 5;
    inner_.mixed_conv2d_backward(gy, x, m, f, gx, gm, gf, p);
  }
  void max_pool2d_forward(const Arg& x, const Arg& y, const Arg& i, const Pool2dParams& p) override {
    ++calls["max_pool2d_forward"], inner_.max_pool2d_forward(x, y, i, p);
  }
  void max_pool2d_backward(const Arg& gy, const Arg& i, const Arg& gx, const Pool2dParams& p) override {
    ++calls["max_pool2d_backward"], inner_.max_pool2d_backward(gy, i, gx, p);
  }
  void avg_pool2d_forward(const Arg& x, const Arg& y, const Pool2dParams& p) override { ++calls["avg_pool2d_forward"], inner_.avg_pool2d_forward(x, y, p); }
  void avg_pool2d_backward(const Arg& gy, const Arg& gx, const Pool2dParams& p) override {
    ++calls["avg_pool2d_backward"], inner_.avg_pool2d_backward(gy, gx, p);
  }
  void batch_norm_forward(const Arg& x, const Arg& w, const Arg& b, const Arg& rm, const Arg& rv, bool t, double m, double e,
                          const Arg& y, const Arg& mean, const Arg& is) override {
    ++calls["batch_norm_forward"], block_calls["batch_norm_forward"] += x.shape[3] > 1;
    inner_.batch_norm_forward(x, w, b, rm, rv, t, m, e, y, mean, is);
  }
  void batch_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& m, const Arg& is, const Arg& gx, const Arg& gw,
                           const Arg& gb) override {
    ++calls["batch_norm_backward"], block_calls["batch_norm_backward"] += x.shape[3] > 1;
    inner_.batch_norm_backward(gy, x, w, m, is, gx, gw, gb);
  }
  void layer_norm_forward(const Arg& x, const Arg& w, const Arg& b, double e, const Arg& y, const Arg& m, const Arg& r) override {
    ++calls["layer_norm_forward"], inner_.layer_norm_forward(x, w, b, e, y, m, r);
  }
  void layer_norm_backward(const Arg& gy, const Arg& x, const Arg& w, const Arg& m, const Arg& r, const Arg& gx, const Arg& gw,
                           const Arg& gb) override {
    ++calls["layer_norm_backward"], inner_.layer_norm_backward(gy, x, w, m, r, gx, gw, gb);
  }
  void index_select(const Arg& x, int64_t d, const Arg& i, const Arg& o) override { ++calls["index_select"], inner_.index_select(x, d, i, o); }
  void index_add(const Arg& o, int64_t d, const Arg& i, const Arg& s) override { ++calls["index_add"], inner_.index_add(o, d, i, s); }
  void gather(const Arg& x, int64_t d, const Arg& i, const Arg& o) override { ++calls["gather"], inner_.gather(x, d, i, o); }
  void scatter_add(const Arg& o, int64_t d, const Arg& i, const Arg& s) override { ++calls["scatter_add"], inner_.scatter_add(o, d, i, s); }
  void sgd_step(const Arg& p, const Arg& g, const Arg& b, const SgdStep& s) override { ++calls["sgd_step"], inner_.sgd_step(p, g, b, s); }
  void adamw_step(const Arg& p, const Arg& g, const Arg& m, const Arg& v, const AdamWStep& s) override {
    ++calls["adamw_step"], inner_.adamw_step(p, g, m, v, s);
  }

 private:
  Backend& inner_;
};

}  // namespace cherry::test
