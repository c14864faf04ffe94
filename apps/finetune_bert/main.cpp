// finetune_bert: flags in, a fine-tuned and evaluated BERT out (see --help). Errors are printed
// with their cause and the program exits non-zero.
#include <cstdio>
#include <exception>

#include "apps/common/build_info.h"
#include "backends/backend.h"
#include "apps/finetune_bert/trainer.h"
#include "core/error.h"

int main(int argc, char** argv) {
  cherry::prefer_short_openmp_spin(argv);
  auto parsed = cherry::parse_finetune_options(argc, argv);
  if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
  try {
    cherry::run_finetune_bert(std::get<cherry::FinetuneOptions>(parsed));
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  }
}
