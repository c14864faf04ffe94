// CUDA-only checks beyond the op harness (test_ops.cpp): shapes large enough to take every kernel
// path (split reductions, block-per-row row ops, conv chunk/group batching, the DY-Conv case of one
// image with many groups, sorted index_add/scatter_add with repeats) against the CPU backend;
// bitwise determinism; optimizer steps equal to the CPU's bit for bit (so to PyTorch's); clipping;
// deferred bad-index errors; kernel temporaries served by the caching allocator; train_resnet and
// finetune_bert on the device giving the CPU's losses for their first steps. Every case is
// reported as skipped (ctest: "skipped: ") where no CUDA device exists.
#include <cstring>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "apps/common/choices.h"
#include "apps/finetune_bert/trainer.h"
#include "apps/train_resnet/trainer.h"
#include "backends/allocator.h"
#include "core/rng.h"
#include "optim/adamw.h"
#include "optim/clip_grad.h"
#include "optim/sgd.h"
#include "tests/test_util.h"

namespace cherry {
namespace {

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

bool skip_without_cuda() {
  if (backend_available(DeviceType::cuda)) return false;
  MESSAGE("skipped: no CUDA device (", backend_info(DeviceType::cuda), ")");
  return true;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  const Tensor x = a.to(kCPU).contiguous(), y = b.to(kCPU).contiguous();
  return x.shape() == y.shape() && x.dtype() == y.dtype() &&
         std::memcmp(x.raw_data(), y.raw_data(), size_t(x.numel()) * dtype_size(x.dtype())) == 0;
}

struct Result {
  Tensor y;
  std::vector<Tensor> grads;
};

// fn on `device` (inputs moved there; floating ones require grad), then backward of sum(y * R).
Result run_on(const Fn& fn, const std::vector<Tensor>& inputs, Device device, bool backward = true) {
  std::vector<Tensor> xs;
  for (const auto& t : inputs) {
    Tensor x = t.to(device).detach();
    if (backward && is_floating(x.dtype())) x.set_requires_grad(true);
    xs.push_back(x);
  }
  Result r{fn(xs), {}};
  if (backward && r.y.requires_grad()) {
    Generator g(5);
    sum(r.y * randn(r.y.shape(), r.y.dtype(), r.y.device(), g)).backward();
    for (const auto& x : xs) r.grads.push_back(x.requires_grad() && x.grad().defined() ? x.grad().to(kCPU) : Tensor());
  }
  r.y = r.y.detach().to(kCPU);
  return r;
}

// fn on CUDA against fn on the CPU backend: output and every input gradient.
void check_matches_cpu(const char* name, const Fn& fn, const std::vector<Tensor>& inputs, double rtol = 1e-4, double atol = 1e-4,
                       bool backward = true) {
  CAPTURE(name);
  const Result dev = run_on(fn, inputs, kCUDA, backward), cpu = run_on(fn, inputs, kCPU, backward);
  CHECK_CLOSE(dev.y, cpu.y, rtol, atol);
  REQUIRE(dev.grads.size() == cpu.grads.size());
  for (size_t i = 0; i < dev.grads.size(); ++i) {
    CAPTURE(i);
    REQUIRE(dev.grads[i].defined() == cpu.grads[i].defined());
    if (dev.grads[i].defined()) CHECK_CLOSE(dev.grads[i], cpu.grads[i], rtol, atol);
  }
}

Conv2dParams conv(int64_t s, int64_t p, int64_t d, int64_t g) {
  Conv2dParams c;
  c.stride[0] = c.stride[1] = s, c.padding[0] = c.padding[1] = p, c.dilation[0] = c.dilation[1] = d, c.groups = g;
  return c;
}
Pool2dParams pool(int64_t k, int64_t s, int64_t p, bool include_pad = true) {
  Pool2dParams q;
  q.kernel[0] = q.kernel[1] = k, q.stride[0] = q.stride[1] = s, q.padding[0] = q.padding[1] = p, q.count_include_pad = include_pad;
  return q;
}

}  // namespace

TEST_CASE("CUDA: reductions take every kernel path and match the CPU") {
  if (skip_without_cuda()) return;
  Generator g(1);
  const Tensor x = randn({64, 300, 50}, DType::f32, kCPU, g);
  check_matches_cpu("sum middle dim (columns, split)", [](auto& v) { return sum(v[0], {1}); }, {x});
  check_matches_cpu("sum last dim (warp rows)", [](auto& v) { return sum(v[0], {2}); }, {x});
  check_matches_cpu("mean first and last", [](auto& v) { return mean(v[0], {0, 2}, true); }, {x});
  check_matches_cpu("sum all (block rows, split)", [](auto& v) { return sum(v[0]); }, {x});
  check_matches_cpu("amax two dims", [](auto& v) { return amax(v[0], {1, 2}); }, {x});
  check_matches_cpu("amin all", [](auto& v) { return amin(v[0]); }, {x});
  check_matches_cpu("sum of a transposed view", [](auto& v) { return sum(v[0].transpose(0, 2), {0}); }, {x});
  check_matches_cpu("long rows (block, split)", [](auto& v) { return sum(v[0], {1}); }, {randn({2, 100000}, DType::f32, kCPU, g)});
  check_matches_cpu("bias-gradient shape (columns, split)", [](auto& v) { return mean(v[0], {0}); }, {randn({10000, 7}, DType::f32, kCPU, g)});
  const Tensor i = randint({500, 40}, -1000, 1000, kCPU, g);
  check_matches_cpu("i64 sum", [](auto& v) { return sum(v[0], {0}); }, {i}, 0, 0, false);
  check_matches_cpu("i64 max", [](auto& v) { return amax(v[0], {1}); }, {i}, 0, 0, false);
}

TEST_CASE("CUDA: reductions, softmax and norms give the same bits on every run") {
  if (skip_without_cuda()) return;
  Generator g(2);
  const Tensor x = randn({300, 4000}, DType::f32, kCUDA, g);
  CHECK(same_bits(sum(x), sum(x)));
  CHECK(same_bits(sum(x, {0}), sum(x, {0})));
  CHECK(same_bits(softmax(x, -1), softmax(x, -1)));
  const Tensor x4 = x.reshape({30, 40, 25, 40});
  CHECK(same_bits(batch_norm(x4, {}, {}, {}, {}, true), batch_norm(x4, {}, {}, {}, {}, true)));
}

TEST_CASE("CUDA: row ops (argmax, topk, softmax, log-softmax) on long rows and ties match the CPU") {
  if (skip_without_cuda()) return;
  Generator g(3);
  const Tensor x = randn({7, 5000}, DType::f32, kCPU, g);
  check_matches_cpu("softmax, block per row", [](auto& v) { return softmax(v[0], -1); }, {x});
  check_matches_cpu("log_softmax, block per row", [](auto& v) { return log_softmax(v[0], -1); }, {x});
  check_matches_cpu("softmax, warp per row", [](auto& v) { return softmax(v[0], -1); }, {randn({333, 100}, DType::f32, kCPU, g)});
  check_matches_cpu("argmax, block per row", [](auto& v) { return argmax(v[0], 1); }, {x}, 0, 0, false);
  // Integer-valued floats: many ties, which must resolve to the lower index as on the CPU.
  const Tensor ties = randint({50, 3000}, 0, 7, kCPU, g).to(DType::f32), small = randint({400, 9}, 0, 3, kCPU, g).to(DType::f32);
  check_matches_cpu("argmax with ties", [](auto& v) { return argmax(v[0], 1); }, {ties}, 0, 0, false);
  for (bool largest : {true, false}) {
    CAPTURE(largest);
    check_matches_cpu("topk long rows", [largest](auto& v) { return topk(v[0], 5, 1, largest).first; }, {x});
    check_matches_cpu("topk indices with ties", [largest](auto& v) { return topk(v[0], 6, 1, largest).second; }, {ties}, 0, 0, false);
    check_matches_cpu("topk short rows with ties", [largest](auto& v) { return topk(v[0], 3, 1, largest).second; }, {small}, 0, 0, false);
  }
}

TEST_CASE("CUDA: convolutions in every batching form match the CPU") {
  if (skip_without_cuda()) return;
  Generator g(4);
  struct Case {
    const char* name;
    Shape x, w;
    Conv2dParams p;
    bool bias;
  };
  const std::vector<Case> cases = {
      {"3x3 pad 1, bias (images batched)", {6, 8, 12, 11}, {16, 8, 3, 3}, conv(1, 1, 1, 1), true},
      {"groups 2, more images than groups", {5, 6, 9, 9}, {4, 3, 3, 3}, conv(2, 2, 2, 2), false},
      {"DY-Conv: one image, groups = B*g", {1, 32, 8, 8}, {64, 4, 3, 3}, conv(1, 1, 1, 8), true},
      {"depthwise", {3, 12, 10, 10}, {12, 1, 3, 3}, conv(1, 1, 1, 12), true},
      {"1x1 stride 1 (direct), batch", {4, 10, 7, 6}, {5, 10, 1, 1}, conv(1, 0, 1, 1), true},
      {"1x1 stride 1 (direct), one image", {1, 10, 7, 6}, {5, 10, 1, 1}, conv(1, 0, 1, 1), false},
      {"1x1 stride 2 (skips the last row)", {2, 4, 7, 7}, {6, 4, 1, 1}, conv(2, 0, 1, 1), false},
      {"5x5 stride 3 dilation 2", {2, 3, 17, 19}, {4, 3, 5, 5}, conv(3, 2, 2, 1), true},
  };
  for (const auto& c : cases) {
    const Conv2dParams p = c.p;
    std::vector<Tensor> in;  // built by push_back: GCC 12 warns (-Warray-bounds, wrongly) on an init-list + push_back
    in.push_back(randn(c.x, DType::f32, kCPU, g));
    in.push_back(randn(c.w, DType::f32, kCPU, g));
    if (c.bias) in.push_back(randn({c.w[0]}, DType::f32, kCPU, g));
    check_matches_cpu(c.name, [p](auto& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), p); }, in, 1e-4, 1e-4);
    // float64: the CPU's im2col path, to a tight tolerance
    std::vector<Tensor> in64;
    for (auto& t : in) in64.push_back(t.to(DType::f64));
    check_matches_cpu(c.name, [p](auto& v) { return conv2d(v[0], v[1], v.size() > 2 ? v[2] : Tensor(), p); }, in64, 1e-10, 1e-10);
  }
}

