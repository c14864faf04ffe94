#!/usr/bin/env bash
# Regenerates the seed corpora of fuzz_idx and fuzz_jpeg (tests/fuzz/corpus/{idx,jpeg}/): tiny valid
# inputs that between them reach every decoder path we handle - IDX images/labels plain and gzip
# (two gzip members too), an empty IDX array; baseline 4:2:0 and 4:4:4 RGB, grayscale, progressive,
# restart intervals, arithmetic coding, and CMYK/YCCK (the Adobe-marker path). Needs a C++ compiler,
# libjpeg-turbo and zlib headers. The seeds are committed, so CI never needs to run this.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$here/corpus/idx" "$here/corpus/jpeg"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/seeds.cpp" <<'CPP'
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>
#include <jpeglib.h>
#include <zlib.h>

static void put(const std::string& path, const std::vector<unsigned char>& b) {
  FILE* f = std::fopen(path.c_str(), "wb");
  std::fwrite(b.data(), 1, b.size(), f);
  std::fclose(f);
}
static std::vector<unsigned char> idx(std::vector<unsigned> dims) {
  std::vector<unsigned char> b{0, 0, 8, (unsigned char)dims.size()};
  size_t n = 1;
  for (unsigned d : dims) { for (int s = 24; s >= 0; s -= 8) b.push_back((unsigned char)(d >> s)); n *= d; }
  for (size_t i = 0; i < n; ++i) b.push_back((unsigned char)(i * 37 % 251));
  return b;
}
static std::vector<unsigned char> gz(const std::vector<unsigned char>& in) {
  std::vector<unsigned char> out(in.size() + 64);
  z_stream z{};
  deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);  // gzip wrapper
  z.next_in = const_cast<unsigned char*>(in.data()); z.avail_in = in.size();
  z.next_out = out.data(); z.avail_out = out.size();
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}
static void jpeg(const std::string& path, int w, int h, J_COLOR_SPACE in, int comps, int variant) {
  jpeg_compress_struct c; jpeg_error_mgr e;
  c.err = jpeg_std_error(&e);
  jpeg_create_compress(&c);
  unsigned char* buf = nullptr; unsigned long size = 0;
  jpeg_mem_dest(&c, &buf, &size);
  c.image_width = w; c.image_height = h; c.input_components = comps; c.in_color_space = in;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 60, TRUE);
  if (variant == 1) jpeg_simple_progression(&c);
  if (variant == 2) c.restart_interval = 1;
  if (variant == 3) c.arith_code = TRUE;
  if (variant == 4) for (int i = 0; i < c.num_components; ++i) c.comp_info[i].h_samp_factor = c.comp_info[i].v_samp_factor = 1;
  if (variant == 5) jpeg_set_colorspace(&c, JCS_YCCK);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(w * comps);
  while (c.next_scanline < c.image_height) {
    for (int x = 0; x < w * comps; ++x) row[x] = (unsigned char)((x * 29 + c.next_scanline * 17) & 0xff);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  put(path, std::vector<unsigned char>(buf, buf + size));
  std::free(buf);
  jpeg_destroy_compress(&c);
}
int main(int, char** argv) {
  const std::string d = argv[1];
  put(d + "/idx/labels.idx", idx({6}));
  put(d + "/idx/images.idx", idx({2, 3, 3}));
  put(d + "/idx/images.idx.gz", gz(idx({3, 4, 4})));
  std::vector<unsigned char> joined = gz({0, 0, 8, 1});  // two gzip members: IDX bytes split across them
  auto rest = gz({0, 0, 0, 2, 7, 9});
  joined.insert(joined.end(), rest.begin(), rest.end());
  put(d + "/idx/two_members.gz", joined);
  put(d + "/idx/empty.idx", idx({0, 28, 28}));
  jpeg(d + "/jpeg/rgb_420.jpg", 16, 12, JCS_RGB, 3, 0);
  jpeg(d + "/jpeg/progressive.jpg", 16, 16, JCS_RGB, 3, 1);
  jpeg(d + "/jpeg/restart.jpg", 24, 8, JCS_RGB, 3, 2);
  jpeg(d + "/jpeg/arith.jpg", 8, 8, JCS_RGB, 3, 3);
  jpeg(d + "/jpeg/rgb_444.jpg", 9, 7, JCS_RGB, 3, 4);
  jpeg(d + "/jpeg/gray.jpg", 8, 8, JCS_GRAYSCALE, 1, 0);
  jpeg(d + "/jpeg/cmyk.jpg", 8, 8, JCS_CMYK, 4, 0);
  jpeg(d + "/jpeg/ycck.jpg", 8, 8, JCS_CMYK, 4, 5);
  return 0;
}
CPP
"${CXX:-c++}" -O1 -o "$tmp/seeds" "$tmp/seeds.cpp" -ljpeg -lz
"$tmp/seeds" "$here/corpus"
ls -l "$here/corpus/idx" "$here/corpus/jpeg"
