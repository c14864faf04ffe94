// Dataset file readers: IDX round trips and one malformed file per validation rule (each must throw
// cherry::Error naming the file), the installed Fashion-MNIST (counts, labels, pixel statistics),
// JPEG decode against in-test encodes plus corrupt/truncated input, and archive unpacking with its
// safety rules and completion marker. Fixtures go to a temp folder, removed after. Not here: image
// folders, transforms and CIFAR-10 (test_datasets_images.cpp), the DataLoader
// (test_datasets_loader.cpp), fuzzing (tests/fuzz/).
#include <doctest/doctest.h>
#include <zlib.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "datasets/archive.h"
#include "datasets/fashion_mnist.h"
#include "datasets/idx.h"
#include "datasets/jpeg.h"
#include "datasets_fixtures.h"

#ifndef CHERRY_FIXTURES_DIR
#define CHERRY_FIXTURES_DIR "tests/fixtures"
#endif

using namespace cherry;
using namespace cherry::test;
namespace fs = std::filesystem;

namespace {

std::vector<uint8_t> idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b{0, 0, type, uint8_t(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back(uint8_t(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

Image gradient_image(int64_t h, int64_t w, int64_t c) {
  Image im{h, w, c, std::vector<uint8_t>(size_t(h * w * c))};
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k) im.pixels[size_t((y * w + x) * c + k)] = uint8_t(20 + 4 * y + 3 * x + 30 * k);
  return im;
}

}  // namespace

TEST_CASE("idx: gzip and plain files round trip, and Fashion-MNIST layout from a tiny folder") {
  TempDir dir;
  std::vector<uint8_t> pixels(3 * 4 * 4), labels{2, 0, 9};
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(i * 5);
  write_gz(dir.file("train-images-idx3-ubyte.gz"), idx_bytes(0x08, {3, 4, 4}, pixels));
  write_gz(dir.file("train-labels-idx1-ubyte.gz"), idx_bytes(0x08, {3}, labels));
  write_bytes(dir.file("plain.idx"), idx_bytes(0x08, {3, 4, 4}, pixels));

  const IdxArray a = read_idx(dir.file("train-images-idx3-ubyte.gz"));
  CHECK(a.dims == Shape{3, 4, 4});
  CHECK(a.data == pixels);
  CHECK(read_idx(dir.file("plain.idx")).data == pixels);

  FashionMnist ds({.split = "train", .dir = dir.path.string()});
  CHECK(ds.size() == 3);
  CHECK(ds.sample_shape() == Shape{1, 4, 4});
  std::vector<float> out(16);
  Generator g(0);
  CHECK(ds.get(2, g, out.data()) == 9);
  CHECK(out[3] == doctest::Approx((float(pixels[32 + 3]) / 255.0f - 0.2860f) / 0.3530f).epsilon(1e-5));
  CHECK_THROWS_AS(ds.get(3, g, out.data()), Error);
}

TEST_CASE("idx: malformed files throw cherry::Error naming the file") {
  TempDir dir;
  const std::vector<uint8_t> px(2 * 3 * 3, 7);
  auto bad = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    write_bytes(dir.file(name), bytes);
    CHECK_THROWS_NAMING(read_idx(dir.file(name)), name);
  };
  bad("magic.idx", {1, 2, 8, 1, 0, 0, 0, 1, 5});
  bad("type.idx", idx_bytes(0x0D, {2}, {0, 0, 0, 0, 0, 0, 0, 0}));  // f32 elements
  bad("rank.idx", {0, 0, 8, 0});
  bad("short_header.idx", {0, 0, 8, 3, 0, 0});
  auto truncated = idx_bytes(0x08, {2, 3, 3}, px);
  truncated.pop_back();
  bad("truncated.idx", truncated);
  auto trailing = idx_bytes(0x08, {2, 3, 3}, px);
  trailing.push_back(0);
  bad("trailing.idx", trailing);
  bad("huge_dims.idx", idx_bytes(0x08, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF}, {1, 2, 3}));
  bad("empty.idx", {});

  // A truncated gzip stream and a corrupt one.
  write_gz(dir.file("whole.gz"), idx_bytes(0x08, {2, 3, 3}, px));
  std::ifstream in(dir.file("whole.gz"), std::ios::binary);
  std::vector<uint8_t> gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bad("cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + std::ptrdiff_t(gz.size() / 2)));
  auto corrupt = gz;
  for (size_t i = 12; i < corrupt.size(); ++i) corrupt[i] ^= 0x5A;
  bad("corrupt.gz", corrupt);
  CHECK_THROWS_NAMING(read_idx(dir.file("missing.gz")), "missing.gz");

  // Pairs that disagree: image/label counts, and a label outside 0..9.
  auto pair = [&](const std::string& sub, const std::vector<uint8_t>& labels, uint32_t nlabels) {
    const fs::path d = dir.path / sub;
    fs::create_directories(d);
    write_gz((d / "train-images-idx3-ubyte.gz").string(), idx_bytes(0x08, {2, 3, 3}, px));
    write_gz((d / "train-labels-idx1-ubyte.gz").string(), idx_bytes(0x08, {nlabels}, labels));
    return d.string();
  };
  CHECK_THROWS_NAMING(FashionMnist({.dir = pair("count", {1, 2, 3}, 3)}), "train-labels-idx1-ubyte.gz");
  CHECK_THROWS_NAMING(FashionMnist({.dir = pair("range", {1, 10}, 2)}), "label 10");
  CHECK_THROWS_NAMING(FashionMnist({.split = "val", .dir = dir.path.string()}), "val");
  CHECK_THROWS_NAMING(FashionMnist({.dir = dir.file("nowhere")}), "dataset-fashion-mnist");
}

TEST_CASE("fashion-mnist: the installed official files (60000/10000, labels 0..9, mean 0.2860, std 0.3530)") {
  REQUIRE_MESSAGE(fs::exists(std::string(kFashionMnistDir) + "/train-images-idx3-ubyte.gz"),
                  "Fashion-MNIST is missing from ", kFashionMnistDir, ": run scripts/install_deps.sh (apt-get install dataset-fashion-mnist)");
  const FashionMnist train({.split = "train", .dir = kFashionMnistDir}), test({.split = "test", .dir = kFashionMnistDir});
  CHECK(train.size() == 60000);
  CHECK(test.size() == 10000);
  CHECK(train.sample_shape() == Shape{1, 28, 28});
  std::vector<int64_t> counts(10, 0);
  for (uint8_t l : train.labels()) ++counts[l];
  for (int64_t c : counts) CHECK(c == 6000);  // the official split is balanced
  double sum = 0, sq = 0;
  for (uint8_t p : train.pixels()) {
    const double v = p / 255.0;
    sum += v;
    sq += v * v;
  }
  const double n = double(train.pixels().size()), mean = sum / n, std = std::sqrt(sq / n - mean * mean);
  CHECK(std::abs(mean - 0.2860) < 1e-3);
  CHECK(std::abs(std - 0.3530) < 1e-3);
  // Normalised train pixels then have mean ~0 and std ~1.
  std::vector<float> out(784);
  Generator g(0);
  train.get(0, g, out.data());
  for (float v : out) CHECK((v >= -0.811f && v <= 2.023f));
}

TEST_CASE("jpeg: decode matches what was encoded, within JPEG tolerance") {
  for (int64_t c : {3, 1}) {
    const Image src = gradient_image(20, 28, c);
    const auto bytes = encode_jpeg(src, 95);
    const Image back = decode_jpeg(bytes.data(), bytes.size(), "<memory>");
    REQUIRE(back.height == 20);
    REQUIRE(back.width == 28);
    REQUIRE(back.channels == 3);  // grayscale comes back as RGB
    double err = 0, worst = 0;
    for (int64_t i = 0; i < 20 * 28; ++i)
      for (int64_t k = 0; k < 3; ++k) {
        const double d = std::abs(double(back.pixels[size_t(i * 3 + k)]) - double(src.pixels[size_t(i * c + (c == 3 ? k : 0))]));
        err += d;
        worst = std::max(worst, d);
      }
    CHECK(err / (20 * 28 * 3) < 3.0);
    CHECK(worst < 24.0);  // chroma subsampling smears colour edges a little
  }
}

TEST_CASE("jpeg: every fuzz seed decodes (progressive, restart markers, arithmetic, 4:4:4, gray, CMYK, YCCK)") {
  const fs::path seeds = fs::path(CHERRY_FIXTURES_DIR) / ".." / "fuzz" / "corpus" / "jpeg";
  int n = 0;
  for (const auto& e : fs::directory_iterator(seeds)) {
    const Image im = read_jpeg(e.path().string());
    CHECK_MESSAGE((im.height > 0 && im.width > 0 && im.channels == 3), e.path());
    ++n;
  }
  CHECK(n >= 8);
}

TEST_CASE("jpeg: corrupt, truncated and non-JPEG input throw naming the file") {
  TempDir dir;
  const auto good = encode_jpeg(gradient_image(32, 32, 3), 90);
  write_bytes(dir.file("good.jpg"), good);
  CHECK(read_jpeg(dir.file("good.jpg")).width == 32);
  auto check_bad = [&](const std::string& name, const std::vector<uint8_t>& bytes) {
    write_bytes(dir.file(name), bytes);
    CHECK_THROWS_NAMING(read_jpeg(dir.file(name)), name);
  };
  check_bad("truncated.jpg", std::vector<uint8_t>(good.begin(), good.begin() + std::ptrdiff_t(good.size() * 2 / 3)));
  check_bad("header_only.jpg", std::vector<uint8_t>(good.begin(), good.begin() + 20));
  check_bad("png.jpg", {0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13});
  check_bad("empty.jpg", {});
  auto scrambled = good;
  for (size_t i = scrambled.size() / 2; i < scrambled.size() - 2; ++i) scrambled[i] = uint8_t(i * 37);
  check_bad("scrambled.jpg", scrambled);
  CHECK_THROWS_NAMING(decode_jpeg(good.data(), good.size(), "big", 32 * 31), "over the limit");
}

TEST_CASE("archive: unpacks once behind a marker, and traversal, absolute paths and links are rejected") {
  TempDir dir;
  const fs::path cache = dir.path / "cache";
  write_tar_gz(dir.file("data.tar.gz"), {{"./README.md", "hi"}, {"train/", "", AE_IFDIR}, {"train/a/1.txt", "one"}, {"train/b/2.txt", "two"}});
  const fs::path out = ensure_unpacked(dir.file("data.tar.gz"), cache.string());
  CHECK(out == cache / "data");
  CHECK(slurp(out / "train/a/1.txt") == "one");
  CHECK(slurp(out / "README.md") == "hi");
  CHECK(fs::exists(out / ".cherry-unpacked"));
  // Second call: no unpack (a local edit survives).
  std::ofstream(out / "train/a/1.txt") << "edited";
  CHECK(ensure_unpacked(dir.file("data.tar.gz"), cache.string()) == out.string());
  CHECK(slurp(out / "train/a/1.txt") == "edited");
  // An interrupted unpack (no marker) is redone from scratch.
  fs::remove(out / ".cherry-unpacked");
  CHECK(ensure_unpacked(dir.file("data.tar.gz"), cache.string()) == out.string());
  CHECK(slurp(out / "train/a/1.txt") == "one");

  const std::vector<std::pair<std::string, std::vector<TarEntry>>> evil{
      {"dotdot.tar.gz", {{"ok.txt", "x"}, {"../escaped.txt", "pwned"}}},
      {"nested.tar.gz", {{"a/../../escaped.txt", "pwned"}}},
      {"absolute.tar.gz", {{"/tmp/cherry_escaped_abs.txt", "pwned"}}},
      {"symlink.tar.gz", {{"link", "", AE_IFLNK, "/etc"}, {"link/passwd", "pwned"}}},
  };
  for (const auto& [name, entries] : evil) {
    const std::string archive = name;  // clang 14 cannot capture a structured binding
    write_tar_gz(dir.file(archive), entries);
    CHECK_THROWS_NAMING(ensure_unpacked(dir.file(archive), cache.string()), archive);
  }
  CHECK_FALSE(fs::exists(cache / "escaped.txt"));
  CHECK_FALSE(fs::exists(dir.path / "escaped.txt"));
  CHECK_FALSE(fs::exists("/tmp/cherry_escaped_abs.txt"));
  for (const auto& e : fs::directory_iterator(cache)) CHECK_MESSAGE(e.path().filename() == "data", "left behind: ", e.path());

  // A truncated archive is an error and leaves nothing that looks complete.
  write_tar_gz(dir.file("big.tar.gz"), {{"f.bin", std::string(200000, 'q')}, {"g.bin", std::string(100, 'r')}});
  std::string bytes = slurp(dir.file("big.tar.gz"));
  std::ofstream(dir.file("cut.tar.gz"), std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  CHECK_THROWS_NAMING(ensure_unpacked(dir.file("cut.tar.gz"), cache.string()), "cut.tar.gz");
  CHECK_FALSE(fs::exists(cache / "cut"));
}
