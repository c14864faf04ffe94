// Crash-safe file writes: a temporary in the same folder, fsync, rename. A crash or a full disk
// leaves the old file or the new one, never a torn one.
#pragma once
#include <string>

namespace cherry {

void write_file_atomic(const std::string& path, const std::string& content);
// Atomically makes `link` name the same file as `target` (hard link + rename); copies if the
// file system refuses hard links.
void link_atomic(const std::string& target, const std::string& link);

}  // namespace cherry
