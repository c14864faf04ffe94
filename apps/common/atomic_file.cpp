#include "apps/common/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "core/error.h"

namespace cherry {

namespace fs = std::filesystem;

namespace {
std::string temp_name(const std::string& path) { return path + ".tmp." + std::to_string(::getpid()); }
void fsync_dir(const std::string& path) {
  const std::string dir = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) ::fsync(fd), ::close(fd);
}
}  // namespace

void write_file_atomic(const std::string& path, const std::string& content) {
  const std::string tmp = temp_name(path);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  CHERRY_CHECK(fd >= 0, "write", "cannot create ", tmp, ": ", std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd), ::unlink(tmp.c_str());
      throw Error("write", cat("writing ", path, " failed: ", std::strerror(err)));
    }
    done += size_t(n);
  }
  const bool ok = ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    throw Error("write", cat("writing ", path, " failed: ", std::strerror(ok ? errno : err)));
  }
  fsync_dir(path);
}

void copy_atomic(const std::string& source, const std::string& dest) {
  const std::string tmp = temp_name(dest);
  ::unlink(tmp.c_str());
  std::error_code ec;
  fs::copy_file(source, tmp, fs::copy_options::overwrite_existing, ec);  // copy_file_range: a reflink where the file system offers one
  int fd = ec ? -1 : ::open(tmp.c_str(), O_RDONLY);
  const bool ok = fd >= 0 && ::fsync(fd) == 0;
  const int err = errno;
  if (fd >= 0) ::close(fd);
  if (!ok || ::rename(tmp.c_str(), dest.c_str()) != 0) {
    const std::string why = ec ? ec.message() : std::strerror(ok ? errno : err);
    ::unlink(tmp.c_str());
    throw Error("checkpoint", cat("cannot copy ", source, " to ", dest, ": ", why));
  }
  fsync_dir(dest);
}

}  // namespace cherry
