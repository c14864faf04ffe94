// Default folders for data (read-only inputs) and the cache (unpacked archives). Environment first,
// so a machine with the data elsewhere needs no rebuild. Not for anything dataset-specific.
#include "datasets/dataset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#ifndef CHERRY_SOURCE_DIR
#define CHERRY_SOURCE_DIR "."
#endif

namespace cherry {

namespace fs = std::filesystem;

namespace {
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

std::string default_data_dir() {
  if (auto d = env_or_empty("CHERRY_DATA_DIR"); !d.empty()) return d;
  return (fs::path(CHERRY_SOURCE_DIR) / ".." / "shared" / "data").lexically_normal().string();
}

std::string default_cache_dir() {
  fs::path dir;
  if (auto d = env_or_empty("CHERRY_CACHE"); !d.empty()) {
    dir = d;
  } else if (auto x = env_or_empty("XDG_CACHE_HOME"); !x.empty()) {
    dir = fs::path(x) / "cherry";
  } else {
    const auto home = env_or_empty("HOME");
    CHERRY_CHECK(!home.empty(), "default_cache_dir", "neither CHERRY_CACHE nor HOME is set; set CHERRY_CACHE to a writable folder");
    dir = fs::path(home) / ".cache" / "cherry";
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  CHERRY_CHECK(!ec && fs::is_directory(dir), "default_cache_dir", "cannot create cache folder ", dir.string(), ": ",
               ec.message(), " (set CHERRY_CACHE to a writable folder)");
  return dir.string();
}

std::vector<uint8_t> read_file_bytes(const std::string& path, const char* op) {
  // POSIX rather than iostreams: the image-folder loader calls this for every sample.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CHERRY_CHECK(fd >= 0, op, "cannot open ", path, ": ", std::strerror(errno));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st {};
  CHERRY_CHECK(::fstat(fd, &st) == 0 && S_ISREG(st.st_mode), op, path, " is not a regular file");
  std::vector<uint8_t> bytes(size_t(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    CHERRY_CHECK(n >= 0, op, "cannot read ", path, ": ", std::strerror(errno));
    CHERRY_CHECK(n > 0, op, path, " shrank while being read (", done, " of ", bytes.size(), " bytes)");
    done += size_t(n);
  }
  return bytes;
}

}  // namespace cherry
