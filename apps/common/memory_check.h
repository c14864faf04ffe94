// Before step 1 the training loop measures what a step allocates and refuses a run that would not
// fit: Linux overcommits, so an oversized batch does not fail to allocate, it grows until the OOM
// killer ends the process (or, under ulimit -v, fails deep in a kernel). The probe runs forward and
// backward on two small batches (TrainTask::forward_probe) and reads the caching allocator's peak:
// activations and the oneDNN scratchpads grow linearly with the batch, weights, gradients and
// optimizer state do not, so two sizes give the step's memory at any batch size. Everything a
// step changes besides memory (normalisation statistics, the RNG, the gradients) is restored.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "apps/common/train_loop.h"

namespace cherry {

struct StepMemory {
  double fixed = 0;       // bytes a step allocates whatever its batch (gradients, batch-independent scratch)
  double per_sample = 0;  // bytes per sample of the batch (activations saved for backward)
  double at(int64_t batch) const { return fixed + per_sample * double(batch); }
  // The largest batch whose step needs at most `bytes`, or 0 when none does.
  int64_t largest_batch(double bytes) const;
};

// nullopt when the task has no probe. The probes hold min(batch, 16) and half that many samples.
std::optional<StepMemory> probe_step_memory(TrainTask& task, int64_t batch);

// The banner line of estimate `m` at `batch`; refuses (cherry::Error naming the estimate, the memory
// available and the largest batch that fits) when it needs more than 90% of `free` bytes.
std::string memory_verdict(const StepMemory& m, int64_t batch, std::optional<double> free, const std::string& source,
                           const std::string& app);
// probe_step_memory, the device's free memory (backends/host_memory.h, cudaMemGetInfo), the verdict.
std::string check_step_memory(TrainTask& task, int64_t batch, const std::string& app);

std::string format_bytes(double bytes);  // "1.23 GiB"

}  // namespace cherry
