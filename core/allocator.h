// A caching allocator per device: freed blocks are kept in size buckets and handed out again,
// because a training step allocates the same sizes every iteration. 64-byte aligned on the CPU.
#pragma once
#include <cstddef>
#include <map>
#include <mutex>
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

 private:
  DeviceType device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<void*>> free_;
  AllocatorStats stats_;
};

}  // namespace cherry