TEST_CASE("CUDA: pooling and normalisation on larger shapes match the CPU") {
  if (skip_without_cuda()) return;
  Generator g(5);
  const Tensor img = randn({4, 6, 15, 15}, DType::f32, kCPU, g);
  check_matches_cpu("max_pool k3 s2 p1 (overlapping windows)", [](auto& v) { return max_pool2d(v[0], pool(3, 2, 1)); }, {img});
  check_matches_cpu("avg_pool k3 s2 p1", [](auto& v) { return avg_pool2d(v[0], pool(3, 2, 1)); }, {img});
  check_matches_cpu("avg_pool exclude pad", [](auto& v) { return avg_pool2d(v[0], pool(3, 1, 1, false)); }, {img});
  // 64*32*32 = 65536 values per channel: the split statistics path.
  const Tensor bn_x = randn({64, 8, 32, 32}, DType::f32, kCPU, g), bn_w = uniform({8}, 0.5, 2.0, DType::f32, kCPU, g),
               bn_b = randn({8}, DType::f32, kCPU, g);
  check_matches_cpu("batch_norm train, split stats", [](auto& v) { return batch_norm(v[0], v[1], v[2], {}, {}, true, 0.1, 1e-5); },
                    {bn_x, bn_w, bn_b});
  // Running statistics update on the device equals the CPU's.
  Tensor rm_cpu = zeros({8}), rv_cpu = ones({8}), rm_dev = zeros({8}, DType::f32, kCUDA), rv_dev = ones({8}, DType::f32, kCUDA);
  {
    NoGradGuard ng;
    batch_norm(bn_x, bn_w, bn_b, rm_cpu, rv_cpu, true, 0.1, 1e-5);
    batch_norm(bn_x.to(kCUDA), bn_w.to(kCUDA), bn_b.to(kCUDA), rm_dev, rv_dev, true, 0.1, 1e-5);
  }
  CHECK_CLOSE(rm_dev.to(kCPU), rm_cpu, 1e-5, 1e-6);
  CHECK_CLOSE(rv_dev.to(kCPU), rv_cpu, 1e-5, 1e-6);
  check_matches_cpu("batch_norm eval", [](auto& v) { return batch_norm(v[0], v[1], v[2], v[3], v[4], false, 0.1, 1e-5); },
                    {bn_x, bn_w, bn_b, randn({8}, DType::f32, kCPU, g), uniform({8}, 0.5, 2.0, DType::f32, kCPU, g)});
  check_matches_cpu("layer_norm, block per row", [](auto& v) { return layer_norm(v[0], v[1], v[2], 1e-5); },
                    {randn({40, 2000}, DType::f32, kCPU, g), uniform({2000}, 0.5, 2.0, DType::f32, kCPU, g), randn({2000}, DType::f32, kCPU, g)});
  check_matches_cpu("layer_norm, warp per row, split parameter grads", [](auto& v) { return layer_norm(v[0], v[1], v[2], 1e-12); },
                    {randn({300, 384}, DType::f32, kCPU, g), uniform({384}, 0.5, 2.0, DType::f32, kCPU, g), randn({384}, DType::f32, kCPU, g)});
}

