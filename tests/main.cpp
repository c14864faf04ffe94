// Test runner entry: doctest's main, after checking that the OpenMP OpenBLAS is the one loaded.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "backends/cpu/cpu_backend.h"

int main(int argc, char** argv) {
  if (!cherry::blas_uses_openmp()) {
    std::fprintf(stderr, "error: the loaded OpenBLAS is not the OpenMP build (%s)\n", cherry::blas_info().c_str());
    return 2;
  }
  doctest::Context ctx(argc, argv);
  return ctx.run();
}
