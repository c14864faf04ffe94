// Fashion-MNIST (60000 train / 10000 test 28x28 grayscale, 10 classes) from the official IDX .gz
// files that Debian's dataset-fashion-mnist package installs. The whole split lives in memory as u8
// (47 MB for train); get() crops/flips (if asked) and normalises with the train-set mean/std.
// Also reads MNIST or any other MNIST-layout folder given its path. Not here: batching (loader.h).
#pragma once
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/transforms.h"

namespace cherry {

inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct FashionMnistOptions {
  std::string split = "train";  // "train" or "test" (t10k)
  std::string dir;              // "" = kFashionMnistDir
  bool flip = false;            // random horizontal flip
  int64_t crop_padding = 0;     // > 0: zero-pad and random-crop back to 28x28
};

class FashionMnist : public Dataset {
 public:
  explicit FashionMnist(const FashionMnistOptions& options = {});

  int64_t size() const override { return n_; }
  Shape sample_shape() const override { return {1, rows_, cols_}; }
  const std::vector<std::string>& class_names() const override;
  std::string name() const override { return "fashion-mnist/" + split_; }
  int64_t get(int64_t index, Generator& rng, float* out_chw) const override;

  const std::vector<uint8_t>& pixels() const { return pixels_; }  // (N, rows, cols) u8
  const std::vector<uint8_t>& labels() const { return labels_; }
  const ImageTransform& transform() const { return transform_; }

 private:
  std::string split_;
  int64_t n_ = 0, rows_ = 0, cols_ = 0;
  std::vector<uint8_t> pixels_, labels_;
  ImageTransform transform_;
};

}  // namespace cherry
