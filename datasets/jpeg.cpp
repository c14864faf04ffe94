// libjpeg-turbo behind a setjmp/longjmp error manager. The functions that call setjmp hold no C++
// objects with destructors after the setjmp point (a longjmp over them would be undefined); they
// report failure through a flag and their callers throw.
#include "datasets/jpeg.h"

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
// jpeglib.h needs size_t and FILE declared first.
#include <jerror.h>
#include <jpeglib.h>

#include "core/error.h"
#include "datasets/dataset.h"

namespace cherry {

namespace {
constexpr const char* kOp = "decode_jpeg";
constexpr int kMaxScans = 500;  // progressive files with more scans are hostile (libjpeg-turbo's own fuzz limit)

struct ErrorManager {
  jpeg_error_mgr pub;  // first member: libjpeg hands us a jpeg_error_mgr*
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* em = reinterpret_cast<ErrorManager*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, em->message);
  std::longjmp(em->jump, 1);
}

// Warnings (level -1) that mean the pixels are wrong become errors; metadata oddities that leave the
// image intact stay silent. Trace messages (level >= 0) are ignored.
void on_message(j_common_ptr cinfo, int level) {
  if (level >= 0) return;
  switch (cinfo->err->msg_code) {
    case JWRN_ADOBE_XFORM:
    case JWRN_JFIF_MAJOR:
    case JWRN_BOGUS_ICC:
    case JWRN_EXTRANEOUS_DATA:  // stray bytes before a marker: common in web photos, pixels fine
      return;
    default:
      on_error(cinfo);
  }
}

void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (cinfo->is_decompressor && d->input_scan_number > kMaxScans) {
    auto* em = reinterpret_cast<ErrorManager*>(cinfo->err);
    std::snprintf(em->message, sizeof em->message, "more than %d progressive scans", kMaxScans);
    std::longjmp(em->jump, 1);
  }
}

struct DecodeContext {
  jpeg_decompress_struct cinfo;
  ErrorManager err;
  jpeg_progress_mgr progress;
  bool cmyk = false;
};

// Returns false with ctx.err.message set. `out`, `row` and `rgb` live in the caller, so nothing here
// needs destroying when libjpeg long-jumps back.
bool decode_impl(DecodeContext& ctx, const uint8_t* data, size_t size, int64_t max_pixels, Image& out,
                 std::vector<uint8_t>& row, std::vector<uint8_t>& rgb) {
  jpeg_decompress_struct& cinfo = ctx.cinfo;
  cinfo.err = jpeg_std_error(&ctx.err.pub);
  ctx.err.pub.error_exit = on_error;
  ctx.err.pub.emit_message = on_message;
  ctx.err.message[0] = '\0';
  if (setjmp(ctx.err.jump)) return false;
  jpeg_create_decompress(&cinfo);
  cinfo.mem->max_memory_to_use = size_t(1) << 30;  // no backing store: over this is an error, not a swap storm
  ctx.progress.progress_monitor = on_progress;
  cinfo.progress = &ctx.progress;
  jpeg_mem_src(&cinfo, data, static_cast<unsigned long>(size));
  jpeg_read_header(&cinfo, TRUE);
  if (int64_t(cinfo.image_width) * int64_t(cinfo.image_height) > max_pixels) {
    std::snprintf(ctx.err.message, sizeof ctx.err.message, "image is %ux%u, over the limit of %lld pixels",
                  cinfo.image_width, cinfo.image_height, static_cast<long long>(max_pixels));
    return false;
  }
  ctx.cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = ctx.cmyk ? JCS_CMYK : JCS_RGB;
  jpeg_start_decompress(&cinfo);
  out.height = cinfo.output_height;
  out.width = cinfo.output_width;
  out.channels = 3;
  // Reserve, then append row by row: a hostile header promising a huge image that ends after a few
  // bytes costs an untouched allocation, not a memset of the whole promise.
  out.pixels.reserve(size_t(out.height * out.width * 3));
  row.resize(size_t(out.width) * size_t(cinfo.output_components));
  rgb.resize(size_t(out.width) * 3);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW rows[1] = {row.data()};
    jpeg_read_scanlines(&cinfo, rows, 1);
    if (ctx.cmyk) {
      // Adobe writes CMYK inverted (0 = full ink); without its marker the values are plain ink amounts.
      const bool inverted = cinfo.saw_Adobe_marker;
      for (int64_t x = 0; x < out.width; ++x) {
        const uint8_t* p = row.data() + x * 4;
        const unsigned k = inverted ? p[3] : 255u - p[3];
        for (int ch = 0; ch < 3; ++ch) rgb[size_t(x * 3 + ch)] = uint8_t(((inverted ? p[ch] : 255u - p[ch]) * k + 127u) / 255u);
      }
      out.pixels.insert(out.pixels.end(), rgb.begin(), rgb.end());
    } else {
      out.pixels.insert(out.pixels.end(), row.begin(), row.end());
    }
  }
  jpeg_finish_decompress(&cinfo);
  return true;
}

