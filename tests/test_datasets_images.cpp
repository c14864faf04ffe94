// Image datasets: ImageFolder scanning (sorted classes/files, what is skipped), decode-on-demand vs
// decoded cache, errors naming the image; the transforms' geometry (pad-crop window, flip, resize +
// center crop offsets, PIL-style antialiasing, RandomResizedCrop bounds); and the CIFAR-10 JPEG copy
// from ../shared/data (unpack time, counts, channel statistics, loader throughput with augmentation).
// Not here: IDX/JPEG/archive parsing (test_datasets.cpp), loader semantics (test_datasets_loader.cpp).
#include <doctest/doctest.h>

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "datasets/archive.h"
#include "datasets/image_folder.h"
#include "datasets/jpeg.h"
#include "datasets/loader.h"
#include "datasets_fixtures.h"

using namespace cherry;
using namespace cherry::test;
namespace fs = std::filesystem;

namespace {

Image noise_image(int64_t h, int64_t w, int64_t c, uint32_t seed) {
  std::mt19937 rng(seed);
  Image im{h, w, c, std::vector<uint8_t>(size_t(h * w * c))};
  for (auto& p : im.pixels) p = uint8_t(rng() & 0xff);
  return im;
}

std::vector<float> run(const ImageTransform& t, const Image& im, uint64_t seed) {
  std::vector<float> out(size_t(im.channels * t.size * t.size));
  Generator g(seed);
  apply_transform(t, im.pixels.data(), im.height, im.width, im.channels, g, out.data());
  return out;
}

}  // namespace

TEST_CASE("image folder: sorted classes and files, skips non-JPEG and hidden entries, and cache equals on-demand") {
  TempDir dir;
  const fs::path train = dir.path / "train";
  write_jpeg(train / "dog" / "b.jpg", noise_image(32, 32, 3, 1));
  write_jpeg(train / "dog" / "a.JPEG", noise_image(32, 32, 3, 2));
  write_jpeg(train / "cat" / "z.jpeg", noise_image(32, 32, 3, 3));
  write_jpeg(train / "dog" / ".hidden.jpg", noise_image(32, 32, 3, 4));
  write_jpeg(train / ".git" / "x.jpg", noise_image(32, 32, 3, 5));
  std::ofstream(train / "dog" / "notes.txt") << "not an image";

  ImageFolderOptions o{.root = dir.path.string(), .split = "train", .transform = ImageTransform::cifar_train()};
  const ImageFolder lazy(o);
  o.cache_decoded = true;
  o.decode_threads = 2;
  const ImageFolder cached(o);
  CHECK(lazy.class_names() == std::vector<std::string>{"cat", "dog"});
  REQUIRE(lazy.size() == 3);
  CHECK(fs::path(lazy.files()[0]).filename() == "z.jpeg");
  CHECK(fs::path(lazy.files()[1]).filename() == "a.JPEG");
  CHECK(fs::path(lazy.files()[2]).filename() == "b.jpg");
  CHECK(lazy.labels() == std::vector<int64_t>{0, 1, 1});
  CHECK(lazy.sample_shape() == Shape{3, 32, 32});
  for (int64_t i = 0; i < 3; ++i) {
    std::vector<float> a(3 * 32 * 32), b(a.size());
    Generator ga(100 + uint64_t(i)), gb(100 + uint64_t(i));
    CHECK(lazy.get(i, ga, a.data()) == cached.get(i, gb, b.data()));
    CHECK(a == b);
  }

  // Errors name the culprit: missing split, wrong image size, corrupt file (lazy: in get; cached: at start).
  CHECK_THROWS_NAMING(ImageFolder({.root = dir.path.string(), .split = "val", .transform = ImageTransform::cifar_eval()}), "val");
  write_jpeg(dir.path / "odd" / "c" / "big.jpg", noise_image(40, 36, 3, 6));
  const ImageFolder odd({.root = dir.path.string(), .split = "odd", .transform = ImageTransform::cifar_eval()});
  std::vector<float> buf(3 * 32 * 32);
  Generator g(0);
  CHECK_THROWS_NAMING(odd.get(0, g, buf.data()), "big.jpg");
  fs::create_directories(dir.path / "bad" / "c");
  std::ofstream(dir.path / "bad" / "c" / "broken.jpg") << "\xff\xd8\xff garbage";
  const ImageFolder bad({.root = dir.path.string(), .split = "bad", .transform = ImageTransform::cifar_eval()});
  CHECK_THROWS_NAMING(bad.get(0, g, buf.data()), "broken.jpg");
  CHECK_THROWS_NAMING(ImageFolder({.root = dir.path.string(), .split = "bad", .transform = ImageTransform::cifar_eval(), .cache_decoded = true}),
                      "broken.jpg");
}

