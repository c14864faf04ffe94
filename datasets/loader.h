// DataLoader: shuffled batches of a Dataset with background prefetch, reproducible to the bit. The
// epoch's order is a permutation drawn from (seed, epoch); every sample's augmentation uses its own
// generator seeded from (seed, epoch, sample index); so a batch depends on nothing else - not the
// number of workers, not thread timing, not whether the run was resumed. state()/set_state() save
// and restore the position (epoch, batches consumed) for exact mid-epoch resume. Workers are plain
// std::threads (never OpenMP: they run beside the compute pool). Not here: per-dataset decoding.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "core/tensor.h"
#include "datasets/dataset.h"

namespace cherry {

struct LoaderOptions {
  int64_t batch_size = 128;
  bool shuffle = true;
  bool drop_last = false;     // drop a last batch smaller than batch_size
  uint64_t seed = 0;
  int num_workers = 2;        // 0 = build each batch inside next(), on the caller's thread
  int prefetch_batches = 4;   // batches built (or being built) ahead of the consumer
};

struct Batch {
  Tensor images;                 // f32 [B, C, H, W]
  Tensor labels;                 // i64 [B]
  std::vector<int64_t> indices;  // dataset index of each row
  uint64_t epoch = 0;
  int64_t batch = 0;             // position within the epoch
};

struct LoaderState {
  uint64_t epoch = 0;
  int64_t batch = 0;  // batches of `epoch` already returned by next()
  bool operator==(const LoaderState&) const = default;
};

class DataLoader {
 public:
  // `dataset` must outlive the loader (workers read it until the destructor joins them).
  DataLoader(const Dataset& dataset, LoaderOptions options);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch of the current epoch, or nullopt once when the epoch is over (the state then
  // moves to the next epoch, so the following call starts it). A failure while building the batch
  // (corrupt file, ...) is rethrown here as cherry::Error; the position has moved past that batch.
  std::optional<Batch> next();

  LoaderState state() const { return {epoch_, batch_}; }
  void set_state(const LoaderState& state);  // 0 <= batch <= batches_per_epoch()
  int64_t batches_per_epoch() const { return batches_per_epoch_; }
  const LoaderOptions& options() const { return options_; }
  const Dataset& dataset() const { return dataset_; }

  // The dataset indices in the order epoch `epoch` visits them.
  std::vector<int64_t> epoch_order(uint64_t epoch) const;
  // Seed of the generator that augments sample `index` in `epoch`.
  static uint64_t sample_seed(uint64_t seed, uint64_t epoch, int64_t index);

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  // Builds global batch g (= epoch * batches_per_epoch + batch); `order` caches one epoch's order.
  Batch build(int64_t g, std::vector<int64_t>& order, uint64_t& order_epoch) const;
  Slot build_slot(int64_t g, std::vector<int64_t>& order, uint64_t& order_epoch) const;  // never throws
  void worker_loop();
  void start_workers(int64_t first);
  void stop_workers();

  const Dataset& dataset_;
  LoaderOptions options_;
  Shape sample_shape_;
  int64_t batches_per_epoch_ = 0;
  uint64_t epoch_ = 0;
  int64_t batch_ = 0;

  // Caller-thread cache for num_workers == 0.
  std::vector<int64_t> order_;
  uint64_t order_epoch_ = UINT64_MAX;

  // Shared with the workers, under mu_.
  std::mutex mu_;
  std::condition_variable ready_cv_, space_cv_;
  std::map<int64_t, Slot> ready_;
  int64_t next_claim_ = 0;  // next global batch a worker will build
  int64_t wanted_ = 0;      // global batch the consumer waits for
  bool stop_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace cherry