struct EncodeContext {
  jpeg_compress_struct cinfo;
  ErrorManager err;
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
};

bool encode_impl(EncodeContext& ctx, const Image& img, int quality) {
  jpeg_compress_struct& cinfo = ctx.cinfo;
  cinfo.err = jpeg_std_error(&ctx.err.pub);
  ctx.err.pub.error_exit = on_error;
  if (setjmp(ctx.err.jump)) return false;
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, &ctx.buffer, &ctx.size);
  cinfo.image_width = JDIMENSION(img.width);
  cinfo.image_height = JDIMENSION(img.height);
  cinfo.input_components = int(img.channels);
  cinfo.in_color_space = img.channels == 3 ? JCS_RGB : JCS_GRAYSCALE;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW rows[1] = {const_cast<JSAMPLE*>(img.pixels.data() + size_t(cinfo.next_scanline) * size_t(img.width * img.channels))};
    jpeg_write_scanlines(&cinfo, rows, 1);
  }
  jpeg_finish_compress(&cinfo);
  return true;
}
}  // namespace

Image decode_jpeg(const uint8_t* data, size_t size, const std::string& name, int64_t max_pixels) {
  CHERRY_CHECK(size > 0, kOp, name, ": empty file");
  Image out;
  std::vector<uint8_t> row, rgb;
  DecodeContext ctx{};
  struct Destroyer {  // also on bad_alloc from our own vectors; safe on a never-created struct (mem == null)
    jpeg_decompress_struct* c;
    ~Destroyer() { jpeg_destroy_decompress(c); }
  } destroyer{&ctx.cinfo};
  const bool ok = decode_impl(ctx, data, size, max_pixels, out, row, rgb);
  CHERRY_CHECK(ok, kOp, name, ": corrupt or unsupported JPEG: ", ctx.err.message);
  return out;
}

Image read_jpeg(const std::string& path, int64_t max_pixels) {
  const auto bytes = read_file_bytes(path, kOp);
  return decode_jpeg(bytes.data(), bytes.size(), path, max_pixels);
}

std::vector<uint8_t> encode_jpeg(const Image& image, int quality) {
  CHERRY_CHECK(image.channels == 1 || image.channels == 3, "encode_jpeg", "need 1 or 3 channels, got ", image.channels);
  CHERRY_CHECK(image.height > 0 && image.width > 0 && image.pixels.size() == size_t(image.height * image.width * image.channels),
               "encode_jpeg", "image ", image.height, "x", image.width, "x", image.channels, " has ", image.pixels.size(),
               " bytes");
  EncodeContext ctx{};
  const bool ok = encode_impl(ctx, image, quality);
  std::vector<uint8_t> bytes;
  if (ok) bytes.assign(ctx.buffer, ctx.buffer + ctx.size);
  jpeg_destroy_compress(&ctx.cinfo);
  std::free(ctx.buffer);  // jpeg_mem_dest allocates with malloc and leaves freeing to us
  CHERRY_CHECK(ok, "encode_jpeg", "libjpeg failed: ", ctx.err.message);
  return bytes;
}

}  // namespace cherry