TEST_CASE("CUDA: indexing with repeated indices matches the CPU bit for bit") {
  if (skip_without_cuda()) return;
  Generator g(6);
  // 5000 indices into 37 rows: long runs of repeats in index_add (embedding's backward).
  const Tensor table = randn({37, 24}, DType::f32, kCPU, g), ids = randint({5000}, 0, 37, kCPU, g), src = randn({5000, 24}, DType::f32, kCPU, g);
  const Result a = run_on([](auto& v) { return index_add(v[0], 0, v[1], v[2]); }, {table, ids, src}, kCUDA);
  const Result b = run_on([](auto& v) { return index_add(v[0], 0, v[1], v[2]); }, {table, ids, src}, kCPU);
  CHECK(same_bits(a.y, b.y));  // the CPU's order of additions, so the same bits
  check_matches_cpu("index_select", [](auto& v) { return index_select(v[0], 0, v[1]); }, {table, ids});
  check_matches_cpu("index_add on a middle dim", [](auto& v) { return index_add(v[0], 1, v[1], v[2]); },
                    {randn({3, 37, 5}, DType::f32, kCPU, g), randint({400}, 0, 37, kCPU, g), randn({3, 400, 5}, DType::f32, kCPU, g)});
  const Tensor out = randn({30, 50}, DType::f32, kCPU, g), sidx = randint({30, 400}, 0, 50, kCPU, g), ssrc = randn({30, 400}, DType::f32, kCPU, g);
  const Result c = run_on([](auto& v) { return scatter_add(v[0], 1, v[1], v[2]); }, {out, sidx, ssrc}, kCUDA);
  const Result d = run_on([](auto& v) { return scatter_add(v[0], 1, v[1], v[2]); }, {out, sidx, ssrc}, kCPU);
  CHECK(same_bits(c.y, d.y));
  check_matches_cpu("scatter_add dim 0", [](auto& v) { return scatter_add(v[0], 0, v[1], v[2]); },
                    {randn({20, 6}, DType::f32, kCPU, g), randint({300, 6}, 0, 20, kCPU, g), randn({300, 6}, DType::f32, kCPU, g)});
  check_matches_cpu("gather", [](auto& v) { return gather(v[0], 1, v[1]); }, {out, sidx});
  check_matches_cpu("i64 index_add", [](auto& v) { return index_add(v[0], 0, v[1], v[2]); },
                    {randint({9, 4}, -5, 5, kCPU, g), randint({50}, 0, 9, kCPU, g), randint({50, 4}, -5, 5, kCPU, g)}, 0, 0, false);
  check_matches_cpu("where with broadcasting", [](auto& v) { return where(v[0], v[1], v[2]); },
                    {bernoulli({30, 1, 40}, 0.5, DType::f32, kCPU, g).to(DType::boolean), randn({30, 20, 40}, DType::f32, kCPU, g),
                     randn({40}, DType::f32, kCPU, g)});
}

