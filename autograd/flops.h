// Counts the floating-point work of conv2d and matmul (2 per multiply-add) while a FlopCounter
// is alive on this thread: how the apps report a model's FLOPs per input from one real forward
// pass, dynamic layers' attention and kernel aggregation included. Elementwise work is not counted.
#pragma once
#include <cstdint>

namespace cherry {

class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  int64_t total() const { return total_; }
  static void add(int64_t flops);  // called by the ops; a no-op when no counter is active
  // Work in this scope is not counted (an op built from a matmul that stands for a reduction).
  struct Pause {
    Pause();
    ~Pause();
    FlopCounter* saved;
  };

 private:
  int64_t total_ = 0;
  FlopCounter* outer_;
};

}  // namespace cherry
