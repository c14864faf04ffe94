// What `--version` prints and the banner shows: git revision, build type, BLAS, oneDNN, CUDA.
#pragma once
#include <string>

#include "apps/common/run_flags.h"

namespace cherry {

std::string version_string(const std::string& app);
// `git describe --always --dirty` of the source the binary was built from (config.json's "engine").
std::string engine_revision();
// Sets the OpenMP thread count (0 = leave the default) and checks that the loaded OpenBLAS is the
// OpenMP build; returns a one-line description for the banner.
std::string setup_runtime(int threads);
// The banner's precision: the compute dtype, the oneDNN ISA its kernels use and the CPU model, with
// a warning where bf16 would be emulated (no AVX512-BF16 or AMX). bf16 is CPU-only: refused on cuda.
std::string precision_info(Precision p, DeviceType device);
// The CPU model (/proc/cpuinfo) and the ISA oneDNN dispatches to ("avx512_core_bf16", ...).
std::string cpu_model();
std::string onednn_isa();

}  // namespace cherry
