// DataLoader semantics: every index once per epoch (with and without drop_last), bitwise-identical
// batches for one seed whatever the worker count or prefetch depth, new orders per epoch and seed,
// exact mid-epoch resume through state()/set_state(), and worker failures surfacing in next() as
// cherry::Error. Datasets here are in-memory and augment through the real transforms, so the
// per-sample seeding is exercised. Not here: file formats (test_datasets*.cpp).
#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "datasets/loader.h"
#include "datasets/synthetic.h"
#include "datasets/transforms.h"

using namespace cherry;

namespace {

// Fixed 8x8 RGB images per index, augmented with pad-2 crop + flip + normalisation.
class NoisyDataset : public Dataset {
 public:
  explicit NoisyDataset(int64_t n, int64_t fail_at = -1, bool std_error = false)
      : n_(n), fail_at_(fail_at), std_error_(std_error), names_{"a", "b", "c", "d", "e"} {
    transform_.kind = ImageTransform::Kind::pad_crop;
    transform_.size = 8;
    transform_.padding = 2;
    transform_.flip = true;
    transform_.mean = {0.5f, 0.4f, 0.3f};
    transform_.std = {0.2f, 0.25f, 0.3f};
    pixels_.resize(size_t(n * 192));
    std::mt19937 rng(42);
    for (auto& p : pixels_) p = uint8_t(rng() & 0xff);
  }
  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {3, 8, 8}; }
  const std::vector<std::string>& class_names() const override { return names_; }
  std::string name() const override { return "noisy"; }
  int64_t get(int64_t index, Generator& rng, float* out) const override {
    if (index == fail_at_) {
      if (std_error_) throw std::runtime_error("disk on fire");
      throw Error("NoisyDataset", cat("bad", index, ".jpg: corrupt"));
    }
    apply_transform(transform_, pixels_.data() + index * 192, 8, 8, 3, rng, out);
    return index % 5;
  }

 private:
  int64_t n_, fail_at_;
  bool std_error_;
  std::vector<std::string> names_;
  ImageTransform transform_;
  std::vector<uint8_t> pixels_;
};

struct Seen {
  uint64_t epoch;
  int64_t batch;
  std::vector<int64_t> indices, labels;
  std::vector<float> images;
  bool operator==(const Seen&) const = default;  // bitwise on the floats: no tolerance anywhere
};

Seen record(const Batch& b) {
  return {b.epoch, b.batch, b.indices, b.labels.to_vector<int64_t>(), b.images.to_vector<float>()};
}

// All batches of `epochs` epochs (the nullopt at each epoch end is consumed).
std::vector<Seen> run_epochs(DataLoader& loader, int epochs) {
  std::vector<Seen> out;
  for (int e = 0; e < epochs; ++e)
    while (auto b = loader.next()) out.push_back(record(*b));
  return out;
}

}  // namespace

TEST_CASE("loader: every index exactly once per epoch, and shapes, labels, last batch, drop_last") {
  const NoisyDataset ds(103);
  for (bool drop_last : {false, true}) {
    DataLoader loader(ds, {.batch_size = 10, .shuffle = true, .drop_last = drop_last, .seed = 3, .num_workers = 2});
    CHECK(loader.batches_per_epoch() == (drop_last ? 10 : 11));
    for (uint64_t epoch = 0; epoch < 2; ++epoch) {
      std::multiset<int64_t> seen;
      int64_t batches = 0;
      while (auto b = loader.next()) {
        CHECK(b->epoch == epoch);
        CHECK(b->batch == batches++);
        const int64_t rows = b->labels.numel();
        CHECK(b->images.shape() == Shape{rows, 3, 8, 8});
        CHECK(b->labels.dtype() == DType::i64);
        CHECK(rows == (!drop_last && b->batch == 10 ? 3 : 10));
        const auto labels = b->labels.to_vector<int64_t>();
        for (int64_t i = 0; i < rows; ++i) CHECK(labels[size_t(i)] == b->indices[size_t(i)] % 5);
        seen.insert(b->indices.begin(), b->indices.end());
      }
      CHECK(batches == loader.batches_per_epoch());
      CHECK(seen.size() == size_t(drop_last ? 100 : 103));
      CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == seen.size());  // no repeats
      CHECK(loader.state() == LoaderState{epoch + 1, 0});
    }
  }
  DataLoader ordered(ds, {.batch_size = 50, .shuffle = false, .num_workers = 1});
  auto b = ordered.next();
  for (int64_t i = 0; i < 50; ++i) CHECK(b->indices[size_t(i)] == i);
}

