// Storage: one contiguous buffer on one device, shared by every tensor view of it. Carries a
// version counter, bumped by in-place writes, so autograd can catch a saved tensor modified later.
#pragma once
#include <atomic>
#include <cstddef>
#include <functional>
#include <memory>

#include "core/dtype.h"

namespace cherry {

class Storage {
 public:
  Storage(size_t nbytes, Device device);  // from the caching allocator
  // Wraps memory owned elsewhere (a memory-mapped file); release() runs when the storage dies.
  Storage(void* data, size_t nbytes, Device device, std::function<void()> release);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  uint64_t version() const { return version_.load(std::memory_order_relaxed); }
  void bump_version() { version_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  std::function<void()> release_;
  bool owned_;
  std::atomic<uint64_t> version_{0};
};

}  // namespace cherry
