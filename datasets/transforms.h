// Pixel transforms from a decoded u8 HWC image to the float CHW sample a model sees: CIFAR-style
// pad + random crop + flip, ImageNet-style RandomResizedCrop + flip (train) and resize + center
// crop (eval), each followed by per-channel normalisation. The geometry and random draws follow
// torchvision (same parameter ranges, same order of draws per sample); resampling is PIL-style
// bilinear with antialiasing when shrinking. Not here: decoding (jpeg.h) or choosing the seed.
#pragma once
#include <cstdint>
#include <vector>

#include "core/rng.h"

namespace cherry {

struct ImageTransform {
  enum class Kind {
    none,                 // the image must already be size x size; only normalisation (and flip)
    pad_crop,             // zero-pad by `padding`, random size x size crop (CIFAR)
    random_resized_crop,  // random area/aspect crop, resized to size x size (ImageNet train)
    resize_center_crop,   // shorter side -> size * resize_ratio, then the central size x size
  };
  Kind kind = Kind::none;
  int64_t size = 0;      // output height = width
  int64_t padding = 4;   // pad_crop
  bool flip = false;     // random horizontal flip with p = 0.5
  double scale_min = 0.08, scale_max = 1.0;             // random_resized_crop: fraction of the area
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // random_resized_crop: aspect w/h
  double resize_ratio = 256.0 / 224.0;                  // resize_center_crop
  std::vector<float> mean, std;  // per channel (or one for all); empty = just scale to [0, 1]

  bool is_random() const { return flip || kind == Kind::pad_crop || kind == Kind::random_resized_crop; }

  static ImageTransform cifar_train();  // pad 4 + crop 32 + flip, CIFAR-10 mean/std
  static ImageTransform cifar_eval();   // 32x32 as is, CIFAR-10 mean/std
  static ImageTransform imagenet_train(int64_t size = 224);
  static ImageTransform imagenet_eval(int64_t size = 224);
};

// Per-channel statistics of the train splits, from the usual references (checked by tests where
// the data is here: Fashion-MNIST exactly, CIFAR-10 on our JPEG copy).
inline const std::vector<float> kCifar10Mean{0.4914f, 0.4822f, 0.4465f}, kCifar10Std{0.2470f, 0.2435f, 0.2616f};
inline const std::vector<float> kImagenetMean{0.485f, 0.456f, 0.406f}, kImagenetStd{0.229f, 0.224f, 0.225f};
inline const std::vector<float> kFashionMnistMean{0.2860f}, kFashionMnistStd{0.3530f};

// src: (h, w, c) u8 HWC -> out: (c, t.size, t.size) f32. Draws from rng only when t.is_random().
void apply_transform(const ImageTransform& t, const uint8_t* src, int64_t h, int64_t w, int64_t c, Generator& rng,
                     float* out);

}  // namespace cherry
