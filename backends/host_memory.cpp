#include "backends/host_memory.h"

#include <sys/resource.h>

#include <fstream>
#include <sstream>

namespace cherry {
namespace {

// The value of `key` (in kB) in a /proc file of "Key:   value kB" lines, in bytes.
std::optional<size_t> proc_kb(const char* path, const std::string& key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) {
      std::istringstream s(line.substr(key.size() + 1));
      unsigned long long kb = 0;
      if (s >> kb) return size_t(kb) * 1024;
    }
  return std::nullopt;
}

std::optional<size_t> read_number(const char* path) {
  std::ifstream in(path);
  unsigned long long v = 0;
  if (in >> v) return size_t(v);  // "max" (no limit) fails to parse
  return std::nullopt;
}

void cap(HostMemory& m, std::optional<size_t> v, const char* source) {
  if (v && (!m.available || *v < *m.available)) m.available = v, m.limited_by = source;
}

}  // namespace

HostMemory host_free_memory() {
  HostMemory m;
  cap(m, proc_kb("/proc/meminfo", "MemAvailable"), "MemAvailable");
  // cgroup v2 (the container's own limit; MemAvailable describes the whole machine).
  const auto limit = read_number("/sys/fs/cgroup/memory.max"), current = read_number("/sys/fs/cgroup/memory.current");
  if (limit && current) cap(m, *limit > *current ? *limit - *current : 0, "cgroup memory.max");
  rlimit r{};
  if (getrlimit(RLIMIT_AS, &r) == 0 && r.rlim_cur != RLIM_INFINITY) {
    const size_t vm = proc_kb("/proc/self/status", "VmSize").value_or(0);
    cap(m, size_t(r.rlim_cur) > vm ? size_t(r.rlim_cur) - vm : 0, "ulimit -v");
  }
  return m;
}

}  // namespace cherry
