// Padding encoded sequences into a batch: dynamic padding to the longest sequence in the batch (as
// Hugging Face's DataCollatorWithPadding), right-padded with [PAD], attention mask 1 on real tokens.
// Not here: tokenization (bert_tokenizer.h) or labels (glue.h).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/tensor.h"
#include "datasets/bert_tokenizer.h"

namespace cherry {

struct TextBatch {
  Tensor input_ids;       // i64 [B, T]
  Tensor token_type_ids;  // i64 [B, T], 0 on padding
  Tensor attention_mask;  // i64 [B, T], 1 on tokens, 0 on padding
  int64_t tokens = 0;     // real (unpadded) tokens in the batch, for throughput
};

// T = the longest row, rounded up to a multiple of pad_to_multiple_of (1: no rounding).
TextBatch collate_text(std::span<const Encoding* const> rows, int64_t pad_id, int64_t pad_to_multiple_of = 1);
// The rows encodings[indices[i]], i = 0..B-1 (a shuffled or sequential batch of a dataset).
TextBatch collate_text(const std::vector<Encoding>& encodings, std::span<const int64_t> indices, int64_t pad_id,
                       int64_t pad_to_multiple_of = 1);

}  // namespace cherry
