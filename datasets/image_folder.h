// Image folders of JPEG files laid out as root/<split>/<class>/*.jpg (torchvision's ImageFolder):
// classes sorted by name give the label indices, files sorted within a class fix the sample order.
// Decodes on demand in get(), or once up front into memory (cache_decoded; right for CIFAR-sized
// data, 150 MB for CIFAR-10 train). cifar10() wires the CIFAR-10 JPEG copy in ../shared/data:
// unpacked once into the cache folder, CIFAR augmentation for train. Not here: the transforms
// themselves (transforms.h), batching (loader.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "datasets/dataset.h"
#include "datasets/transforms.h"

namespace cherry {

struct ImageFolderOptions {
  std::string root;              // holds <split>/<class>/...
  std::string split = "train";
  ImageTransform transform;      // must set size; see ImageTransform::cifar_train() etc.
  bool cache_decoded = false;    // decode everything in the constructor, keep u8 pixels in memory
  int decode_threads = 0;        // for cache_decoded; 0 = hardware concurrency
  // The label of each class name (the training split's class_names()): an evaluation split is
  // labelled by the training split's classes, never by its own folder list; a class folder not in
  // this list is an error. Empty: this split's own sorted class folders.
  std::vector<std::string> classes{};
};

class ImageFolder : public Dataset {
 public:
  explicit ImageFolder(ImageFolderOptions options);

  int64_t size() const override { return int64_t(files_.size()); }
  Shape sample_shape() const override { return {3, options_.transform.size, options_.transform.size}; }
  const std::vector<std::string>& class_names() const override { return classes_; }
  std::string name() const override { return name_; }
  int64_t get(int64_t index, Generator& rng, float* out_chw) const override;

  // Copies share the decoded cache, so a train and an eval view of one split cost one decode.
  void set_transform(const ImageTransform& transform);

  const std::vector<std::string>& files() const { return files_; }
  const std::vector<int64_t>& labels() const { return labels_; }
  const ImageFolderOptions& options() const { return options_; }

 private:
  void decode_all();

  ImageFolderOptions options_;
  std::string name_;
  std::vector<std::string> classes_, files_;
  std::vector<int64_t> labels_;
  // cache_decoded: image i is pixels[offsets[i] ...], dims[i] = (h, w), always 3 channels
  struct Decoded {
    std::vector<uint8_t> pixels;
    std::vector<size_t> offsets;
    std::vector<std::pair<int32_t, int32_t>> dims;
  };
  std::shared_ptr<const Decoded> decoded_;
};

// CIFAR-10 (split "train" or "test") from <data_dir>/cifar10/cifar10-jpg.tar.gz, unpacked into
// <cache_dir>/cifar10-jpg once and decoded into memory. augment: pad-4 random crop + flip.
// "" dirs mean default_data_dir() / default_cache_dir().
ImageFolder cifar10(const std::string& split, bool augment, const std::string& data_dir = "",
                    const std::string& cache_dir = "");

}  // namespace cherry
