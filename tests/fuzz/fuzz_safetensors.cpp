// libFuzzer target for the safetensors reader: parses arbitrary bytes as a whole file image and, when
// the header validates, materialises every tensor and reads every byte of it, so any offset or size
// the validator let through that points outside the input shows up under ASan. cherry::Error is the
// expected outcome for bad input; anything else (crash, sanitizer report, other exception) is a bug.
// Not a test of values: the unit tests in tests/test_safetensors.cpp cover those.
#include <cstdint>
#include <cstdlib>
#include <memory>

#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // libFuzzer owns `data` for the duration of this call only; the views below die before return.
    std::shared_ptr<const void> owner(data, [](const void*) {});
    auto f = cherry::SafeTensorsFile::from_buffer(owner, data, size, "<fuzz input>");
    uint64_t sum = 0;
    for (const auto& e : f.entries()) {
      const cherry::Tensor t = f.get(e.name);
      const size_t nbytes = size_t(t.numel()) * cherry::dtype_size(t.dtype());
      // The validator promised these; a mismatch means get() and the header disagree.
      if (t.shape() != e.shape || t.dtype() != e.dtype || nbytes != e.end - e.begin || !f.contains(e.name)) std::abort();
      const auto* p = static_cast<const uint8_t*>(t.raw_data());
      for (size_t i = 0; i < nbytes; ++i) sum += p[i];
    }
    for (const auto& [k, v] : f.metadata()) sum += k.size() + v.size();
    volatile uint64_t sink = sum;  // keep the reads
    (void)sink;
  } catch (const cherry::Error&) {
  }
  return 0;
}