TEST_CASE("image folder: an evaluation split is labelled by the training split's classes, and an unknown class is refused") {
  TempDir dir;
  write_jpeg(dir.path / "train" / "airplane" / "a.jpg", noise_image(32, 32, 3, 1));
  write_jpeg(dir.path / "train" / "cat" / "b.jpg", noise_image(32, 32, 3, 2));
  write_jpeg(dir.path / "val" / "cat" / "c.jpg", noise_image(32, 32, 3, 3));
  const ImageFolder train({.root = dir.path.string(), .split = "train", .transform = ImageTransform::cifar_eval()});
  const ImageFolder val(
      {.root = dir.path.string(), .split = "val", .transform = ImageTransform::cifar_eval(), .classes = train.class_names()});
  CHECK(val.labels() == std::vector<int64_t>{1});  // cat, as in train (alone, its own folder list would say 0)
  CHECK(val.class_names() == train.class_names());
  write_jpeg(dir.path / "val" / "dog" / "d.jpg", noise_image(32, 32, 3, 4));
  CHECK_THROWS_WITH_AS(
      ImageFolder({.root = dir.path.string(), .split = "val", .transform = ImageTransform::cifar_eval(), .classes = train.class_names()}),
      doctest::Contains("dog is a class the training split does not have (its classes: airplane, cat)"), Error);
}

TEST_CASE("transforms: pad-crop is a window of the zero-padded image, flip mirrors it, all offsets occur") {
  const Image im = noise_image(32, 32, 3, 7);
  ImageTransform t = ImageTransform::cifar_train();
  t.mean.clear();
  t.std.clear();  // plain x / 255, to compare with the source pixels
  std::set<std::tuple<int64_t, int64_t, bool>> seen;
  for (uint64_t seed = 0; seed < 2000; ++seed) {  // 162 outcomes: all seen with near certainty
    const auto out = run(t, im, seed);
    Generator g(seed);  // the documented draw order: top, left, flip
    const int64_t top = int64_t(g.below(9)) - 4, left = int64_t(g.below(9)) - 4;
    const bool flip = g.uniform() < 0.5;
    seen.insert({top, left, flip});
    bool same = true;
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t y = 0; y < 32; ++y)
        for (int64_t x = 0; x < 32; ++x) {
          const int64_t sy = top + y, sx = left + (flip ? 31 - x : x);
          const float want = (sy < 0 || sy >= 32 || sx < 0 || sx >= 32) ? 0.0f : im.pixels[size_t((sy * 32 + sx) * 3 + c)] / 255.0f;
          same = same && std::abs(out[size_t((c * 32 + y) * 32 + x)] - want) < 1e-6f;
        }
    CHECK_MESSAGE(same, "seed ", seed);
  }
  CHECK(seen.size() == 9 * 9 * 2);
  // With normalisation the padding is (0 - mean) / std, as torchvision pads before normalising.
  const auto out = run(ImageTransform::cifar_train(), Image{32, 32, 3, std::vector<uint8_t>(3072, 0)}, 3);
  CHECK(out[0] == doctest::Approx(-0.4914 / 0.2470).epsilon(1e-5));
}

