// What `--version` prints and the banner shows: git revision, build type, BLAS, oneDNN, CUDA.
#pragma once
#include <string>

namespace cherry {

std::string version_string(const std::string& app);
// Sets the OpenMP thread count (0 = leave the default) and checks that the loaded OpenBLAS is the
// OpenMP build; returns a one-line description for the banner.
std::string setup_runtime(int threads);
// Re-executes the program with GOMP_SPINCOUNT=3000 unless the user set it or OMP_WAIT_POLICY: a
// thread waiting at an OpenMP barrier spins that long (tens of microseconds), then sleeps. libgomp's
// default spin (300000) let waiting threads starve the data-loading threads on 2 cores (measured 4x
// slower once); sleeping at once (PASSIVE) pays a futex wake-up per parallel region. On 2 cores,
// `train_resnet --conv dynamic --dataset cifar10 --max-steps 40 --threads 2`, settings alternated:
// 459-484 img/s with 3000, 370-418 with PASSIVE. libgomp reads the variable when it loads, before
// main, hence the re-exec. Call first thing in main.
void prefer_short_openmp_spin(char** argv);

}  // namespace cherry
