// Batch assembly straight into the i64 tensors' memory: one pass per row, no intermediate copies.
#include "datasets/text_batch.h"

#include <algorithm>

#include "core/error.h"

namespace cherry {

namespace {
constexpr const char* kOp = "collate_text";
}

TextBatch collate_text(std::span<const Encoding* const> rows, int64_t pad_id, int64_t pad_to_multiple_of) {
  CHERRY_CHECK(!rows.empty(), kOp, "empty batch");
  CHERRY_CHECK(pad_to_multiple_of >= 1, kOp, "pad_to_multiple_of must be at least 1, got ", pad_to_multiple_of);
  int64_t longest = 0;
  for (const Encoding* e : rows) {
    CHERRY_CHECK(e->token_type_ids.size() == e->input_ids.size(), kOp, "an encoding has ", e->input_ids.size(),
                 " ids but ", e->token_type_ids.size(), " token types");
    longest = std::max(longest, e->size());
  }
  const int64_t b = int64_t(rows.size());
  const int64_t t = std::max<int64_t>(1, (longest + pad_to_multiple_of - 1) / pad_to_multiple_of * pad_to_multiple_of);
  TextBatch out{empty({b, t}, DType::i64), empty({b, t}, DType::i64), empty({b, t}, DType::i64), 0};
  int64_t* ids = out.input_ids.data_ptr<int64_t>();
  int64_t* types = out.token_type_ids.data_ptr<int64_t>();
  int64_t* mask = out.attention_mask.data_ptr<int64_t>();
  for (int64_t r = 0; r < b; ++r) {
    const Encoding& e = *rows[size_t(r)];
    const int64_t n = e.size();
    std::copy(e.input_ids.begin(), e.input_ids.end(), ids + r * t);
    std::fill(ids + r * t + n, ids + (r + 1) * t, pad_id);
    std::copy(e.token_type_ids.begin(), e.token_type_ids.end(), types + r * t);
    std::fill(types + r * t + n, types + (r + 1) * t, 0);
    std::fill(mask + r * t, mask + r * t + n, 1);
    std::fill(mask + r * t + n, mask + (r + 1) * t, 0);
    out.tokens += n;
  }
  return out;
}

TextBatch collate_text(const std::vector<Encoding>& encodings, std::span<const int64_t> indices, int64_t pad_id,
                       int64_t pad_to_multiple_of) {
  std::vector<const Encoding*> rows;
  rows.reserve(indices.size());
  for (int64_t i : indices) {
    CHERRY_CHECK(i >= 0 && i < int64_t(encodings.size()), kOp, "index ", i, " is out of range [0, ", encodings.size(), ")");
    rows.push_back(&encodings[size_t(i)]);
  }
  return collate_text(rows, pad_id, pad_to_multiple_of);
}

}  // namespace cherry
