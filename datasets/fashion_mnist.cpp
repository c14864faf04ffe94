// Fashion-MNIST: pairs the images and labels IDX files of a split and checks they agree (count,
// rank, label range) before anything is served, so a mismatched or damaged download fails at start-up.
#include "datasets/fashion_mnist.h"

#include <filesystem>

#include "datasets/idx.h"

namespace cherry {

namespace {
constexpr const char* kOp = "FashionMnist";
}

FashionMnist::FashionMnist(const FashionMnistOptions& options) : split_(options.split) {
  CHERRY_CHECK(split_ == "train" || split_ == "test", kOp, "split '", split_, "' (expected train or test)");
  const std::string dir = options.dir.empty() ? kFashionMnistDir : options.dir;
  const std::string prefix = split_ == "train" ? "train" : "t10k";
  const std::string images_path = dir + "/" + prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = dir + "/" + prefix + "-labels-idx1-ubyte.gz";
  for (const auto& p : {images_path, labels_path})
    CHERRY_CHECK(std::filesystem::exists(p), kOp, p, " not found (install it with: apt-get install dataset-fashion-mnist, "
                 "which scripts/install_deps.sh does; or pass another folder)");

  IdxArray images = read_idx(images_path), labels = read_idx(labels_path);
  CHERRY_CHECK(images.dims.size() == 3 && images.dims[0] > 0 && images.dims[1] > 0 && images.dims[2] > 0, kOp,
               images_path, ": expected non-empty (N, rows, cols) images, got dims ", shape_str(images.dims));
  CHERRY_CHECK(labels.dims.size() == 1, kOp, labels_path, ": expected (N) labels, got dims ", shape_str(labels.dims));
  CHERRY_CHECK(images.dims[0] == labels.dims[0], kOp, images_path, " has ", images.dims[0], " images but ", labels_path,
               " has ", labels.dims[0], " labels");
  for (size_t i = 0; i < labels.data.size(); ++i)
    CHERRY_CHECK(labels.data[i] < 10, kOp, labels_path, ": label ", int(labels.data[i]), " at index ", i,
                 " is out of range 0..9");
  n_ = images.dims[0];
  rows_ = images.dims[1];
  cols_ = images.dims[2];
  pixels_ = std::move(images.data);
  labels_ = std::move(labels.data);

  CHERRY_CHECK(options.crop_padding >= 0, kOp, "negative crop padding ", options.crop_padding);
  CHERRY_CHECK(rows_ == cols_ || (options.crop_padding == 0 && !options.flip), kOp, "augmentation needs square images, got ",
               rows_, "x", cols_);
  transform_.kind = options.crop_padding > 0 ? ImageTransform::Kind::pad_crop : ImageTransform::Kind::none;
  transform_.size = rows_;
  transform_.padding = options.crop_padding;
  transform_.flip = options.flip;
  transform_.mean = kFashionMnistMean;
  transform_.std = kFashionMnistStd;
}

const std::vector<std::string>& FashionMnist::class_names() const {
  static const std::vector<std::string> names{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

int64_t FashionMnist::get(int64_t index, Generator& rng, float* out_chw) const {
  CHERRY_CHECK(index >= 0 && index < n_, kOp, "index ", index, " out of range for ", name(), " (size ", n_, ")");
  const uint8_t* src = pixels_.data() + index * rows_ * cols_;
  if (rows_ == cols_) {
    apply_transform(transform_, src, rows_, cols_, 1, rng, out_chw);
  } else {
    // Non-square MNIST-layout data: plain normalisation (the constructor forbids augmentation).
    const float scale = 1.0f / (255.0f * transform_.std[0]), shift = -transform_.mean[0] / transform_.std[0];
    for (int64_t i = 0; i < rows_ * cols_; ++i) out_chw[i] = float(src[i]) * scale + shift;
  }
  return labels_[size_t(index)];
}

}  // namespace cherry