TEST_CASE("CUDA: a bad index is reported, naming the op, at the next synchronisation") {
  if (skip_without_cuda()) return;
  const Tensor x = zeros({4, 3}, DType::f32, kCUDA), idx = from_vector<int64_t>({1, 7}, {2}, kCUDA);
  Tensor y = index_select(x, 0, idx);  // queued: a kernel cannot throw
  CHECK_THROWS_WITH_AS(y.to(kCPU), doctest::Contains("index_select"), Error);
  CHECK(index_select(x, 0, from_vector<int64_t>({3, 0}, {2}, kCUDA)).to(kCPU).numel() == 6);  // the slot was cleared
  CHECK_THROWS_AS(scatter_add(x, 1, from_vector<int64_t>({0, 1, 2, -1, 0, 0, 0, 0, 0, 0, 0, 0}, {4, 3}, kCUDA), ones({4, 3}, DType::f32, kCUDA))
                      .to(kCPU),
                  Error);
}

TEST_CASE("CUDA: SGD and AdamW steps on device parameters equal the CPU's bit for bit") {
  if (skip_without_cuda()) return;
  Generator g(7);
  const Tensor w0 = randn({64, 33}, DType::f32, kCPU, g), b0 = randn({33}, DType::f32, kCPU, g);
  std::vector<Tensor> grads;
  for (int k = 0; k < 4; ++k) grads.push_back(randn({64, 33}, DType::f32, kCPU, g)), grads.push_back(randn({33}, DType::f32, kCPU, g));
  auto run = [&](Device d, bool adamw) {
    NamedParams params = {{"w", w0.to(d).clone().set_requires_grad(true)}, {"b", b0.to(d).clone().set_requires_grad(true)}};
    std::unique_ptr<Optimizer> opt;
    if (adamw)
      opt = std::make_unique<AdamW>(params, AdamWOptions{.lr = 0.01}, 0.01);
    else
      opt = std::make_unique<SGD>(params, SgdOptions{.lr = 0.1, .momentum = 0.9, .nesterov = true}, 5e-4);
    for (int k = 0; k < 4; ++k) {
      params[0].second.set_grad(grads[size_t(2 * k)].to(d));
      params[1].second.set_grad(grads[size_t(2 * k + 1)].to(d));
      opt->step();
    }
    std::vector<Tensor> out = {params[0].second.detach(), params[1].second.detach()};
    for (const auto& [k, t] : opt->state_tensors()) out.push_back(t);
    return out;
  };
  for (bool adamw : {false, true}) {
    CAPTURE(adamw);
    const auto dev = run(kCUDA, adamw), cpu = run(kCPU, adamw);
    REQUIRE(dev.size() == cpu.size());
    for (size_t i = 0; i < dev.size(); ++i) {
      CAPTURE(i);
      CHECK(same_bits(dev[i], cpu[i]));
    }
  }
}

