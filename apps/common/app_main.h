// What an app's main() does around its flags and its run: restart with a short OpenMP spin (before
// anything else), parse (an int is --help's or a bad flag's exit code), run, and turn any error
// into a message on stderr and exit code 1.
#pragma once
#include <cstdio>
#include <exception>
#include <new>
#include <variant>

#include "backends/backend.h"

namespace cherry {

template <class Parse, class Run> int app_main(int argc, char** argv, Parse&& parse, Run&& run) {
  prefer_short_openmp_spin(argv);
  auto parsed = parse(argc, argv);
  if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
  try {
    run(std::get<0>(parsed));
    return 0;
  } catch (const std::bad_alloc&) {  // a container's allocation; tensors fail with cherry::Error
    std::fprintf(stderr, "\nerror: out of memory (std::bad_alloc): lower --batch-size or free memory\n");
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  }
}

}  // namespace cherry
