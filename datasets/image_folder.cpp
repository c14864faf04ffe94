// ImageFolder: directory scan (sorted, so indices are the same on every machine), optional parallel
// decode into one arena, and get() = decode-or-lookup + transform. Errors name the image file.
#include "datasets/image_folder.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <filesystem>
#include <mutex>
#include <thread>

#include "datasets/archive.h"
#include "datasets/jpeg.h"

namespace cherry {

namespace fs = std::filesystem;

namespace {
constexpr const char* kOp = "ImageFolder";

bool is_jpeg_name(const fs::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return ext == ".jpg" || ext == ".jpeg";
}

// Sorted names of the entries of `dir` that pass `keep`; hidden entries (".", macOS "._x.jpg"
// resource forks) are never data.
template <class Keep> std::vector<std::string> sorted_entries(const fs::path& dir, Keep keep) {
  std::vector<std::string> names;
  std::error_code ec;
  for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (!n.empty() && n[0] != '.' && keep(*it)) names.push_back(n);
  }
  CHERRY_CHECK(!ec, kOp, "cannot list ", dir.string(), ": ", ec.message());
  std::sort(names.begin(), names.end());
  return names;
}
}  // namespace

ImageFolder::ImageFolder(ImageFolderOptions options) : options_(std::move(options)) {
  CHERRY_CHECK(options_.transform.size > 0, kOp, "transform.size is not set (use ImageTransform::cifar_train() or similar)");
  const fs::path dir = fs::path(options_.root) / options_.split;
  name_ = dir.string();
  CHERRY_CHECK(fs::is_directory(dir), kOp, dir.string(), " is not a folder (expected root/<split>/<class>/*.jpg)");
  const std::vector<std::string> folders = sorted_entries(dir, [](const fs::directory_entry& e) { return e.is_directory(); });
  CHERRY_CHECK(!folders.empty(), kOp, dir.string(), " has no class folders (expected root/<split>/<class>/*.jpg)");
  classes_ = options_.classes.empty() ? folders : options_.classes;
  for (const std::string& folder : folders) {
    const auto it = std::find(classes_.begin(), classes_.end(), folder);
    if (it == classes_.end()) {
      std::string known;
      for (const auto& c : classes_) known += (known.empty() ? "" : ", ") + c;
      throw Error(kOp, cat(dir.string(), "/", folder, " is a class the training split does not have (its classes: ", known, ")"));
    }
    const fs::path cdir = dir / folder;
    for (const auto& f : sorted_entries(cdir, [](const fs::directory_entry& e) { return e.is_regular_file() && is_jpeg_name(e.path()); })) {
      files_.push_back((cdir / f).string());
      labels_.push_back(int64_t(it - classes_.begin()));
    }
  }
  CHERRY_CHECK(!files_.empty(), kOp, dir.string(), " has ", classes_.size(), " class folders but no .jpg/.jpeg files");
  if (options_.cache_decoded) decode_all();
}

void ImageFolder::decode_all() {
  const size_t n = files_.size();
  std::vector<Image> images(n);
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mu;
  auto work = [&] {
    for (size_t i = next++; i < n; i = next++) {
      try {
        images[i] = read_jpeg(files_[i]);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mu);
        if (!error) error = std::current_exception();
        next = n;  // stop everyone early
      }
    }
  };
  int threads = options_.decode_threads > 0 ? options_.decode_threads : int(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, 64);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (auto& t : pool) t.join();
  if (error) std::rethrow_exception(error);

  auto d = std::make_shared<Decoded>();
  size_t total = 0;
  for (const auto& im : images) total += im.pixels.size();
  d->pixels.resize(total);
  d->offsets.resize(n);
  d->dims.resize(n);
  size_t at = 0;
  for (size_t i = 0; i < n; ++i) {
    d->offsets[i] = at;
    d->dims[i] = {int32_t(images[i].height), int32_t(images[i].width)};
    std::copy(images[i].pixels.begin(), images[i].pixels.end(), d->pixels.begin() + std::ptrdiff_t(at));
    at += images[i].pixels.size();
    images[i] = Image{};  // keep the peak near one copy
  }
  decoded_ = std::move(d);
}

void ImageFolder::set_transform(const ImageTransform& transform) {
  CHERRY_CHECK(transform.size > 0, kOp, "transform.size is not set");
  options_.transform = transform;
}

int64_t ImageFolder::get(int64_t index, Generator& rng, float* out_chw) const {
  CHERRY_CHECK(index >= 0 && index < size(), kOp, "index ", index, " out of range for ", name_, " (size ", size(), ")");
  const size_t i = size_t(index);
  try {
    if (decoded_) {
      const auto [h, w] = decoded_->dims[i];
      apply_transform(options_.transform, decoded_->pixels.data() + decoded_->offsets[i], h, w, 3, rng, out_chw);
    } else {
      const Image im = read_jpeg(files_[i]);
      apply_transform(options_.transform, im.pixels.data(), im.height, im.width, 3, rng, out_chw);
    }
  } catch (const Error& e) {
    // Decode errors already name the file; transform errors (wrong size) need it added.
    if (e.what() && std::string(e.what()).find(files_[i]) != std::string::npos) throw;
    throw Error(kOp, cat(files_[i], ": ", e.message()));
  }
  return labels_[i];
}

ImageFolder cifar10(const std::string& split, bool augment, const std::string& data_dir, const std::string& cache_dir) {
  CHERRY_CHECK(split == "train" || split == "test", "cifar10", "split '", split, "' (expected train or test)");
  const std::string archive = (fs::path(data_dir.empty() ? default_data_dir() : data_dir) / "cifar10" / "cifar10-jpg.tar.gz").string();
  ImageFolderOptions o;
  o.root = ensure_unpacked(archive, cache_dir);
  o.split = split;
  o.transform = augment ? ImageTransform::cifar_train() : ImageTransform::cifar_eval();
  o.cache_decoded = true;
  return ImageFolder(std::move(o));
}

}  // namespace cherry
