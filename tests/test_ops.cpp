// The op harness: every case of op_cases.cpp runs (1) on the CPU backend and on the reference
// backend, forward and backward, compared elementwise; (2) through a float64 gradient check;
// (3) on the CUDA backend against the reference, in float32 and float64, where a CUDA device
// exists (reported as skipped otherwise). It then fails if any backend kernel or any
// differentiable op went unexercised.
#include <algorithm>
#include <set>

#include "autograd/gradcheck.h"
#include "autograd/op_list.h"
#include "backends/cpu/cpu_backend.h"
#include "backends/reference/reference_backend.h"
#include "core/rng.h"
#include "tests/counting_backend.h"
#include "tests/op_cases.h"
#include "tests/test_util.h"

namespace cherry::test {
namespace {

Tensor make_input(const Input& in, DType dtype, Generator& g) {
  Shape s = in.shape;
  if (in.transposed) std::swap(s[s.size() - 1], s[s.size() - 2]);
  Tensor t;
  switch (in.kind) {
    case Input::Kind::normal: t = randn(s, dtype, kCPU, g); break;
    case Input::Kind::positive: t = uniform(s, 0.5, 2.0, dtype, kCPU, g); break;
    case Input::Kind::distinct: {
      // A permutation of values 0.1 apart plus a jitter in [0.01, 0.04]: no ties within or across
      // tensors, and every value at least 0.01 from any multiple of 0.05 (relu, clamp kinks).
      Tensor perm = randperm(numel_of(s), kCPU, g).to(dtype);
      t = (perm * 0.1 - double(numel_of(s) / 2) * 0.1 + uniform(s.empty() ? Shape{} : Shape{numel_of(s)}, 0.01, 0.04, dtype, kCPU, g)).reshape(s);
      break;
    }
    case Input::Kind::index: return randint(s, 0, in.high, kCPU, g);
    case Input::Kind::mask: return bernoulli(s, 0.5, DType::f32, kCPU, g).to(DType::boolean);
  }
  return in.transposed ? t.transpose(-1, -2) : t;
}

std::vector<Tensor> make_inputs(const OpCase& c, DType dtype) {
  Generator g(42);
  std::vector<Tensor> xs;
  for (const auto& in : c.inputs) xs.push_back(make_input(in, dtype, g));
  return xs;
}

struct Run {
  Tensor y;
  std::vector<Tensor> grads;
};

void collect_names(const Tensor& t, std::set<std::string>& names);

// Forward, then backward of sum(y * R) with a fixed R; leaves are fresh views of the same data.
// On another device the leaves stay on the CPU and the op sees them moved (to_device), so the
// gradients come back through to_device's backward; y comes back to the CPU. names: the graph's
// node names, when wanted.
// bf16_weights: the backward's random weights R are rounded to bf16 values (the bf16 run and its
// f32 reference then weight the output identically).
Run run_case(const OpCase& c, const std::vector<Tensor>& inputs, Device device = kCPU, std::set<std::string>* names = nullptr,
             bool bf16_weights = false) {
  std::vector<Tensor> xs, args;
  for (const auto& t : inputs) {
    Tensor x = t.detach();
    if (c.differentiable && is_floating(t.dtype())) x.set_requires_grad(true);
    xs.push_back(x);
    args.push_back(x.to(device));
  }
  manual_seed(7);
  Run r{c.fn(args), {}};
  if (names) collect_names(r.y, *names);
  if (c.differentiable && r.y.requires_grad()) {
    Generator g(99);
    Tensor R = randn(r.y.shape(), bf16_weights ? DType::f32 : r.y.dtype(), r.y.device(), g);
    if (bf16_weights) R = R.to(DType::bf16).to(r.y.dtype());
    sum(r.y * R).backward();
    for (const auto& x : xs) r.grads.push_back(x.requires_grad() ? x.grad() : Tensor());
  }
  r.y = r.y.detach().to(kCPU);
  return r;
}

// Names of every node reachable from t's grad_fn (iterative walk).
void collect_names(const Tensor& t, std::set<std::string>& names) {
  std::vector<std::shared_ptr<Node>> stack;
  std::set<Node*> seen;
  if (t.grad_fn()) stack.push_back(t.grad_fn());
  while (!stack.empty()) {
    auto n = stack.back();
    stack.pop_back();
    if (!seen.insert(n.get()).second) continue;
    names.insert(n->name());
    for (auto& e : n->next_edges)
      if (e.valid()) stack.push_back(e.fn);
  }
}

}  // namespace

TEST_CASE("op harness: CPU backend matches the reference backend, forward and backward") {
  CountingBackend counting(cpu_backend());
  for (const auto& c : op_cases()) {
    CAPTURE(c.name);
    auto inputs = make_inputs(c, DType::f32);
    Run cpu;
    {
      ScopedBackendOverride use(DeviceType::cpu, &counting);
      cpu = run_case(c, inputs);
    }
    Run ref;
    {
      ScopedBackendOverride use(DeviceType::cpu, &reference_backend());
      ref = run_case(c, inputs);
    }
    CHECK_CLOSE(cpu.y, ref.y, c.rtol, c.atol);
    REQUIRE(cpu.grads.size() == ref.grads.size());
    for (size_t i = 0; i < cpu.grads.size(); ++i) {
      CAPTURE(i);
      REQUIRE(cpu.grads[i].defined() == ref.grads[i].defined());
      if (cpu.grads[i].defined()) CHECK_CLOSE(cpu.grads[i], ref.grads[i], c.rtol, c.atol);
    }
  }
  for (const auto& m : CountingBackend::op_methods()) {
    CAPTURE(m);
    CHECK_MESSAGE(counting.calls[m] > 0, "backend method never exercised by the op harness: ", m);
  }
  if (cpu_backend().has_channel_blocks(DType::f32))
    for (std::string m : {"conv2d_forward", "conv2d_backward", "mixed_conv2d.forward", "mixed_conv2d.backward", "batch_norm_forward",
                          "batch_norm_backward"}) {
      CAPTURE(m);
      CHECK_MESSAGE(counting.block_calls[m] > 0, "channel-blocks kernel never exercised by the op harness: ", m);
    }
}

// The bf16 rule, once. Inputs are values bf16 represents exactly (the f32 reference gets the same
// numbers), so a bf16 result differs from the f32 one only by roundings to bf16 on its path, each
// at most u = 2^-8 relative (round to nearest, 8 significant bits):
//  - the value itself: an operand converted, a stored intermediate, the output, the gradient
//    flowing back; at most 4 on any path here: 4u |ref|;
//  - a sum of n rounded terms (convolution, matmul, reductions) adds the terms' rounding errors,
//    which cancel like a random walk: their spread is about u times the result's rms (per rounding
//    stage, u/sqrt(3) each, up to 3 stages), so 8u rms(ref) is 8 standard deviations.
//   |bf16 - ref| <= 4u |ref| + 8u rms(ref)
constexpr double kBf16Unit = 1.0 / 256, kPathRoundings = 4, kSumDeviations = 8;

void check_bf16(const Tensor& got, const Tensor& ref) {
  const Tensor r = ref.to(DType::f64), gd = got.to(DType::f64);
  const double rms = r.numel() ? std::sqrt(mean(r * r).item<double>()) : 0.0;
  CHECK_CLOSE(gd, r, kPathRoundings * kBf16Unit, kSumDeviations * kBf16Unit * rms);
}

TEST_CASE("op harness: every op's bf16 path against the f32 reference (the bf16 rule)") {
  CountingBackend counting(cpu_backend());
  for (const auto& c : op_cases()) {
    if (!c.bf16) continue;
    CAPTURE(c.name);
    std::vector<Tensor> exact = make_inputs(c, DType::f32), half;
    for (size_t i = 0; i < exact.size(); ++i) {
      if (!is_floating(exact[i].dtype())) {
        half.push_back(exact[i]);
        continue;
      }
      const bool keep_f32 = std::find(c.f32_inputs.begin(), c.f32_inputs.end(), i) != c.f32_inputs.end();
      exact[i] = exact[i].to(DType::bf16).to(DType::f32);  // bf16 values: the same numbers on both sides
      half.push_back(keep_f32 ? exact[i] : exact[i].to(DType::bf16));
    }
    Run bf;
    {
      ScopedBackendOverride use(DeviceType::cpu, &counting);
      AutocastGuard mixed(DType::bf16);
      bf = run_case(c, half, kCPU, nullptr, true);
    }
    Run ref;
    {
      ScopedBackendOverride use(DeviceType::cpu, &reference_backend());
      ref = run_case(c, exact, kCPU, nullptr, true);
    }
    check_bf16(bf.y, ref.y);
    REQUIRE(bf.grads.size() == ref.grads.size());
    for (size_t i = 0; i < bf.grads.size(); ++i) {
      CAPTURE(i);
      REQUIRE(bf.grads[i].defined() == ref.grads[i].defined());
      if (bf.grads[i].defined()) {
        CHECK(bf.grads[i].dtype() == half[i].dtype());  // a gradient has its tensor's dtype
        check_bf16(bf.grads[i], ref.grads[i]);
      }
    }
  }
  for (std::string m : {"conv2d_forward", "conv2d_backward", "mixed_conv2d.forward", "mixed_conv2d.backward", "batch_norm_forward",
                        "batch_norm_backward", "matmul", "unary", "binary", "copy", "reduce"}) {
    CAPTURE(m);
    CHECK_MESSAGE(counting.bf16_calls[m] > 0, "bf16 kernel never exercised by the bf16 harness: ", m);
  }
}

// The CUDA run: every case in float32 (the case's tolerances) and float64 (tight), each op's
// forward and backward against the reference backend on the CPU.
// The harness reaches matmul only with alpha = 1 and beta = 0; the small-inner-dimension kernel
// also serves beta != 0 callers, so check alpha and beta against a plain loop here.
TEST_CASE("CPU matmul with a small inner dimension: alpha and beta against a plain loop") {
  Generator g(9);
  for (const int64_t K : {1, 3, 8}) {
    CAPTURE(K);
    const int64_t B = 2, M = 5, N = 700;
    const Tensor a = randn({B, M, K}, DType::f64, kCPU, g), b = randn({B, K, N}, DType::f64, kCPU, g);
    const Tensor c0 = randn({B, M, N}, DType::f64, kCPU, g), c = c0.clone();
    backend_for(kCPU.type).matmul(a.arg(), b.arg(), c.arg(), 2.0, 0.5);
    auto av = a.to_vector<double>(), bv = b.to_vector<double>(), cv = c0.to_vector<double>();
    for (int64_t i = 0; i < B; ++i)
      for (int64_t m = 0; m < M; ++m)
        for (int64_t n = 0; n < N; ++n) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += av[size_t((i * M + m) * K + k)] * bv[size_t((i * K + k) * N + n)];
          double& r = cv[size_t((i * M + m) * N + n)];
          r = 2.0 * acc + 0.5 * r;
        }
    CHECK_CLOSE(c, from_vector(cv, {B, M, N}), 1e-12, 1e-12);
  }
}

