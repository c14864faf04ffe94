// Kernel benchmark: GEMM (square and BERT-small FFN shapes) and conv2d forward+backward at
// ResNet-20 shapes. Prints one JSON object per line {"name", "ms"} (median); compare_pytorch.py
// runs the same shapes in PyTorch in the same run and prints the ratios.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "autograd/ops.h"
#include "backends/backend.h"
#include "backends/cpu/cpu_backend.h"
#include "core/rng.h"
#include "layers/dynamic_conv2d.h"

using namespace cherry;

namespace {
double median_ms(const std::function<void()>& fn, int iters, int warmup = 3) {
  for (int i = 0; i < warmup; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    fn();
    t.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

std::function<void()> gemm(int64_t m, int64_t k, int64_t n) {
  Tensor a = randn({m, k}), b = randn({k, n});
  return [a, b] { (void)matmul(a, b); };
}
std::function<void()> linear_bench(int64_t m, int64_t k, int64_t n) {
  Tensor x = randn({m, k}), w = randn({n, k});
  return [x, w] { (void)linear(x, w); };
}
// Forward + grads for input and weight, as torch.autograd.grad(y, (x, w), gy).
std::function<void()> conv_fb(int64_t c, int64_t hw, int64_t batch = 128) {
  Tensor x = randn({batch, c, hw, hw}), w = randn({c, c, 3, 3}), gy = randn({batch, c, hw, hw});
  Conv2dParams p;
  p.padding[0] = p.padding[1] = 1;
  return [x, w, gy, p] {
    Tensor xl = x.detach().set_requires_grad(true), wl = w.detach().set_requires_grad(true);
    conv2d(xl, wl, {}, p).backward(gy);
  };
}
// The per-sample conv of DY-Conv alone: one conv with groups = B over a [1, B*C, H, W] view.
std::function<void()> grouped_conv_fb(int64_t c, int64_t hw, int64_t batch = 128) {
  Tensor x = randn({1, batch * c, hw, hw}), w = randn({batch * c, c, 3, 3}), gy = randn({1, batch * c, hw, hw});
  Conv2dParams p;
  p.padding[0] = p.padding[1] = 1;
  p.groups = batch;
  return [x, w, gy, p] {
    Tensor xl = x.detach().set_requires_grad(true), wl = w.detach().set_requires_grad(true);
    conv2d(xl, wl, {}, p).backward(gy);
  };
}
// The same per-sample conv as one im2col GEMM per (image, group), one unit per thread: the
// "per-sample GEMM" execution, measured against oneDNN's grouped kernels above.
std::function<void()> grouped_conv_gemm_fb(int64_t c, int64_t hw, int64_t batch = 128) {
  Tensor x = randn({1, batch * c, hw, hw}), w = randn({batch * c, c, 3, 3}), gy = randn({1, batch * c, hw, hw});
  Tensor y = empty(gy.shape()), gx = empty(x.shape()), gw = empty(w.shape());
  Conv2dParams p;
  p.padding[0] = p.padding[1] = 1;
  p.groups = batch;
  return [=] {
    cpu::conv2d_forward_im2col(x.arg(), w.arg(), Arg{}, y.arg(), p);
    cpu::conv2d_backward_im2col(gy.arg(), x.arg(), w.arg(), gx.arg(), gw.arg(), Arg{}, p);
  };
}
// A whole DynamicConv2d layer (K = 4, attention included), forward + backward.
std::function<void()> dyconv_fb(int64_t c, int64_t hw, DynamicConvImpl impl, DynamicMode mode, int64_t batch = 128) {
  Conv2dOptions o;
  o.in_channels = o.out_channels = c, o.kernel_size = 3, o.padding = 1, o.bias = false;
  DynamicConvOptions d;
  d.impl = impl, d.pad.mode = mode;
  auto layer = std::make_shared<DynamicConv2d>(o, d);
  Tensor x = randn({batch, c, hw, hw}), gy = randn({batch, c, hw, hw});
  return [layer, x, gy] {
    Tensor xl = x.detach().set_requires_grad(true);
    layer->forward(xl).backward(gy);
  };
}
}  // namespace

int main(int argc, char** argv) {
  int threads = 2, iters = 10;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "error: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--threads") threads = std::atoi(next());
    else if (a == "--iters") iters = std::atoi(next());
    else if (a == "--filter") filter = next();
    else {
      std::fprintf(stderr, "usage: cherry_bench [--threads N] [--iters K] [--filter SUBSTR]\n");
      return a == "--help" ? 0 : 2;
    }
  }
  if (threads < 1 || iters < 1) {
    std::fprintf(stderr, "error: --threads and --iters must be positive\n");
    return 2;
  }
  omp_set_num_threads(threads);
  std::fprintf(stderr, "# cherry_bench: %s\n", blas_info().c_str());
  const std::vector<std::pair<std::string, std::function<std::function<void()>()>>> benches = {
      {"gemm_1024", [] { return gemm(1024, 1024, 1024); }},
      {"gemm_2048", [] { return gemm(2048, 2048, 2048); }},
      {"gemm_ffn_up", [] { return linear_bench(4096, 384, 1536); }},
      {"gemm_ffn_down", [] { return linear_bench(4096, 1536, 384); }},
      {"conv_fb_16x32", [] { return conv_fb(16, 32); }},
      {"conv_fb_32x16", [] { return conv_fb(32, 16); }},
      {"conv_fb_64x8", [] { return conv_fb(64, 8); }},
      {"gconv_fb_16x32", [] { return grouped_conv_fb(16, 32); }},
      {"gconv_fb_64x8", [] { return grouped_conv_fb(64, 8); }},
      {"gconv_gemm_fb_16x32", [] { return grouped_conv_gemm_fb(16, 32); }},
      {"gconv_gemm_fb_64x8", [] { return grouped_conv_gemm_fb(64, 8); }},
      {"dyconv_grouped_fb_16x32", [] { return dyconv_fb(16, 32, DynamicConvImpl::grouped, DynamicMode::dynamic); }},
      {"dyconv_kmix_fb_16x32", [] { return dyconv_fb(16, 32, DynamicConvImpl::kmix, DynamicMode::dynamic); }},
      {"dyconv_grouped_fb_64x8", [] { return dyconv_fb(64, 8, DynamicConvImpl::grouped, DynamicMode::dynamic); }},
      {"dyconv_kmix_fb_64x8", [] { return dyconv_fb(64, 8, DynamicConvImpl::kmix, DynamicMode::dynamic); }},
      {"padconv_grouped_fb_16x32", [] { return dyconv_fb(16, 32, DynamicConvImpl::grouped, DynamicMode::pad); }},
  };
  for (const auto& [name, make] : benches) {
    if (!filter.empty() && name.find(filter) == std::string::npos) continue;
    const double ms = median_ms(make(), iters);
    std::printf("{\"name\": \"%s\", \"ms\": %.4f}\n", name.c_str(), ms);
    std::fflush(stdout);
  }
  return 0;
}
