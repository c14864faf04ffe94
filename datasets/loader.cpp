// DataLoader internals. Batches are numbered globally (epoch * batches_per_epoch + batch), so
// workers run straight across epoch boundaries; a worker claims the lowest unclaimed number while it
// is within prefetch_batches of the consumer, builds it alone and files it under its number; the
// consumer takes numbers strictly in order. Claim order differs between runs, content never does.
#include "datasets/loader.h"

#include <algorithm>

#include "core/rng.h"

namespace cherry {

namespace {
constexpr const char* kOp = "DataLoader";

uint64_t splitmix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
// A hash rather than seed + epoch: with a sum, (seed 1, epoch 0) and (seed 0, epoch 1) would share
// an order, and runs with neighbouring seeds would replay each other's epochs shifted by one.
uint64_t combine(uint64_t a, uint64_t b) { return splitmix(a ^ splitmix(b)); }
constexpr uint64_t kOrderTag = 0x6f72646572ULL, kSampleTag = 0x73616d706c65ULL;  // "order", "sample"
}  // namespace

uint64_t DataLoader::sample_seed(uint64_t seed, uint64_t epoch, int64_t index) {
  return combine(combine(combine(kSampleTag, seed), epoch), uint64_t(index));
}

DataLoader::DataLoader(const Dataset& dataset, LoaderOptions options) : dataset_(dataset), options_(options) {
  CHERRY_CHECK(options_.batch_size > 0, kOp, "batch_size must be positive, got ", options_.batch_size);
  CHERRY_CHECK(options_.num_workers >= 0 && options_.num_workers <= 64, kOp, "num_workers ", options_.num_workers,
               " (expected 0..64)");
  CHERRY_CHECK(options_.prefetch_batches >= 1, kOp, "prefetch_batches must be at least 1, got ", options_.prefetch_batches);
  sample_shape_ = dataset_.sample_shape();
  CHERRY_CHECK(sample_shape_.size() == 3, kOp, dataset_.name(), ": sample shape ", shape_str(sample_shape_),
               " is not (C, H, W)");
  const int64_t n = dataset_.size(), b = options_.batch_size;
  batches_per_epoch_ = options_.drop_last ? n / b : (n + b - 1) / b;
}

DataLoader::~DataLoader() { stop_workers(); }

std::vector<int64_t> DataLoader::epoch_order(uint64_t epoch) const {
  const int64_t n = dataset_.size();
  if (!options_.shuffle) {
    std::vector<int64_t> v(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
    return v;
  }
  // Fisher-Yates exactly as core's randperm(), written out so workers never touch tensor ops.
  Generator g(combine(combine(kOrderTag, options_.seed), epoch));
  std::vector<int64_t> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[size_t(i)] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[size_t(i)], v[size_t(g.below(uint64_t(i + 1)))]);
  return v;
}

Batch DataLoader::build(int64_t g, std::vector<int64_t>& order, uint64_t& order_epoch) const {
  Batch out;
  out.epoch = uint64_t(g / batches_per_epoch_);
  out.batch = g % batches_per_epoch_;
  if (order_epoch != out.epoch) {
    order = epoch_order(out.epoch);
    order_epoch = out.epoch;
  }
  const int64_t start = out.batch * options_.batch_size;
  const int64_t count = std::min<int64_t>(options_.batch_size, int64_t(order.size()) - start);
  const int64_t per_sample = numel_of(sample_shape_);
  const int64_t classes = dataset_.num_classes();
  Shape shape{count};
  shape.insert(shape.end(), sample_shape_.begin(), sample_shape_.end());
  out.images = empty(shape, DType::f32);
  out.labels = empty({count}, DType::i64);
  out.indices.assign(order.begin() + start, order.begin() + start + count);
  float* images = out.images.data_ptr<float>();
  int64_t* labels = out.labels.data_ptr<int64_t>();
  for (int64_t i = 0; i < count; ++i) {
    const int64_t index = out.indices[size_t(i)];
    Generator rng(sample_seed(options_.seed, out.epoch, index));
    const int64_t label = dataset_.get(index, rng, images + i * per_sample);
    CHERRY_CHECK(label >= 0 && label < classes, kOp, dataset_.name(), ": sample ", index, " has label ", label,
                 ", outside 0..", classes - 1);
    labels[i] = label;
  }
  return out;
}

DataLoader::Slot DataLoader::build_slot(int64_t g, std::vector<int64_t>& order, uint64_t& order_epoch) const {
  Slot slot;
  try {
    slot.batch = build(g, order, order_epoch);
  } catch (const Error&) {
    slot.error = std::current_exception();
  } catch (const std::exception& e) {
    // Anything else (bad_alloc, a filesystem error) still reaches the caller as cherry::Error.
    slot.error = std::make_exception_ptr(Error(kOp, cat(dataset_.name(), ": building batch ", g % batches_per_epoch_,
                                                        " of epoch ", g / batches_per_epoch_, " failed: ", e.what())));
  } catch (...) {
    slot.error = std::make_exception_ptr(Error(kOp, cat(dataset_.name(), ": unknown exception while building a batch")));
  }
  return slot;
}

void DataLoader::worker_loop() {
  std::vector<int64_t> order;
  uint64_t order_epoch = UINT64_MAX;
  for (;;) {
    int64_t g;
    {
      std::unique_lock<std::mutex> lock(mu_);
      space_cv_.wait(lock, [&] { return stop_ || next_claim_ < wanted_ + options_.prefetch_batches; });
      if (stop_) return;
      g = next_claim_++;
    }
    Slot slot = build_slot(g, order, order_epoch);
    {
      std::lock_guard<std::mutex> lock(mu_);
      ready_.emplace(g, std::move(slot));
    }
    ready_cv_.notify_all();
  }
}

void DataLoader::start_workers(int64_t first) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = false;
    ready_.clear();
    next_claim_ = wanted_ = first;
  }
  for (int i = 0; i < options_.num_workers; ++i) workers_.emplace_back([this] { worker_loop(); });
}

void DataLoader::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  space_cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  ready_.clear();
}

std::optional<Batch> DataLoader::next() {
  if (batch_ >= batches_per_epoch_) {
    ++epoch_;
    batch_ = 0;
    return std::nullopt;
  }
  const int64_t g = int64_t(epoch_) * batches_per_epoch_ + batch_;
  ++batch_;
  Slot slot;
  if (options_.num_workers == 0) {
    slot = build_slot(g, order_, order_epoch_);
  } else {
    if (workers_.empty()) start_workers(g);
    std::unique_lock<std::mutex> lock(mu_);
    CHERRY_CHECK(wanted_ == g, kOp, "internal: consumer at batch ", g, " but workers serve ", wanted_);
    ready_cv_.wait(lock, [&] { return ready_.count(g) > 0; });
    auto it = ready_.find(g);
    slot = std::move(it->second);
    ready_.erase(it);
    wanted_ = g + 1;
    lock.unlock();
    space_cv_.notify_all();
  }
  if (slot.error) std::rethrow_exception(slot.error);
  return std::move(slot.batch);
}

void DataLoader::set_state(const LoaderState& state) {
  CHERRY_CHECK(state.batch >= 0 && state.batch <= batches_per_epoch_, kOp, "batch ", state.batch,
               " is outside 0..", batches_per_epoch_, " (batches per epoch of ", dataset_.name(), ")");
  stop_workers();  // prefetched batches belong to the old position; restart lazily at the new one
  epoch_ = state.epoch;
  batch_ = state.batch;
}

}  // namespace cherry
