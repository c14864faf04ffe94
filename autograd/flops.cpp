#include "autograd/flops.h"

namespace cherry {

namespace {
thread_local FlopCounter* active = nullptr;
}

FlopCounter::FlopCounter() : outer_(active) { active = this; }
FlopCounter::~FlopCounter() { active = outer_; }

FlopCounter::Pause::Pause() : saved(active) { active = nullptr; }
FlopCounter::Pause::~Pause() { active = saved; }

void FlopCounter::add(int64_t flops) {
  for (FlopCounter* c = active; c; c = c->outer_) c->total_ += flops;
}

}  // namespace cherry
