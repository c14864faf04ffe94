// A caching allocator per device: freed blocks are kept in size buckets and handed out again,
// because a training step allocates the same sizes every iteration. 64-byte aligned on the CPU.
// Shapes that vary from step to step (text batches padded to their longest sequence) would fill
// the cache with sizes never asked for again, so: a large request may take a cached block up to
// twice its size, and the cache never holds more than max(256 MiB, the peak in use); a block that
// would exceed that is returned to the system instead.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/dtype.h"

namespace cherry {

struct AllocatorStats {
  size_t in_use = 0, cached = 0, peak_in_use = 0, raw_allocations = 0;
};

class CachingAllocator {
 public:
  explicit CachingAllocator(DeviceType device) : device_(device) {}
  ~CachingAllocator();
  void* allocate(size_t nbytes);
  void deallocate(void* p, size_t nbytes);
  void empty_cache();
  AllocatorStats stats() const;
  void reset_peak();

  static CachingAllocator& get(DeviceType device);
  static size_t round_size(size_t nbytes);
  static constexpr size_t kMinCacheLimit = size_t(256) << 20;

 private:
  DeviceType device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  std::unordered_map<void*, size_t> live_;  // block size of every allocation handed out
  AllocatorStats stats_;
};

}  // namespace cherry
