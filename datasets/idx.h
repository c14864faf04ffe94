// IDX files (the MNIST / Fashion-MNIST container) and the gzip layer they ship in. Inputs are
// untrusted: every header field, the exact length and the gzip stream are validated and bad input
// throws cherry::Error naming the file. Only unsigned-byte IDX (type 0x08) is supported, which is
// what the MNIST family uses. Not here: the Dataset built on top (datasets/fashion_mnist.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace cherry {

struct IdxArray {
  Shape dims;                  // e.g. (60000, 28, 28) for images, (60000) for labels
  std::vector<uint8_t> data;   // row-major, numel(dims) bytes
};

// Decompresses a gzip (or zlib) stream, including concatenated gzip members. Bytes that do not start
// with the gzip magic are returned as they are, so plain .idx files work too. Output above max_out
// bytes is an error rather than an allocation (decompression bombs).
std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name, size_t max_out);

// Parses decompressed IDX bytes; `name` is used in error messages.
IdxArray parse_idx(const uint8_t* data, size_t size, const std::string& name);

// read_file + gunzip + parse_idx.
IdxArray read_idx(const std::string& path);

}  // namespace cherry
