// Host-side state the CUDA kernels share, usable from .cpp and .cu files: scratch buffers from the
// caching allocator, and the slot where kernels record a bad index (they cannot throw).
#pragma once
#include <cstddef>
#include <cstdint>

namespace cherry::cuda {

// ---- Scratch memory for a kernel's temporaries: a block of the CUDA caching allocator, given
// back when the Scratch goes out of scope. Safe with one stream: a block handed out again is
// only used by work queued after everything that used it before.
class Scratch {
 public:
  explicit Scratch(size_t nbytes);
  ~Scratch();
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  template <class T>
  T* as() const {
    return static_cast<T*>(p_);
  }

 private:
  size_t n_;
  void* p_;
};

// ---- Bad indices found on the device. A kernel cannot throw; it records the first bad index in
// this slot (host-mapped memory, so no copy is needed to read it) and skips the element. The host
// checks the slot whenever it synchronises (copy_to_host, synchronize) and throws a cherry::Error.
enum class DeviceError : int { none = 0, index_select, index_add, gather, scatter_add };
struct DeviceErrorSlot {
  int code;
  int unused;
  long long index, size;
};
DeviceErrorSlot* device_error_slot();  // device-usable pointer for the current device
void check_device_errors();             // after a synchronisation: throws (and clears) a recorded error

}  // namespace cherry::cuda
