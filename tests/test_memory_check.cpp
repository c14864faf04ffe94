// The step-memory check before training (apps/common/memory_check.h): the two-probe estimate
// against a real step's measured peak (fp32 and bf16), the probe leaves the model, the RNG and the
// gradients as they were, a batch too large for the free memory is refused before anything trains,
// and a run with the check equals one without it.
#include <cmath>
#include <filesystem>

#include "apps/common/memory_check.h"
#include "apps/common/train_loop.h"
#include "apps/train_resnet/trainer.h"
#include "autograd/autocast.h"
#include "autograd/ops.h"
#include "backends/allocator.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "models/resnet.h"
#include "tests/test_util.h"
#include "tests/tiny_runs.h"

namespace cherry {
namespace {
namespace fs = std::filesystem;

// A static ResNet-20 (batch norm buffers) on random images (the probe draws from the RNG).
class ProbeTask final : public TrainTask {
 public:
  ResNet net{ResNetConfig{"resnet20", 1, 10}};
  Module& model() override { return net; }
  int64_t steps_per_epoch() const override { return 1; }
  DataPosition data_position() const override { return {}; }
  void set_data_position(const DataPosition&) override {}
  std::optional<TrainBatch> forward_next(int64_t) override { return std::nullopt; }
  Evaluation evaluate() override { return {}; }
  std::optional<TrainBatch> forward_probe(int64_t n) override {
    return TrainBatch{cross_entropy(net.forward(randn({n, 1, 28, 28})), zeros({n}, DType::i64)), n, -1};
  }
};

// The peak a real forward and backward at `batch` allocates from an emptied cache (a warm one may
// hand out blocks up to twice the size asked for, which the caching allocator counts as in use).
double measured_step(ProbeTask& task, int64_t batch) {
  CachingAllocator& alloc = CachingAllocator::get(DeviceType::cpu);
  alloc.empty_cache();
  const size_t base = alloc.stats().in_use;
  alloc.reset_peak();
  {
    auto b = task.forward_probe(batch);
    b->loss.backward();
  }
  const double bytes = double(alloc.stats().peak_in_use - base);
  for (auto& [name, p] : task.net.named_parameters()) p.zero_grad();
  return bytes;
}

}  // namespace

TEST_CASE("memory check: two small probes predict a batch-96 step's peak to 5%, and leave buffers, RNG and grads as they were") {
  for (DType compute : {DType::f32, DType::bf16}) {
    CAPTURE(compute);
    AutocastGuard precision(compute);
    manual_seed(3);
    ProbeTask task;
    task.net.train();
    const std::map<std::string, Tensor> before = [&] {
      std::map<std::string, Tensor> m;
      for (auto& [name, b] : task.net.named_buffers()) m[name] = b.clone();
      return m;
    }();
    const auto rng = default_generator().state();
    const std::optional<StepMemory> m = probe_step_memory(task, 96);
    REQUIRE(m.has_value());
    CHECK(default_generator().state() == rng);
    for (auto& [name, b] : task.net.named_buffers()) {
      const std::string buffer = name;  // clang 14 cannot capture a structured binding
      CAPTURE(buffer);
      CHECK_CLOSE(b, before.at(buffer), 0, 0);
    }
    for (auto& [name, p] : task.net.named_parameters()) {
      const std::string param = name;
      CHECK_MESSAGE(!p.grad().defined(), param);
    }
    const double real = measured_step(task, 96);
    CAPTURE(m->fixed);
    CAPTURE(m->per_sample);
    CAPTURE(real);
    CHECK(m->per_sample > 0);
    CHECK(std::abs(m->at(96) - real) <= 0.05 * real);
  }
}

TEST_CASE("memory check: the verdict refuses more than 90% of the free memory and names the largest batch that fits") {
  const double MiB = 1024.0 * 1024.0;
  const StepMemory m{1 * MiB, 1 * MiB};
  CHECK(m.largest_batch(45 * MiB) == 44);
  CHECK(m.largest_batch(37.5 * MiB) == 36);
  CHECK(m.largest_batch(0.5 * MiB) == 0);
  CHECK_THROWS_WITH_AS(memory_verdict(m, 100, 50 * MiB, "MemAvailable", "train_resnet"),
                       doctest::Contains("--batch-size 100 needs about 101.00 MiB (1.00 MiB + 1.00 MiB per sample), more than the 45.00 MiB "
                                         "this run may use (90% of the 50.00 MiB free, limited by MemAvailable). The largest batch that fits with 25% headroom is about 36"),
                       Error);
  CHECK_THROWS_WITH_AS(memory_verdict(m, 1, 1 * MiB, "ulimit -v", "x"), doctest::Contains("Not even one sample fits"), Error);
  CHECK(memory_verdict(m, 100, 200 * MiB, "MemAvailable", "x").find("about 101.00 MiB") != std::string::npos);
  CHECK(memory_verdict(m, 100, std::nullopt, "", "x").find("free memory unknown") != std::string::npos);
}

TEST_CASE("train_resnet: a batch whose step cannot fit in memory is refused before IMP and step 1, naming the batch that fits") {
  test::TempDir tmp;
  TrainOptions o = test::tiny_resnet(tmp.file("huge"));
  o.dataset = DatasetKind::imagefolder;  // synthetic 112x112 images: about 25 MiB per sample, 1.6 TiB at 65536
  o.image_size = 112;
  o.batch_size = 65536;
  CHECK_THROWS_WITH_AS(run_train_resnet(o), doctest::Contains("a training step at --batch-size 65536 needs about"), Error);
  CHECK_THROWS_WITH_AS(run_train_resnet(o), doctest::Contains("The largest batch that fits with 25% headroom is about"), Error);
  CHECK(fs::file_size(o.run_dir + "/metrics.jsonl") == 0);
  CHECK_FALSE(fs::exists(o.run_dir + "/imp.jsonl"));
  CHECK(fs::is_empty(o.run_dir + "/checkpoints"));
}

TEST_CASE("train_resnet: the memory probe changes nothing: PAD with IMP trains to the same weights with and without it") {
  test::TempDir tmp;
  TrainOptions with = test::tiny_resnet(tmp.file("with")), without = test::tiny_resnet(tmp.file("without"));
  without.no_memory_check = true;
  run_train_resnet(with);
  run_train_resnet(without);
  const SafeTensorsFile a = SafeTensorsFile::open(with.run_dir + "/checkpoints/last.safetensors"),
                        b = SafeTensorsFile::open(without.run_dir + "/checkpoints/last.safetensors");
  REQUIRE(a.entries().size() == b.entries().size());
  for (const auto& e : a.entries()) {
    CAPTURE(e.name);
    CHECK_CLOSE(a.get(e.name), b.get(e.name), 0, 0);
  }
}

}  // namespace cherry
