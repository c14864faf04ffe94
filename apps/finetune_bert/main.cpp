// finetune_bert: flags in, a fine-tuned and evaluated BERT out (see --help). Errors are printed
// with their cause and the program exits non-zero.
#include "apps/common/app_main.h"
#include "apps/finetune_bert/trainer.h"

int main(int argc, char** argv) { return cherry::app_main(argc, argv, cherry::parse_finetune_options, cherry::run_finetune_bert); }
