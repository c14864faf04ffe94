#include "backends/allocator.h"

#include <algorithm>
#include <cstdlib>

#include "backends/backend.h"
#include "core/error.h"

namespace cherry {

size_t CachingAllocator::round_size(size_t n) {
  if (n <= 64) return 64;
  if (n <= (1u << 20)) return (n + 511) / 512 * 512;  // small: 512-byte granularity
  return (n + 65535) / 65536 * 65536;                  // large: 64 KiB granularity
}

void* CachingAllocator::allocate(size_t nbytes) {
  const size_t size = round_size(nbytes);
  {
    std::lock_guard lock(mu_);
    auto it = free_.find(size);
    if ((it == free_.end() || it->second.empty()) && size > (size_t(1) << 20)) {
      it = free_.lower_bound(size);  // the smallest cached block that fits, if not too wasteful
      while (it != free_.end() && it->second.empty()) ++it;
      if (it != free_.end() && it->first > 2 * size) it = free_.end();
    }
    if (it != free_.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      stats_.cached -= it->first;
      stats_.in_use += it->first;
      stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
      live_[p] = it->first;
      return p;
    }
  }
  void* p = backend_for(device_).raw_allocate(size);
  if (!p) {  // out of memory: give back the cache and try once more
    empty_cache();
    p = backend_for(device_).raw_allocate(size);
  }
  CHERRY_CHECK(p != nullptr, "allocate", "out of memory allocating ", nbytes, " bytes on ", Device{device_, 0}.str());
  std::lock_guard lock(mu_);
  stats_.in_use += size;
  stats_.raw_allocations++;
  stats_.peak_in_use = std::max(stats_.peak_in_use, stats_.in_use);
  live_[p] = size;
  return p;
}

void CachingAllocator::deallocate(void* p, size_t) {
  if (!p) return;
  std::unique_lock lock(mu_);
  auto it = live_.find(p);
  CHERRY_CHECK(it != live_.end(), "allocate", "freeing a block this allocator did not hand out");
  const size_t size = it->second;
  live_.erase(it);
  stats_.in_use -= size;
  if (stats_.cached + size > std::max(kMinCacheLimit, stats_.peak_in_use)) {
    lock.unlock();
    backend_for(device_).raw_deallocate(p, size);
    return;
  }
  free_[size].push_back(p);
  stats_.cached += size;
}

void CachingAllocator::empty_cache() {
  std::lock_guard lock(mu_);
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) backend_for(device_).raw_deallocate(p, size);
  free_.clear();
  stats_.cached = 0;
}

CachingAllocator::~CachingAllocator() {
  // Process exit: backends may already be destroyed, so host blocks (aligned_alloc) are freed
  // directly; device memory is reclaimed by the driver.
  if (device_ != DeviceType::cpu) return;
  for (auto& [size, blocks] : free_)
    for (void* p : blocks) std::free(p);
}

AllocatorStats CachingAllocator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard lock(mu_);
  stats_.peak_in_use = stats_.in_use;
}

CachingAllocator& CachingAllocator::get(DeviceType device) {
  static CachingAllocator cpu(DeviceType::cpu), cuda(DeviceType::cuda);
  return device == DeviceType::cpu ? cpu : cuda;
}

}  // namespace cherry