// Outputs above 8 MB are written with non-temporal stores where a row tile is 64-byte aligned;
// N = 40008 makes every other row start unaligned, so both store paths run.
TEST_CASE("CPU matmul with a small inner dimension: a large float32 output against a plain loop") {
  Generator g(10);
  const int64_t M = 64, K = 5, N = 40008;
  const Tensor a = randn({1, M, K}, DType::f32, kCPU, g), b = randn({1, K, N}, DType::f32, kCPU, g);
  const Tensor c = full({1, M, N}, std::nan(""), DType::f32);
  backend_for(kCPU.type).matmul(a.arg(), b.arg(), c.arg(), 1.0, 0.0);
  auto av = a.to(DType::f64).to_vector<double>(), bv = b.to(DType::f64).to_vector<double>();
  std::vector<double> expect(size_t(M * N), 0.0);
  for (int64_t m = 0; m < M; ++m)
    for (int64_t k = 0; k < K; ++k)
      for (int64_t n = 0; n < N; ++n) expect[size_t(m * N + n)] += av[size_t(m * K + k)] * bv[size_t(k * N + n)];
  CHECK_CLOSE(c.to(DType::f64), from_vector(expect, {1, M, N}), 1e-5, 1e-5);
}

TEST_CASE("op harness: CUDA backend matches the reference backend, forward and backward") {
  if (!backend_available(DeviceType::cuda)) {
    MESSAGE("skipped: no CUDA device (", backend_info(DeviceType::cuda), ")");
    return;
  }
  CountingBackend counting(backend_for(DeviceType::cuda));
  std::set<std::string> names;
  for (DType dtype : {DType::f32, DType::f64}) {
    const bool f32 = dtype == DType::f32;
    for (const auto& c : op_cases()) {
      CAPTURE(c.name);
      CAPTURE(dtype_name(dtype));
      auto inputs = make_inputs(c, dtype);
      Run dev;
      {
        ScopedBackendOverride use(DeviceType::cuda, &counting);
        dev = run_case(c, inputs, kCUDA, &names);
        backend_for(DeviceType::cuda).synchronize();  // surfaces a device-side error here, with the case captured
      }
      Run ref;
      {
        ScopedBackendOverride use(DeviceType::cpu, &reference_backend());
        ref = run_case(c, inputs);
      }
      const double rtol = f32 ? c.rtol : 1e-9, atol = f32 ? c.atol : 1e-11;
      CHECK_CLOSE(dev.y, ref.y, rtol, atol);
      REQUIRE(dev.grads.size() == ref.grads.size());
      for (size_t i = 0; i < dev.grads.size(); ++i) {
        CAPTURE(i);
        REQUIRE(dev.grads[i].defined() == ref.grads[i].defined());
        if (dev.grads[i].defined()) CHECK_CLOSE(dev.grads[i], ref.grads[i], rtol, atol);
      }
    }
  }
  for (const auto& m : CountingBackend::op_methods()) {
    CAPTURE(m);
    const auto dot = m.find('.');  // a custom kernel: optional
    if (dot != std::string::npos && !backend_for(DeviceType::cuda).custom_kernel(m.substr(0, dot), DType::f32)) continue;
    CHECK_MESSAGE(counting.calls[m] > 0, "CUDA backend method never exercised by the op harness: ", m);
  }
  for (auto name : kDeviceOnlyOps) {
    CAPTURE(name);
    CHECK_MESSAGE(names.count(std::string(name)) == 1, "device-only op never recorded by the CUDA run: ", name);
  }
}

TEST_CASE("op harness: float64 gradient check of every differentiable op") {
  std::set<std::string> covered;
  for (const auto& c : op_cases()) {
    if (!c.differentiable) continue;
    CAPTURE(c.name);
    auto inputs = make_inputs(c, DType::f64);
    for (auto& t : inputs)
      if (is_floating(t.dtype())) t = t.detach().contiguous().clone().set_requires_grad(true);
    collect_names(c.fn(inputs), covered);
    GradcheckOptions o;
    o.eps = c.gc_eps;
    GradcheckResult r = gradcheck(c.fn, inputs, o);
    CHECK_MESSAGE(r.ok, r.message);
  }
  for (auto name : kDifferentiableOps) {
    CAPTURE(name);
    CHECK_MESSAGE(covered.count(std::string(name)) == 1, "differentiable op without a gradient check: ", name);
  }
}

}  // namespace cherry::test