TEST_CASE("transforms: resize + center crop offsets, antialiased shrink, RandomResizedCrop bounds") {
  // A horizontal ramp 48x64, shorter side resized to 48 (ratio 1): the crop is columns 8..55, exactly.
  Image ramp{48, 64, 1, std::vector<uint8_t>(48 * 64)};
  for (int64_t y = 0; y < 48; ++y)
    for (int64_t x = 0; x < 64; ++x) ramp.pixels[size_t(y * 64 + x)] = uint8_t(x * 3);
  ImageTransform eval = ImageTransform::imagenet_eval(48);
  eval.resize_ratio = 1.0;
  eval.mean = {0.0f};
  eval.std = {1.0f};
  const auto out = run(eval, ramp, 0);
  for (int64_t x = 0; x < 48; ++x) CHECK(out[size_t(10 * 48 + x)] * 255.0f == doctest::Approx((x + 8) * 3).epsilon(1e-4));

  // Shrinking a one-pixel checkerboard 2x averages it (PIL-style); plain bilinear would alias.
  Image checker{64, 64, 1, std::vector<uint8_t>(64 * 64)};
  for (int64_t y = 0; y < 64; ++y)
    for (int64_t x = 0; x < 64; ++x) checker.pixels[size_t(y * 64 + x)] = ((x + y) % 2) ? 255 : 0;
  eval.size = 32;
  const auto shrunk = run(eval, checker, 0);
  for (int64_t y = 1; y < 31; ++y)  // the border rows/columns see a clipped filter, as in PIL
    for (int64_t x = 1; x < 31; ++x) CHECK(shrunk[size_t(y * 32 + x)] * 255.0f == doctest::Approx(127.5).epsilon(1e-4));

  // RandomResizedCrop: a convex combination of pixels, deterministic per seed, different across seeds.
  const Image photo = noise_image(120, 90, 3, 8);
  ImageTransform train = ImageTransform::imagenet_train(56);
  train.mean.clear();
  train.std.clear();
  const auto a = run(train, photo, 1), b = run(train, photo, 1), c = run(train, photo, 2);
  CHECK(a == b);
  CHECK(a != c);
  for (float v : a) CHECK((v >= -1e-5f && v <= 1.0f + 1e-5f));
  // Eval on a uniform image stays uniform after normalisation.
  const auto flat = run(ImageTransform::imagenet_eval(32), Image{50, 80, 3, std::vector<uint8_t>(50 * 80 * 3, 128)}, 0);
  CHECK(flat[0] == doctest::Approx((128 / 255.0 - 0.485) / 0.229).epsilon(1e-4));
  CHECK(flat[31] == doctest::Approx(flat[0]).epsilon(1e-5));
}

TEST_CASE("cifar10: cifar10() on a generated mini archive unpacks once into the cache and augments") {
  TempDir dir;
  std::vector<TarEntry> entries;
  for (const char* split : {"train", "test"})
    for (const char* cls : {"cat", "airplane"})
      for (int i = 0; i < 3; ++i) {
        const auto jpg = encode_jpeg(noise_image(32, 32, 3, uint32_t(i + 7 * cls[0])), 90);
        entries.emplace_back(cat(split, "/", cls, "/000", i, ".jpg"), std::string(jpg.begin(), jpg.end()));
      }
  fs::create_directories(dir.path / "data" / "cifar10");
  write_tar_gz((dir.path / "data" / "cifar10" / "cifar10-jpg.tar.gz").string(), entries);
  const std::string data = (dir.path / "data").string(), cache = (dir.path / "cache").string();
  const ImageFolder train = cifar10("train", true, data, cache), test = cifar10("test", false, data, cache);
  CHECK(fs::exists(dir.path / "cache" / "cifar10-jpg" / ".cherry-unpacked"));
  CHECK(train.size() == 6);
  CHECK(test.size() == 6);
  CHECK(train.class_names() == std::vector<std::string>{"airplane", "cat"});
  CHECK(train.options().transform.kind == ImageTransform::Kind::pad_crop);
  CHECK(test.options().transform.kind == ImageTransform::Kind::none);
  DataLoader loader(train, {.batch_size = 4, .seed = 2, .num_workers = 2});
  CHECK(loader.next()->images.shape() == Shape{4, 3, 32, 32});
  CHECK_THROWS_NAMING(cifar10("val", false, data, cache), "val");
  CHECK_THROWS_NAMING(cifar10("train", false, dir.file("nowhere"), cache), "cifar10-jpg.tar.gz");
}

