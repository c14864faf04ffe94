// What `--version` prints and the banner shows: git revision, build type, BLAS, oneDNN, CUDA.
#pragma once
#include <string>

namespace cherry {

std::string version_string(const std::string& app);
// Sets the OpenMP thread count (0 = leave the default) and checks that the loaded OpenBLAS is the
// OpenMP build; returns a one-line description for the banner.
std::string setup_runtime(int threads);

}  // namespace cherry
