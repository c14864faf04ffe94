// How many more bytes this process can allocate on the host before the system refuses or the OOM
// killer steps in: /proc/meminfo's MemAvailable, capped by the cgroup's memory limit (containers)
// and by the address-space limit (ulimit -v). Linux overcommits, so an allocation too large rarely
// fails: it succeeds and the process is killed later, which is why the apps check before training.
#pragma once
#include <cstddef>
#include <optional>
#include <string>

namespace cherry {

struct HostMemory {
  std::optional<size_t> available;  // nullopt where none of the sources can be read
  std::string limited_by;           // "MemAvailable", "cgroup memory.max" or "ulimit -v"
};
HostMemory host_free_memory();

}  // namespace cherry
