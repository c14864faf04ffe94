// train_resnet: flags in, a trained and evaluated ResNet out (see --help). Errors are printed
// with their cause and the program exits non-zero.
#include <cstdio>
#include <exception>

#include "apps/common/build_info.h"
#include "backends/backend.h"
#include "apps/train_resnet/trainer.h"
#include "core/error.h"

int main(int argc, char** argv) {
  cherry::prefer_short_openmp_spin(argv);
  auto parsed = cherry::parse_train_options(argc, argv);
  if (std::holds_alternative<int>(parsed)) return std::get<int>(parsed);
  try {
    cherry::run_train_resnet(std::get<cherry::TrainOptions>(parsed));
    return 0;
  } catch (const cherry::Error& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  }
}
