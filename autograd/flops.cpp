#include "autograd/flops.h"

namespace cherry {

namespace {
thread_local FlopCounter* active = nullptr;
}

FlopCounter::FlopCounter() : outer_(active) { active = this; }
FlopCounter::~FlopCounter() { active = outer_; }

void FlopCounter::add(int64_t flops) {
  for (FlopCounter* c = active; c; c = c->outer_) c->total_ += flops;
}

}  // namespace cherry