TEST_CASE("CUDA: gradient norm and clipping on the device agree with the CPU") {
  if (skip_without_cuda()) return;
  Generator g(8);
  const Tensor g1 = randn({100, 30}, DType::f32, kCPU, g) * 3.0, g2 = randn({30}, DType::f32, kCPU, g);
  auto params = [&](Device d) {
    Tensor a = zeros({100, 30}, DType::f32, d).set_requires_grad(true), b = zeros({30}, DType::f32, d).set_requires_grad(true);
    a.set_grad(g1.to(d));
    b.set_grad(g2.to(d));
    return std::vector<Tensor>{a, b};
  };
  auto dev = params(kCUDA), cpu = params(kCPU);
  CHECK(grad_norm(dev) == doctest::Approx(grad_norm(cpu)).epsilon(1e-12));
  CHECK(clip_grad_norm(dev, 1.0) == doctest::Approx(clip_grad_norm(cpu, 1.0)).epsilon(1e-12));
  for (size_t i = 0; i < 2; ++i) CHECK_CLOSE(dev[i].grad().to(kCPU), cpu[i].grad(), 1e-6, 1e-7);
}

TEST_CASE("CUDA: kernel temporaries come from the caching allocator") {
  if (skip_without_cuda()) return;
  Generator g(9);
  const Tensor x = randn({8, 16, 16, 16}, DType::f32, kCUDA, g).set_requires_grad(true), w = randn({16, 16, 3, 3}, DType::f32, kCUDA, g);
  auto step = [&] {
    Tensor y = conv2d(x, w, {}, conv(1, 1, 1, 1));
    sum(batch_norm(y, {}, {}, {}, {}, true) * y).backward();
    backend_for(DeviceType::cuda).synchronize();
  };
  step();
  step();
  const size_t before = CachingAllocator::get(DeviceType::cuda).stats().raw_allocations;
  for (int i = 0; i < 3; ++i) step();
  CHECK(CachingAllocator::get(DeviceType::cuda).stats().raw_allocations == before);  // every block reused
}

