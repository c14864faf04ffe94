// Crash-safe file writes: a temporary in the same folder, fsync, rename. A crash or a full disk
// leaves the old file or the new one, never a torn one.
#pragma once
#include <string>

namespace cherry {

void write_file_atomic(const std::string& path, const std::string& content);
// Atomically replaces `dest` with a copy of `source` (copy to a temporary, fsync, rename). A copy,
// not a hard link: truncating or editing one checkpoint must not change another.
void copy_atomic(const std::string& source, const std::string& dest);

}  // namespace cherry
