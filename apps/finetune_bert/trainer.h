// The finetune_bert job as a library call (tests run it in-process): GLUE data through the
// WordPiece tokenizer, a Hugging Face BERT folder loaded with a fresh head, the FFN linears made
// MoE / PAD-MoE on request (experts upcycled from the pretrained weights), AdamW with linear
// warm-up and decay, all run by the shared training loop (apps/common/train_loop.h).
#pragma once
#include "apps/common/train_loop.h"
#include "apps/finetune_bert/options.h"

namespace cherry {

TrainResult run_finetune_bert(const FinetuneOptions& options);

}  // namespace cherry
