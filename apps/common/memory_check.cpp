#include "apps/common/memory_check.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <vector>

#include "autograd/node.h"
#include "backends/allocator.h"
#include "backends/backend.h"
#include "backends/host_memory.h"
#include "core/rng.h"

namespace cherry {

namespace {
// Puts back what a probe step changed besides memory: buffers (batch norm's running statistics and
// counters), the RNG (dropout, router noise) and the gradients, so the run is the one it would be.
class ProbeRestore {
 public:
  explicit ProbeRestore(Module& model) : model_(model), rng_(default_generator().state()) {
    NoGradGuard ng;
    for (auto& [name, b] : model.named_buffers()) buffers_.push_back(b.clone());
  }
  ~ProbeRestore() {
    NoGradGuard ng;
    size_t i = 0;
    for (auto& [name, b] : model_.named_buffers()) b.copy_(buffers_[i++]);
    for (auto& [name, p] : model_.named_parameters()) p.zero_grad();
    default_generator().set_state(rng_);
  }

 private:
  Module& model_;
  Generator::State rng_;
  std::vector<Tensor> buffers_;
};
}  // namespace

int64_t StepMemory::largest_batch(double bytes) const {
  if (bytes < fixed) return 0;
  if (per_sample <= 0) return std::numeric_limits<int64_t>::max();
  return int64_t(std::floor((bytes - fixed) / per_sample));
}

std::string format_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (bytes >= 1024 && u < 4) bytes /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.2f %s", bytes, units[u]);
  return buf;
}

std::optional<StepMemory> probe_step_memory(TrainTask& task, int64_t batch) {
  Module& model = task.model();
  NamedTensors params = model.named_parameters();
  if (params.empty()) return std::nullopt;
  CachingAllocator& alloc = CachingAllocator::get(params.front().second.device().type);
  ProbeRestore restore(model);
  // Small probes read low: allocations round up and oneDNN picks other kernels; 8 and 16 samples
  // came within 4% of a batch-96 step (tests/test_memory_check.cpp). At most the batch itself.
  const int64_t n[2] = {std::min<int64_t>(batch, 16) / 2, std::min<int64_t>(batch, 16)};
  double bytes[2] = {0, 0};
  for (int i = n[0] > 0 ? 0 : 1; i < 2; ++i) {
    for (auto& [name, p] : params) p.zero_grad();
    const size_t base = alloc.stats().in_use;
    alloc.reset_peak();
    {
      std::optional<TrainBatch> b = task.forward_probe(n[i]);
      if (!b) return std::nullopt;
      b->loss.backward();
    }
    bytes[i] = double(alloc.stats().peak_in_use - base);
  }
  StepMemory m;
  if (n[0] == 0) return StepMemory{bytes[1], 0};  // batch 1: measured exactly
  m.per_sample = std::max(0.0, (bytes[1] - bytes[0]) / double(n[1] - n[0]));
  m.fixed = std::max(0.0, bytes[1] - m.per_sample * double(n[1]));
  return m;
}

std::string memory_verdict(const StepMemory& m, int64_t batch, std::optional<double> free, const std::string& source,
                           const std::string& app) {
  const double need = m.at(batch);
  const std::string line = cat("memory: a training step allocates about ", format_bytes(need), " (", format_bytes(m.fixed), " + ",
                                format_bytes(m.per_sample), " per sample, measured before step 1); ",
                                free ? cat(format_bytes(*free), " free (", source, ")") : std::string("free memory unknown"));
  if (!free) return line;
  // The estimate reads low for large batches (5-15% measured: workspaces grow faster than linearly,
  // the heap fragments), so refuse above 90% of the free memory and suggest a batch with 25% headroom.
  const double usable = 0.9 * *free;
  const int64_t fits = m.largest_batch(0.75 * *free);
  CHERRY_CHECK(need <= usable, app, "a training step at --batch-size ", batch, " needs about ", format_bytes(need), " (", format_bytes(m.fixed),
               " + ", format_bytes(m.per_sample), " per sample), more than the ", format_bytes(usable), " this run may use (90% of the ",
               format_bytes(*free), " free, limited by ", source, "). ",
               fits > 0 ? cat("The largest batch that fits with 25% headroom is about ", fits, ": lower --batch-size") : std::string("Not even one sample fits"),
               ", free memory, or pass --no-memory-check to try anyway");
  return line;
}

std::string check_step_memory(TrainTask& task, int64_t batch, const std::string& app) {
  const std::optional<StepMemory> m = probe_step_memory(task, batch);
  if (!m) return "";
  const DeviceType device = task.model().named_parameters().front().second.device().type;
  std::optional<size_t> free;
  std::string source = "cudaMemGetInfo";
  if (device == DeviceType::cpu) {
    const HostMemory h = host_free_memory();
    free = h.available, source = h.limited_by;
  } else {
    free = backend_for(device).free_memory();
  }
  // Blocks the caching allocator holds are this process's already: a step reuses them.
  const std::optional<double> have =
      free ? std::optional<double>(double(*free) + double(CachingAllocator::get(device).stats().cached)) : std::nullopt;
  return memory_verdict(*m, batch, have, source, app);
}

}  // namespace cherry
