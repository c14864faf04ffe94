// JPEG decoding (and encoding, for tests and tools) with libjpeg-turbo. Input is untrusted: libjpeg's
// default error handler calls exit(), so ours long-jumps out and throws cherry::Error naming the
// file; data-corrupting warnings (truncation, bad Huffman codes) are errors too, and image size and
// progressive scan count are capped so a hostile header cannot exhaust memory or time. Output is
// always 8-bit RGB HWC (grayscale and CMYK are converted). Not here: resizing or cropping.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cherry {

struct Image {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // (height, width, channels) u8
};

constexpr int64_t kJpegMaxPixels = int64_t(1) << 27;  // 134 Mpx: far above any photo dataset

// `name` (a path, or "<memory>") appears in every error message.
Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels = kJpegMaxPixels);
Image read_jpeg(const std::string& path, int64_t max_pixels = kJpegMaxPixels);

// Baseline JPEG of an RGB (3 channels) or grayscale (1 channel) image, quality 1..100, 4:2:0 chroma.
std::vector<uint8_t> encode_jpeg(const Image& image, int quality = 90);

}  // namespace cherry
