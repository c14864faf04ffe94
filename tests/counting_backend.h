// A Backend decorator that counts calls per kernel (and per custom kernel) and forwards to another
// backend. The op harness wraps a backend with it to prove every kernel was exercised.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "backends/backend.h"
#include "backends/custom_kernel.h"

namespace cherry::test {


class CountingBackend final : public Backend {
 public:
  explicit CountingBackend(Backend& inner) : inner_(inner), mixed_(*this) {}
  std::map<std::string, int> calls;
  std::map<std::string, int> block_calls;  // the calls whose activation (first Arg) is in channel blocks
  std::map<std::string, int> bf16_calls;   // the calls whose activation is bf16

  // Every kernel of the op table, then the custom kernels this decorator counts ("name.method").
  static std::vector<std::string> op_methods() {
    std::vector<std::string> m(std::begin(kBackendOps), std::end(kBackendOps));
    m.insert(m.end(), {"mixed_conv2d.forward", "mixed_conv2d.backward"});
    return m;
  }

  const char* name() const override { return inner_.name(); }
  void* raw_allocate(size_t n) override { return inner_.raw_allocate(n); }
  void raw_deallocate(void* p, size_t n) override { inner_.raw_deallocate(p, n); }
  void copy_from_host(void* d, const void* s, size_t n) override { inner_.copy_from_host(d, s, n); }
  void copy_to_host(void* d, const void* s, size_t n) override { inner_.copy_to_host(d, s, n); }
  void synchronize() override { inner_.synchronize(); }
  bool has_channel_blocks(DType t) const override { return inner_.has_channel_blocks(t); }

#define CHERRY_KERNEL(name, params, args) \
  void name params override {             \
    count(#name, first_arg args);         \
    inner_.name args;                     \
  }
#include "backends/ops.def"

  CustomKernel* custom_kernel(std::string_view name, DType t) override {
    CustomKernel* k = inner_.custom_kernel(name, t);
    if (name != MixedConv2dKernel::kName || !k) return k;
    mixed_.inner = dynamic_cast<MixedConv2dKernel*>(k);
    return &mixed_;
  }

 private:
  // The first Arg of a kernel is its activation (x, or gy in a backward), or nullptr.
  template <class T, class... A> static const Arg* first_arg(const T& a, const A&... rest) {
    if constexpr (std::is_same_v<T, Arg>) return &a;
    else if constexpr (sizeof...(A) > 0) return first_arg(rest...);
    else return nullptr;
  }
  void count(const char* name, const Arg* x) {
    ++calls[name], block_calls[name] += x && x->blocked(), bf16_calls[name] += x && x->dtype == DType::bf16;
  }

  struct CountingMixed final : MixedConv2dKernel {
    explicit CountingMixed(CountingBackend& o) : owner(o) {}
    CountingBackend& owner;
    MixedConv2dKernel* inner = nullptr;
    void forward(const Arg& x, const Arg& m, const Arg& f, const Arg& y, const Conv2dParams& p) override {
      owner.count("mixed_conv2d.forward", &x), inner->forward(x, m, f, y, p);
    }
    void backward(const Arg& gy, const Arg& x, const Arg& m, const Arg& f, const Arg& gx, const Arg& gm, const Arg& gf,
                  const Conv2dParams& p) override {
      owner.count("mixed_conv2d.backward", &x), inner->backward(gy, x, m, f, gx, gm, gf, p);
    }
  };

  Backend& inner_;
  CountingMixed mixed_;
};

}  // namespace cherry::test
