// libFuzzer target for JPEG decoding through our libjpeg error manager, then the image transforms
// on whatever size came out (1xN strips, huge aspect ratios), since those see decoder output in
// training. Any libjpeg failure must come back as cherry::Error: a crash, a sanitizer report, an
// exit() from libjpeg's default handler or another exception type is a bug.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "datasets/jpeg.h"
#include "datasets/transforms.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    // 1 Mpx cap keeps each run fast; the limit logic itself is the same at any value.
    const cherry::Image im = cherry::decode_jpeg(data, size, "<fuzz input>", int64_t(1) << 20);
    if (im.channels != 3 || im.pixels.size() != size_t(im.height * im.width * 3)) std::abort();
    cherry::Generator rng(size);
    std::vector<float> out(3 * 16 * 16);
    for (auto t : {cherry::ImageTransform::imagenet_train(16), cherry::ImageTransform::imagenet_eval(16)}) {
      cherry::apply_transform(t, im.pixels.data(), im.height, im.width, 3, rng, out.data());
      for (float v : out)
        if (!(v > -10.0f && v < 10.0f)) std::abort();  // normalised [0, 1] pixels stay within ~[-2.2, 2.7]
    }
  } catch (const cherry::Error&) {
  }
  return 0;
}
