// train_resnet: flags in, a trained and evaluated ResNet out (see --help). Errors are printed
// with their cause and the program exits non-zero.
#include "apps/common/app_main.h"
#include "apps/train_resnet/trainer.h"

int main(int argc, char** argv) { return cherry::app_main(argc, argv, cherry::parse_train_options, cherry::run_train_resnet); }