TEST_CASE("cifar10: the shared archive holds 50000/10000 balanced images with the published channel statistics") {
  // Read straight from the archive in memory: the full unpack creates 60000 files, which takes
  // 3-45 s on these machines depending on the disk's mood (see the opt-in test below).
  const fs::path archive = fs::path(default_data_dir()) / "cifar10" / "cifar10-jpg.tar.gz";
  REQUIRE_MESSAGE(fs::exists(archive), "CIFAR-10 archive missing at ", archive.string(), " (set CHERRY_DATA_DIR)");
  std::map<std::string, std::map<std::string, int64_t>> counts;  // split -> class -> images
  std::vector<double> sum(3, 0.0), sq(3, 0.0);
  double pixels = 0;
  for_each_archive_file(archive.string(), [&](const std::string& name, std::vector<uint8_t>& bytes) {
    const fs::path p(name);
    if (p.extension() != ".jpg") return;
    const std::string split = p.begin()->string(), cls = std::next(p.begin())->string();
    ++counts[split][cls];
    if (split != "train") return;
    const Image im = decode_jpeg(bytes.data(), bytes.size(), name);
    REQUIRE(im.height == 32);
    REQUIRE(im.width == 32);
    for (size_t i = 0; i < im.pixels.size(); ++i) {
      const double v = im.pixels[i] / 255.0;
      sum[i % 3] += v;
      sq[i % 3] += v * v;
    }
    pixels += 1024;
  });
  REQUIRE(counts.size() == 2);
  for (const auto& [split_name, classes] : counts) {
    CHECK(classes.size() == 10);
    const std::string split = split_name;  // clang 14 cannot capture a structured binding
    for (const auto& entry : classes)
      CHECK_MESSAGE(entry.second == (split == "train" ? 5000 : 1000), split, "/", entry.first, ": ", entry.second);
  }
  for (size_t c = 0; c < 3; ++c) {
    const double mean = sum[c] / pixels, std = std::sqrt(sq[c] / pixels - mean * mean);
    CHECK(std::abs(mean - kCifar10Mean[c]) < 1e-3);
    CHECK(std::abs(std - kCifar10Std[c]) < 5e-3);  // JPEG smooths a little
  }
}

TEST_CASE("cifar10: full unpack into the cache, ImageFolder and loader throughput (opt-in: CHERRY_TEST_CIFAR=1)") {
  const char* opt_in = std::getenv("CHERRY_TEST_CIFAR");
  if (!opt_in || std::string(opt_in) != "1") {
    MESSAGE("skipped: set CHERRY_TEST_CIFAR=1 to unpack the real CIFAR-10 (60000 files) into the cache");
    return;
  }
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  const fs::path archive = fs::path(default_data_dir()) / "cifar10" / "cifar10-jpg.tar.gz";
  const std::string root = ensure_unpacked(archive.string());
  MESSAGE("cifar10: ensure_unpacked took ", std::chrono::duration<double>(clock::now() - t0).count(), " s (0 if cached)");
  t0 = clock::now();
  const ImageFolder train = cifar10("train", false), test = cifar10("test", false);
  MESSAGE("cifar10: scan + decode of 60000 images took ", std::chrono::duration<double>(clock::now() - t0).count(), " s");
  CHECK(train.size() == 50000);
  CHECK(test.size() == 10000);
  CHECK(train.class_names() == std::vector<std::string>{"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"});

  auto throughput = [&](const Dataset& ds, int64_t max_batches) {
    DataLoader loader(ds, {.batch_size = 128, .shuffle = true, .seed = 1, .num_workers = 2});
    const auto start = clock::now();
    int64_t images = 0;
    for (int64_t b = 0; b < max_batches; ++b) {
      auto batch = loader.next();
      if (!batch) break;
      images += batch->labels.numel();
    }
    return double(images) / std::chrono::duration<double>(clock::now() - start).count();
  };
  ImageFolder aug = train;  // shares the decoded pixels
  aug.set_transform(ImageTransform::cifar_train());
  const double cached = throughput(aug, 1 << 30);
  MESSAGE("cifar10 train loader, decoded cache, pad-crop + flip + normalise, 2 workers: ", cached, " images/s");
  CHECK(cached > 1000);
  const ImageFolder lazy({.root = root, .split = "train", .transform = ImageTransform::cifar_train()});
  MESSAGE("cifar10 train loader, decoding JPEG files per sample, 2 workers: ", throughput(lazy, 100), " images/s");
}
