// IDX parsing and gzip inflation with zlib. Validation order follows the file: magic, rank, dims,
// then the exact byte count, so the first message names the first thing that is wrong.
#include "datasets/idx.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>

#include "datasets/dataset.h"

namespace cherry {

namespace {
constexpr const char* kOp = "read_idx";
constexpr size_t kMaxFileBytes = size_t(1) << 31;  // the largest MNIST-family file is 47 MB

uint32_t read_be32(const uint8_t* p) {
  return (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | uint32_t(p[3]);
}

bool is_gzip(const uint8_t* data, size_t size) { return size >= 2 && data[0] == 0x1f && data[1] == 0x8b; }
}  // namespace

std::vector<uint8_t> gunzip(const uint8_t* data, size_t size, const std::string& name, size_t max_out) {
  if (!is_gzip(data, size)) {
    CHERRY_CHECK(size <= max_out, kOp, name, ": ", size, " bytes is over the limit of ", max_out);
    return std::vector<uint8_t>(data, data + size);
  }
  z_stream zs{};
  // 15 + 32: auto-detect the gzip or zlib header, full window.
  CHERRY_CHECK(inflateInit2(&zs, 15 + 32) == Z_OK, kOp, name, ": zlib inflateInit2 failed");
  struct Ender {
    z_stream* z;
    ~Ender() { inflateEnd(z); }
  } ender{&zs};

  std::vector<uint8_t> out;
  // The gzip trailer holds the size mod 2^32: a good first guess, but only trusted up to deflate's
  // maximum ratio (1032:1), so a forged trailer cannot make us allocate for nothing.
  size_t guess = size >= 18 ? size_t(data[size - 4]) | size_t(data[size - 3]) << 8 | size_t(data[size - 2]) << 16 |
                                  size_t(data[size - 1]) << 24
                            : 0;
  guess = std::min(guess, size * 1032);
  const size_t first_hi = std::min<size_t>(max_out + 1, size_t(1) << 28);
  out.resize(std::max(std::min(guess + 1, first_hi), std::min<size_t>(4096, first_hi)));
  size_t in_pos = 0, out_pos = 0;
  for (;;) {
    const size_t in_chunk = std::min<size_t>(size - in_pos, std::numeric_limits<uInt>::max());
    if (out_pos == out.size()) {
      CHERRY_CHECK(out.size() <= max_out, kOp, name, ": decompresses to more than ", max_out, " bytes");
      out.resize(std::min(out.size() * 2, max_out + 1));
    }
    const size_t out_chunk = std::min<size_t>(out.size() - out_pos, std::numeric_limits<uInt>::max());
    zs.next_in = const_cast<Bytef*>(data + in_pos);
    zs.avail_in = uInt(in_chunk);
    zs.next_out = out.data() + out_pos;
    zs.avail_out = uInt(out_chunk);
    const int rc = inflate(&zs, Z_NO_FLUSH);
    in_pos += in_chunk - zs.avail_in;
    out_pos += out_chunk - zs.avail_out;
    if (rc == Z_STREAM_END) {
      if (in_pos == size) break;
      // Another gzip member may follow (gzip concatenation); anything else is trailing garbage.
      CHERRY_CHECK(is_gzip(data + in_pos, size - in_pos), kOp, name, ": ", size - in_pos,
                   " bytes of trailing garbage after the gzip stream");
      CHERRY_CHECK(inflateReset(&zs) == Z_OK, kOp, name, ": zlib inflateReset failed");
      continue;
    }
    CHERRY_CHECK(rc != Z_DATA_ERROR, kOp, name, ": corrupt gzip data (", zs.msg ? zs.msg : "no detail", ")");
    CHERRY_CHECK(rc != Z_MEM_ERROR, kOp, name, ": zlib ran out of memory");
    CHERRY_CHECK(rc == Z_OK || rc == Z_BUF_ERROR, kOp, name, ": zlib inflate failed with code ", rc);
    // No progress with all input consumed and room to write: the stream stops early.
    CHERRY_CHECK(!(in_pos == size && zs.avail_out > 0), kOp, name, ": truncated gzip data (stream ends after ", size,
                 " compressed bytes)");
  }
  CHERRY_CHECK(out_pos <= max_out, kOp, name, ": decompresses to more than ", max_out, " bytes");
  out.resize(out_pos);
  out.shrink_to_fit();
  return out;
}

IdxArray parse_idx(const uint8_t* data, size_t size, const std::string& name) {
  CHERRY_CHECK(size >= 4, kOp, name, ": ", size, " bytes is too short for an IDX header (truncated file?)");
  CHERRY_CHECK(data[0] == 0 && data[1] == 0, kOp, name, ": bad IDX magic ", int(data[0]), ",", int(data[1]),
               " (expected 0,0; not an IDX file, or a gzip file that was not decompressed)");
  CHERRY_CHECK(data[2] == 0x08, kOp, name, ": IDX element type 0x", std::hex, int(data[2]), std::dec,
               " is not supported (only 0x08, unsigned byte)");
  const int ndim = data[3];
  CHERRY_CHECK(ndim >= 1 && ndim <= 4, kOp, name, ": IDX rank ", ndim, " (expected 1..4)");
  const size_t header = 4 + 4 * size_t(ndim);
  CHERRY_CHECK(size >= header, kOp, name, ": ", size, " bytes is too short for a rank-", ndim,
               " IDX header of ", header, " bytes (truncated file?)");
  IdxArray a;
  // 128-bit product, capped, so hostile dims cannot wrap around to a small byte count.
  using u128 = unsigned __int128;
  u128 numel = 1;
  const u128 cap = u128(1) << 64;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t n = read_be32(data + 4 + 4 * d);
    a.dims.push_back(int64_t(n));
    numel = std::min<u128>(numel * n, cap);
  }
  const u128 need = header + numel;
  CHERRY_CHECK(need == size, kOp, name, ": dims ", shape_str(a.dims), " need ",
               need >= cap ? std::string("over 2^64") : std::to_string(uint64_t(need)), " bytes, the file has ", size,
               need > size ? " (truncated file?)" : " (trailing bytes)");
  a.data.assign(data + header, data + size);
  return a;
}

IdxArray read_idx(const std::string& path) {
  const auto raw = read_file_bytes(path, kOp);
  const auto bytes = gunzip(raw.data(), raw.size(), path, kMaxFileBytes);
  return parse_idx(bytes.data(), bytes.size(), path);
}

}  // namespace cherry
