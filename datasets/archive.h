// Unpacking dataset archives (.tar.gz and anything else libarchive reads) into the cache folder,
// once. Entries are untrusted: absolute paths, `..` components, links and device files are rejected
// with an error naming the entry, so an archive can never write outside its folder. The unpack goes
// to a private temporary folder, a completion marker is written last and the folder is renamed into
// place, so an interrupted or concurrent unpack never leaves a half-filled folder that looks done.
// Not here: reading the unpacked files (image_folder.h).
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace cherry {

// <cache_dir>/<archive name without .tar.gz/.tgz/.tar>, unpacked first unless already there (with
// a marker matching this archive's size). cache_dir "" means default_cache_dir().
std::string ensure_unpacked(const std::string& archive_path, const std::string& cache_dir = "");

// Unpacks every entry into `dest` (created; must not exist yet). Returns the number of files written.
int64_t unpack_archive(const std::string& archive_path, const std::string& dest);

// Streams every regular file of the archive to fn(relative path, contents) in archive order, with
// the same name checks, writing nothing to disk. Returns the number of files.
int64_t for_each_archive_file(const std::string& archive_path,
                              const std::function<void(const std::string& name, std::vector<uint8_t>& data)>& fn);

}  // namespace cherry