TEST_CASE("CUDA: train_resnet --device cuda gives the CPU's losses for the first steps (static, dynamic, PAD)") {
  if (skip_without_cuda()) return;
  for (ConvKind conv_kind : {ConvKind::static_conv, ConvKind::dynamic, ConvKind::pad}) {
    CAPTURE(to_string(conv_kind));
    auto losses = [&](DeviceType device) {
      test::TempDir tmp;
      TrainOptions o;
      o.synthetic = true, o.dataset = DatasetKind::cifar10, o.batch_size = 16, o.max_train_samples = 48, o.max_eval_samples = 16, o.epochs = 1;
      o.run_dir = tmp.file("run"), o.overwrite = true, o.workers = 1, o.log_every = 1, o.conv = conv_kind, o.device = device;
      o.imp.batches = 1, o.imp.iters = 1;
      run_train_resnet(o);
      std::vector<double> out;
      std::ifstream m(o.run_dir + "/metrics.jsonl");
      for (std::string line; std::getline(m, line);) out.push_back(nlohmann::json::parse(line).at("loss").get<double>());
      return out;
    };
    const auto dev = losses(DeviceType::cuda), cpu = losses(DeviceType::cpu);
    REQUIRE(dev.size() == 3);
    REQUIRE(cpu.size() == 3);
    CHECK(dev[0] == doctest::Approx(cpu[0]).epsilon(1e-3));  // same weights and batch (PAD: IMP scored on each device)
    for (size_t i = 1; i < 3; ++i) CHECK(dev[i] == doctest::Approx(cpu[i]).epsilon(1e-2));
  }
}

TEST_CASE("CUDA: finetune_bert --device cuda gives the CPU's losses for the first steps (dense, MoE, PAD-MoE)") {
  if (skip_without_cuda()) return;
  for (FfnKind ffn : {FfnKind::dense, FfnKind::moe, FfnKind::pad}) {
    CAPTURE(to_string(ffn));
    auto losses = [&](DeviceType device) {
      test::TempDir tmp;
      FinetuneOptions o;
      o.model = std::string(CHERRY_FIXTURES_DIR) + "/bert_tiny";
      o.synthetic = true, o.max_seq_length = 16, o.batch_size = 8, o.max_train_samples = 32, o.max_eval_samples = 16, o.epochs = 1;
      o.lr = 1e-3, o.run_dir = tmp.file("run"), o.overwrite = true, o.log_every = 1, o.ffn = ffn, o.device = device;
      o.imp.batches = 1, o.imp.iters = 1;
      run_finetune_bert(o);
      std::vector<double> out;
      std::ifstream m(o.run_dir + "/metrics.jsonl");
      for (std::string line; std::getline(m, line);) out.push_back(nlohmann::json::parse(line).at("loss").get<double>());
      return out;
    };
    const auto dev = losses(DeviceType::cuda), cpu = losses(DeviceType::cpu);
    REQUIRE(dev.size() == 4);
    REQUIRE(cpu.size() == 4);
    CHECK(dev[0] == doctest::Approx(cpu[0]).epsilon(1e-4));  // same weights, batch and dropout masks (drawn on the host)
    for (size_t i = 1; i < 4; ++i) CHECK(dev[i] == doctest::Approx(cpu[i]).epsilon(1e-2));
  }
}

}  // namespace cherry