TEST_CASE("loader: one seed gives bitwise-identical batches, and epochs and seeds change the order") {
  const NoisyDataset ds(64);
  DataLoader a(ds, {.batch_size = 16, .seed = 5, .num_workers = 2}), b(ds, {.batch_size = 16, .seed = 5, .num_workers = 2});
  const auto ra = run_epochs(a, 2), rb = run_epochs(b, 2);
  REQUIRE(ra.size() == 8);
  CHECK(ra == rb);
  CHECK(ra[0].indices != ra[4].indices);  // epoch 1 reshuffles
  CHECK(a.epoch_order(0) != a.epoch_order(1));
  DataLoader c(ds, {.batch_size = 16, .seed = 6, .num_workers = 2});
  CHECK(run_epochs(c, 1)[0].indices != ra[0].indices);
  // The same sample gets different augmentation in different epochs.
  CHECK(DataLoader::sample_seed(5, 0, 7) != DataLoader::sample_seed(5, 1, 7));
  CHECK(DataLoader::sample_seed(5, 0, 7) != DataLoader::sample_seed(6, 0, 7));
}

TEST_CASE("loader: batches do not depend on worker count or prefetch depth") {
  const NoisyDataset ds(90);
  std::vector<Seen> reference;
  for (auto [workers, prefetch] : std::vector<std::pair<int, int>>{{0, 1}, {1, 1}, {1, 4}, {3, 2}, {3, 8}}) {
    DataLoader loader(ds, {.batch_size = 7, .seed = 11, .num_workers = workers, .prefetch_batches = prefetch});
    const auto got = run_epochs(loader, 2);
    if (reference.empty()) reference = got;
    const int w = workers, p = prefetch;  // clang 14 cannot capture a structured binding
    CHECK_MESSAGE(got == reference, "workers ", w, ", prefetch ", p);
  }
}

TEST_CASE("loader: set_state resumes mid-epoch exactly as the uninterrupted run") {
  const NoisyDataset ds(50);
  const LoaderOptions opt{.batch_size = 8, .seed = 9, .num_workers = 2};
  DataLoader full(ds, opt);
  const auto reference = run_epochs(full, 3);  // 7 batches per epoch
  REQUIRE(reference.size() == 21);

  // A fresh loader (a resumed process) starting at epoch 1, batch 4.
  DataLoader resumed(ds, opt);
  resumed.set_state({1, 4});
  std::vector<Seen> tail;
  while (auto b = resumed.next()) tail.push_back(record(*b));
  tail.push_back(record(*resumed.next()));  // first batch of epoch 2
  CHECK(std::equal(tail.begin(), tail.end(), reference.begin() + 11));

  // Rewinding a running loader with batches in flight, and the state it reports.
  DataLoader live(ds, opt);
  for (int i = 0; i < 3; ++i) live.next();
  const LoaderState saved = live.state();
  CHECK(saved == LoaderState{0, 3});
  const auto fourth = record(*live.next());
  live.next();
  live.set_state(saved);
  CHECK(record(*live.next()) == fourth);
  CHECK(fourth == reference[3]);

  // At the end position the next call ends the epoch; the one after starts the next epoch.
  live.set_state({0, 7});
  CHECK_FALSE(live.next().has_value());
  CHECK(record(*live.next()) == reference[7]);
  CHECK_THROWS_AS(live.set_state({0, 8}), Error);
}

TEST_CASE("loader: a failing sample surfaces in next() as cherry::Error, then the loader moves on") {
  for (int workers : {0, 2}) {
    for (bool std_error : {false, true}) {
      const NoisyDataset ds(40, 13, std_error);
      DataLoader loader(ds, {.batch_size = 4, .shuffle = false, .num_workers = workers});
      for (int i = 0; i < 3; ++i) CHECK(loader.next().has_value());
      std::string msg;
      try {
        loader.next();  // indices 12..15
      } catch (const Error& e) {
        msg = e.what();
      }
      CHECK_MESSAGE(msg.find(std_error ? "disk on fire" : "bad13.jpg") != std::string::npos, "got '", msg, "'");
      CHECK(loader.next()->indices.front() == 16);
    }
  }
  // Destroying a loader whose workers are blocked on a full queue returns promptly.
  const SyntheticDataset synth({.size = 1000, .shape = {3, 4, 4}});
  {
    DataLoader loader(synth, {.batch_size = 2, .num_workers = 3, .prefetch_batches = 2});
    loader.next();
  }
  // Empty epochs (dataset smaller than a dropped batch) just end.
  DataLoader empty_loader(synth, {.batch_size = 5000, .drop_last = true});
  CHECK(empty_loader.batches_per_epoch() == 0);
  CHECK_FALSE(empty_loader.next().has_value());
}

TEST_CASE("synthetic: the same sample for an index in every epoch and run, labels in range") {
  const SyntheticDataset ds({.size = 10, .shape = {2, 3, 3}, .num_classes = 4, .seed = 1});
  std::vector<float> a(18), b(18);
  Generator g1(1), g2(2);
  CHECK(ds.get(3, g1, a.data()) == ds.get(3, g2, b.data()));
  CHECK(a == b);
  double sum = 0;
  for (int64_t i = 0; i < 10; ++i) {
    CHECK(ds.get(i, g1, a.data()) < 4);
    for (float v : a) sum += v;
  }
  CHECK(std::abs(sum / 180) < 0.3);
}
