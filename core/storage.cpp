#include "core/storage.h"

#include "backends/allocator.h"

namespace cherry {

Storage::Storage(size_t nbytes, Device device)
    : data_(nbytes ? CachingAllocator::get(device.type).allocate(nbytes) : nullptr), nbytes_(nbytes), device_(device), owned_(true) {}

Storage::Storage(void* data, size_t nbytes, Device device, std::function<void()> release)
    : data_(data), nbytes_(nbytes), device_(device), release_(std::move(release)), owned_(false) {}

Storage::~Storage() {
  if (owned_) CachingAllocator::get(device_.type).deallocate(data_, nbytes_);
  else if (release_) release_();
}

}  // namespace cherry
