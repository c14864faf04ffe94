#include "apps/common/build_info.h"

#include <omp.h>

#include <cstdlib>
#include <fstream>

#include <oneapi/dnnl/dnnl.hpp>

#include "apps/common/choices.h"
#include "backends/backend.h"
#include "core/error.h"

#include "git_revision.h"  // generated at build time (cmake/git_revision.cmake)
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

std::string engine_revision() { return CHERRY_GIT_REVISION; }

std::string setup_runtime(int threads) {
  CHERRY_CHECK(threads >= 0, "threads", "--threads must be >= 0, got ", threads);
  if (threads > 0) omp_set_num_threads(threads);
  CHERRY_CHECK(blas_uses_openmp(), "runtime",
               "the loaded OpenBLAS is not the OpenMP build (", blas_info(),
               "); two thread pools would fight over the cores. Rebuild against /usr/lib/x86_64-linux-gnu/openblas-openmp");
  return cat(omp_get_max_threads(), " threads; ", blas_info());
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("model name")) {
      const size_t colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "unknown CPU";
}

std::string onednn_isa() {
  using dnnl::cpu_isa;
  switch (dnnl::get_effective_cpu_isa()) {
    case cpu_isa::avx512_core_amx: return "avx512_core_amx";
    case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case cpu_isa::avx512_core: return "avx512_core";
    case cpu_isa::avx2_vnni: return "avx2_vnni";
    case cpu_isa::avx2: return "avx2";
    default: return "pre-avx2";
  }
}

std::string precision_info(Precision p, DeviceType device) {
  CHERRY_CHECK(p == Precision::fp32 || device == DeviceType::cpu, "precision",
               "--precision bf16 runs on the CPU only (the CUDA backend has no bf16 kernels yet); use --precision fp32 with --device cuda");
  const std::string isa = onednn_isa();
  std::string s = cat(to_string(p), ", oneDNN ISA ", isa, ", CPU ", cpu_model());
  const bool bf16_hw = isa == "avx512_core_amx" || isa == "avx512_core_bf16";
  if (p == Precision::bf16 && !bf16_hw)
    s += "\n  warning: this CPU has no bf16 instructions (AVX512-BF16 or AMX); oneDNN emulates bf16, which is slower than fp32";
  return s;
}

}  // namespace cherry
