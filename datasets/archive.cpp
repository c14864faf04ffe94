// libarchive reader + plain POSIX writes. We write files ourselves rather than through
// archive_write_disk so every safety rule is ours, explicit and reported with the entry's name.
#include "datasets/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <set>
#include <system_error>

#include "core/error.h"
#include "datasets/dataset.h"

namespace cherry {

namespace fs = std::filesystem;

namespace {
constexpr const char* kOp = "unpack_archive";
constexpr const char* kMarker = ".cherry-unpacked";

// The entry's path made relative and checked: no absolute path, no `..`, nothing empty.
fs::path safe_relative(const std::string& archive, const char* raw) {
  CHERRY_CHECK(raw && *raw, kOp, archive, ": entry with an empty name");
  const std::string name(raw);
  CHERRY_CHECK(name[0] != '/', kOp, archive, ": entry '", name, "' has an absolute path (refusing to write outside the folder)");
  fs::path rel;
  for (const auto& part : fs::path(name)) {
    const std::string p = part.string();
    CHERRY_CHECK(p != "..", kOp, archive, ": entry '", name, "' contains '..' (path traversal; refusing)");
    if (p.empty() || p == ".") continue;
    rel /= part;
  }
  return rel;
}

void write_all(int fd, const void* data, size_t size, const std::string& path) {
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    const ssize_t n = ::write(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    CHERRY_CHECK(n > 0, kOp, "cannot write ", path, ": ", std::strerror(errno));
    p += n;
    size -= size_t(n);
  }
}

// An archive opened for reading, freed on scope exit.
struct Reader {
  // unique_ptr, not a destructor: the constructor may throw after allocating.
  std::unique_ptr<archive, int (*)(archive*)> owner{archive_read_new(), archive_read_free};
  archive* a = owner.get();
  explicit Reader(const std::string& path) {
    CHERRY_CHECK(fs::is_regular_file(path), kOp, "archive ", path, " not found");
    CHERRY_CHECK(a, kOp, "archive_read_new failed");
    archive_read_support_filter_all(a);
    archive_read_support_format_all(a);
    CHERRY_CHECK(archive_read_open_filename(a, path.c_str(), 1 << 20) == ARCHIVE_OK, kOp, path, ": ", archive_error_string(a));
  }

  // Next entry (null at the end) with its checked relative path; rejects links and special files.
  archive_entry* next(const std::string& path, int64_t files, fs::path& rel) {
    archive_entry* entry = nullptr;
    const int rc = archive_read_next_header(a, &entry);
    if (rc == ARCHIVE_EOF) return nullptr;
    CHERRY_CHECK(rc == ARCHIVE_OK || rc == ARCHIVE_WARN, kOp, path, ": corrupt or truncated archive after ", files,
                 " files: ", archive_error_string(a));
    const char* raw_name = archive_entry_pathname(entry);
    if (!raw_name) raw_name = archive_entry_pathname_utf8(entry);  // a name the C locale cannot convert
    rel = safe_relative(path, raw_name);
    const auto type = archive_entry_filetype(entry);
    CHERRY_CHECK(type == AE_IFREG || type == AE_IFDIR, kOp, path, ": entry '", raw_name,
                 "' is a link or special file (only regular files and folders are unpacked)");
    CHERRY_CHECK(!archive_entry_hardlink(entry), kOp, path, ": entry '", raw_name, "' is a hard link (refusing)");
    return entry;
  }

