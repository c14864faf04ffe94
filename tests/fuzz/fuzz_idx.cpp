// libFuzzer target for the IDX reader: arbitrary bytes go through gunzip (gzip members, or passed
// through when not gzip) and parse_idx, and every byte of an accepted array is read, so a size the
// validator let through that disagrees with the data shows up under ASan. cherry::Error is the
// expected outcome for bad input; anything else is a bug. Values are tested in tests/test_datasets.cpp.
#include <cstdint>
#include <cstdlib>

#include "datasets/idx.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // 16 MiB cap: a tiny gzip bomb must fail fast, not fill libFuzzer's RSS limit.
    const auto bytes = cherry::gunzip(data, size, "<fuzz input>", size_t(16) << 20);
    const cherry::IdxArray a = cherry::parse_idx(bytes.data(), bytes.size(), "<fuzz input>");
    size_t numel = 1;
    for (int64_t d : a.dims) numel *= size_t(d);
    if (numel != a.data.size()) std::abort();  // parse_idx promised an exact size
    uint64_t sum = 0;
    for (uint8_t b : a.data) sum += b;
    volatile uint64_t sink = sum;
    (void)sink;
  } catch (const cherry::Error&) {
  }
  return 0;
}
