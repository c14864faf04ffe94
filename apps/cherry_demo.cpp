// A one-minute demo of the engine until the training apps land: a two-layer MLP learns the
// two-spirals problem with hand-written SGD, printing loss and accuracy as it goes.
#include <omp.h>

#include <cmath>
#include <cstdio>
#include <numbers>
#include <vector>

#include "autograd/ops.h"
#include "backends/cpu/cpu_backend.h"
#include "core/rng.h"

using namespace cherry;

int main() {
  try {
    manual_seed(0);
    std::printf("cherry demo: %s\n", blas_info().c_str());
    // Two interleaved spirals, 1000 points each.
    const int64_t n = 2000;
    std::vector<float> xs;
    std::vector<int64_t> ys;
    Generator g(1);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t cls = i % 2;
      const double t = 0.25 + 3.0 * std::numbers::pi * double(i / 2) / double(n / 2);
      const double r = t / (3.0 * std::numbers::pi), a = t + std::numbers::pi * double(cls);
      xs.push_back(float(r * std::cos(a) + 0.02 * g.normal()));
      xs.push_back(float(r * std::sin(a) + 0.02 * g.normal()));
      ys.push_back(cls);
    }
    Tensor x = from_vector(xs, {n, 2}), y = from_vector(ys, {n});
    Tensor w1 = (randn({64, 2}) * std::sqrt(2.0 / 2)).set_requires_grad(true), b1 = zeros({64}).set_requires_grad(true);
    Tensor w2 = (randn({64, 64}) * std::sqrt(2.0 / 64)).set_requires_grad(true), b2 = zeros({64}).set_requires_grad(true);
    Tensor w3 = (randn({2, 64}) * std::sqrt(1.0 / 64)).set_requires_grad(true), b3 = zeros({2}).set_requires_grad(true);
    std::vector<Tensor> params = {w1, b1, w2, b2, w3, b3}, velocity;
    for (auto& p : params) velocity.push_back(zeros_like(p));
    for (int step = 0; step <= 1500; ++step) {
      Tensor logits = linear(relu(linear(relu(linear(x, w1, b1)), w2, b2)), w3, b3);
      Tensor loss = cross_entropy(logits, y);
      for (auto& p : params) p.zero_grad();
      loss.backward();
      {
        NoGradGuard ng;
        for (size_t i = 0; i < params.size(); ++i) {  // SGD with momentum 0.9, lr 0.1
          velocity[i].mul_(0.9).add_(params[i].grad());
          params[i].add_(velocity[i], -0.1);
        }
      }
      if (step % 250 == 0) {
        NoGradGuard ng;
        const double acc = mean(eq(argmax(logits, 1), y).to(DType::f32)).item<float>();
        std::printf("step %4d  loss %.4f  train accuracy %.1f%%\n", step, loss.item<float>(), 100 * acc);
      }
    }
    return 0;
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
