// What `--version` prints and the banner shows: git revision, build type, BLAS, oneDNN, CUDA.
#pragma once
#include <string>

namespace cherry {

std::string version_string(const std::string& app);
// Sets the OpenMP thread count (0 = leave the default) and checks that the loaded OpenBLAS is the
// OpenMP build; returns a one-line description for the banner.
std::string setup_runtime(int threads);
// Re-executes the program with OMP_WAIT_POLICY=PASSIVE unless the user set a policy. With the
// default (spinning) policy, OpenMP threads waiting at barriers spin against the data-loading
// threads on the same cores: measured 4x slower training on 2 cores. libgomp reads the variable
// when it loads, before main, hence the re-exec. Call first thing in main.
void prefer_passive_openmp(char** argv);

}  // namespace cherry