  // One data block of the current entry; false at its end.
  bool block(const std::string& path, archive_entry* entry, const void*& data, size_t& size, la_int64_t& offset) {
    const int r = archive_read_data_block(a, &data, &size, &offset);
    if (r == ARCHIVE_EOF) return false;
    CHERRY_CHECK(r == ARCHIVE_OK || r == ARCHIVE_WARN, kOp, path, ": corrupt or truncated data in entry '",
                 archive_entry_pathname(entry), "': ", archive_error_string(a));
    return true;
  }
};

std::string archive_stem(const fs::path& archive) {
  std::string name = archive.filename().string();
  for (const char* ext : {".tar.gz", ".tgz", ".tar.xz", ".tar.bz2", ".tar", ".zip"}) {
    const size_t n = std::strlen(ext);
    if (name.size() > n && name.compare(name.size() - n, n, ext) == 0) return name.substr(0, name.size() - n);
  }
  return name;
}

void make_dirs(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  CHERRY_CHECK(!ec, kOp, "cannot create folder ", dir.string(), ": ", ec.message());
}

std::string marker_text(const fs::path& archive) { return cat("archive ", fs::absolute(archive).string(), " size ", fs::file_size(archive), "\n"); }

bool is_complete(const fs::path& dest, const std::string& expected_marker) {
  std::ifstream f(dest / kMarker);
  if (!f) return false;
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return text == expected_marker;
}

// Partial folders left by unpackers that died (their pid no longer exists) are removed; a live
// unpacker's folder is left alone.
void remove_stale_partials(const fs::path& cache, const std::string& stem) {
  std::error_code ec;
  const std::string prefix = stem + ".partial-";
  for (const auto& e : fs::directory_iterator(cache, ec)) {
    const std::string n = e.path().filename().string();
    if (n.rfind(prefix, 0) != 0) continue;
    const long pid = std::strtol(n.c_str() + prefix.size(), nullptr, 10);
    if (pid > 0 && ::kill(pid_t(pid), 0) != 0 && errno == ESRCH) fs::remove_all(e.path(), ec);
  }
}
}  // namespace

int64_t unpack_archive(const std::string& archive_path, const std::string& dest) {
  Reader reader(archive_path);
  std::error_code ec;
  CHERRY_CHECK(fs::create_directory(dest, ec) && !ec, kOp, "cannot create ", dest, " (", ec ? ec.message() : "already exists", ")");
  std::set<fs::path> made_dirs;
  int64_t files = 0;
  fs::path rel;
  while (archive_entry* entry = reader.next(archive_path, files, rel)) {
    if (rel.empty()) continue;  // "./" itself
    const fs::path out = fs::path(dest) / rel;
    if (archive_entry_filetype(entry) == AE_IFDIR) {
      if (made_dirs.insert(out).second) make_dirs(out);
      continue;
    }
    if (made_dirs.insert(out.parent_path()).second) make_dirs(out.parent_path());
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    CHERRY_CHECK(fd >= 0, kOp, "cannot create ", out.string(), ": ", std::strerror(errno));
    struct FdCloser {
      int fd;
      ~FdCloser() { ::close(fd); }
    } fd_closer{fd};
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while (reader.block(archive_path, entry, block, size, offset)) {
      // Sparse entries report offsets; seek so holes stay holes.
      CHERRY_CHECK(::lseek(fd, off_t(offset), SEEK_SET) == off_t(offset), kOp, "cannot seek in ", out.string());
      write_all(fd, block, size, out.string());
    }
    ++files;
  }
  return files;
}

int64_t for_each_archive_file(const std::string& archive_path,
                              const std::function<void(const std::string& name, std::vector<uint8_t>& data)>& fn) {
  Reader reader(archive_path);
  int64_t files = 0;
  fs::path rel;
  std::vector<uint8_t> data;
  while (archive_entry* entry = reader.next(archive_path, files, rel)) {
    if (rel.empty() || archive_entry_filetype(entry) != AE_IFREG) continue;
    data.clear();
    const void* block = nullptr;
    size_t size = 0;
    la_int64_t offset = 0;
    while (reader.block(archive_path, entry, block, size, offset)) {
      const size_t end = size_t(offset) + size;
      CHERRY_CHECK(offset >= 0 && end <= (size_t(1) << 32), kOp, archive_path, ": entry '", rel.string(), "' is over 4 GiB");
      if (data.size() < end) data.resize(end);
      std::memcpy(data.data() + offset, block, size);
    }
    ++files;
    fn(rel.string(), data);
  }
  return files;
}

std::string ensure_unpacked(const std::string& archive_path, const std::string& cache_dir) {
  CHERRY_CHECK(fs::is_regular_file(archive_path), "ensure_unpacked", "archive ", archive_path,
               " not found (data lives in ../shared/data beside the project; see its README)");
  const fs::path cache = cache_dir.empty() ? fs::path(default_cache_dir()) : fs::path(cache_dir);
  std::error_code ec;
  fs::create_directories(cache, ec);
  const std::string stem = archive_stem(archive_path);
  const fs::path dest = cache / stem;
  const std::string marker = marker_text(archive_path);
  if (is_complete(dest, marker)) return dest.string();

  remove_stale_partials(cache, stem);
  const fs::path tmp = cache / cat(stem, ".partial-", ::getpid(), "-", std::random_device{}());
  try {
    unpack_archive(archive_path, tmp.string());
    std::ofstream(tmp / kMarker) << marker;  // written last: its presence means every file is there
    CHERRY_CHECK(is_complete(tmp, marker), "ensure_unpacked", "cannot write the marker in ", tmp.string());
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (::rename(tmp.c_str(), dest.c_str()) == 0) return dest.string();
      // Another process finished first, or an old incomplete/outdated folder is in the way.
      if (is_complete(dest, marker)) break;
      fs::remove_all(dest, ec);
    }
    fs::remove_all(tmp, ec);
    CHERRY_CHECK(is_complete(dest, marker), "ensure_unpacked", "cannot move ", tmp.string(), " to ", dest.string());
    return dest.string();
  } catch (...) {
    fs::remove_all(tmp, ec);
    throw;
  }
}

}  // namespace cherry
