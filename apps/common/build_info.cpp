#include "apps/common/build_info.h"

#include <omp.h>

#include <cstdlib>

#include <oneapi/dnnl/dnnl.hpp>

#include "backends/backend.h"
#include "core/error.h"

#ifndef CHERRY_GIT_REVISION
#define CHERRY_GIT_REVISION "unknown"
#endif
#ifndef CHERRY_BUILD_TYPE
#define CHERRY_BUILD_TYPE "unknown"
#endif

namespace cherry {

std::string version_string(const std::string& app) {
  const dnnl_version_t* v = dnnl_version();
  std::string cuda = "CUDA backend: not built";
#ifdef CHERRY_CUDA
  cuda = backend_available(DeviceType::cuda) ? "CUDA backend: built, device present" : "CUDA backend: built, no device";
#endif
  return cat(app, " (Cherry) git ", CHERRY_GIT_REVISION, ", ", CHERRY_BUILD_TYPE, " build\n", blas_info(), "\noneDNN ", v->major, ".",
             v->minor, ".", v->patch, "\n", cuda);
}

std::string setup_runtime(int threads) {
  CHERRY_CHECK(threads >= 0, "threads", "--threads must be >= 0, got ", threads);
  if (threads > 0) omp_set_num_threads(threads);
  CHERRY_CHECK(blas_uses_openmp(), "runtime",
               "the loaded OpenBLAS is not the OpenMP build (", blas_info(),
               "); two thread pools would fight over the cores. Rebuild against /usr/lib/x86_64-linux-gnu/openblas-openmp");
  return cat(omp_get_max_threads(), " threads; ", blas_info());
}

}  // namespace cherry
