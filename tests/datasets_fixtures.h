// Fixture writers shared by the dataset tests: a self-deleting temp folder, raw/gzip/tar.gz/JPEG
// file writers, and a check that an expression throws cherry::Error whose message names something
// (usually the offending file). Test-only; the library never writes these formats except JPEG.
#pragma once
#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>
#include <zlib.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "datasets/jpeg.h"
#include "tests/test_util.h"

namespace cherry::test {

namespace fs = std::filesystem;


inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

inline std::string slurp(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

inline void write_gz(const std::string& path, const std::vector<uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f);
  REQUIRE(gzwrite(f, bytes.data(), unsigned(bytes.size())) == int(bytes.size()));
  gzclose(f);
}

inline void write_jpeg(const fs::path& path, const Image& im, int quality = 90) {
  write_bytes(path.string(), encode_jpeg(im, quality));
}

struct TarEntry {
  TarEntry(std::string n, std::string d, unsigned t = AE_IFREG, std::string l = "")
      : name(std::move(n)), data(std::move(d)), type(t), link(std::move(l)) {}
  std::string name, data;
  unsigned type;     // AE_IFREG, AE_IFDIR, AE_IFLNK
  std::string link;  // symlink target
};

// Writes entries verbatim (hostile names included) as a pax tar, gzip-compressed.
inline void write_tar_gz(const std::string& path, const std::vector<TarEntry>& entries) {
  archive* a = archive_write_new();
  archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  REQUIRE(archive_write_open_filename(a, path.c_str()) == ARCHIVE_OK);
  for (const auto& e : entries) {
    archive_entry* en = archive_entry_new();
    archive_entry_set_pathname(en, e.name.c_str());
    archive_entry_set_filetype(en, e.type);
    archive_entry_set_perm(en, 0644);
    archive_entry_set_size(en, la_int64_t(e.type == AE_IFREG ? e.data.size() : 0));
    if (e.type == AE_IFLNK) archive_entry_set_symlink(en, e.link.c_str());
    REQUIRE(archive_write_header(a, en) == ARCHIVE_OK);
    if (e.type == AE_IFREG) archive_write_data(a, e.data.data(), e.data.size());
    archive_entry_free(en);
  }
  archive_write_close(a);
  archive_write_free(a);
}

// Message of the cherry::Error thrown by f ("" if none was thrown).
template <class F> std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace cherry::test

#define CHECK_THROWS_NAMING(expr, needle)                                                                    \
  do {                                                                                                       \
    const std::string m_ = ::cherry::test::error_of([&] { (void)(expr); });                                  \
    CHECK_MESSAGE(m_.find(needle) != std::string::npos, "error '", m_, "' does not mention '", needle, "'"); \
  } while (0)
