// Transforms: crop geometry as torchvision computes it, then one pass that reads u8 pixels and writes
// normalised floats. Crops without resizing (CIFAR) go through a 256-entry lookup table per channel;
// resizing goes through a separable PIL-style bilinear filter whose support widens with the
// shrink factor, so ImageNet eval matches PIL's Resize + CenterCrop rather than aliasing.
#include "datasets/transforms.h"

#include <algorithm>
#include <array>
#include <cmath>

namespace cherry {

namespace {
constexpr const char* kOp = "apply_transform";

ImageTransform with_stats(ImageTransform t, const std::vector<float>& mean, const std::vector<float>& std) {
  t.mean = mean;
  t.std = std;
  return t;
}

// Maps u8 value -> normalised float for channel ch: (v / 255 - mean) / std.
struct Affine {
  float scale, shift;
};
Affine channel_affine(const ImageTransform& t, int64_t ch) {
  if (t.mean.empty()) return {1.0f / 255.0f, 0.0f};
  const size_t i = t.mean.size() == 1 ? 0 : size_t(ch);
  const float s = t.std[i];
  return {1.0f / (255.0f * s), -t.mean[i] / s};
}

// Copies a size x size window at (top, left) of the image (coordinates may fall outside: zero
// padding, as torchvision pads before ToTensor) into CHW floats, mirrored if flip.
void crop_copy(const ImageTransform& t, const uint8_t* src, int64_t h, int64_t w, int64_t c, int64_t top, int64_t left,
               bool flip, float* out) {
  const int64_t s = t.size;
  for (int64_t ch = 0; ch < c; ++ch) {
    const Affine a = channel_affine(t, ch);
    std::array<float, 256> lut;
    for (int v = 0; v < 256; ++v) lut[size_t(v)] = float(v) * a.scale + a.shift;
    float* o = out + ch * s * s;
    for (int64_t y = 0; y < s; ++y) {
      const int64_t sy = top + y;
      float* row = o + y * s;
      if (sy < 0 || sy >= h) {
        std::fill(row, row + s, lut[0]);
        continue;
      }
      const uint8_t* srow = src + sy * w * c + ch;
      for (int64_t x = 0; x < s; ++x) {
        const int64_t sx = left + (flip ? s - 1 - x : x);
        row[x] = (sx < 0 || sx >= w) ? lut[0] : lut[srow[sx * c]];
      }
    }
  }
}

// PIL's bilinear coefficients for one axis: output i samples the source box [x0, x0 + len) of an
// axis of `in` pixels; first[i] is its first source pixel, weights are normalised to sum to 1.
struct Taps {
  std::vector<int64_t> first, count;
  std::vector<float> weights;  // count_max per output
  int64_t stride = 0;
};
Taps bilinear_taps(double x0, double len, int64_t in, int64_t out) {
  const double scale = len / double(out), filterscale = std::max(scale, 1.0), support = filterscale;
  Taps t;
  t.stride = int64_t(std::ceil(support)) * 2 + 1;
  t.first.resize(size_t(out));
  t.count.resize(size_t(out));
  t.weights.assign(size_t(out * t.stride), 0.0f);
  for (int64_t i = 0; i < out; ++i) {
    const double center = x0 + (double(i) + 0.5) * scale;
    const int64_t lo = std::max<int64_t>(int64_t(std::floor(center - support + 0.5)), 0);
    const int64_t hi = std::min<int64_t>(int64_t(std::floor(center + support + 0.5)), in);
    const int64_t n = std::clamp<int64_t>(hi - lo, 1, t.stride);
    double total = 0;
    std::array<double, 64> wts{};
    std::vector<double> big;
    double* wp = n <= 64 ? wts.data() : (big.resize(size_t(n)), big.data());
    for (int64_t k = 0; k < n; ++k) {
      const double d = (double(lo + k) - center + 0.5) / filterscale;
      wp[k] = std::max(0.0, 1.0 - std::abs(d));
      total += wp[k];
    }
    t.first[size_t(i)] = std::min(lo, in - 1);
    t.count[size_t(i)] = n;
    for (int64_t k = 0; k < n; ++k)
      t.weights[size_t(i * t.stride + k)] = total > 0 ? float(wp[k] / total) : (k == 0 ? 1.0f : 0.0f);
  }
  return t;
}

// Resamples the source box (x0, y0, bw, bh) to size x size: horizontal pass over the rows the
// vertical filter needs, then the vertical pass, then normalisation (and the flip) on write.
void resample(const ImageTransform& t, const uint8_t* src, int64_t h, int64_t w, int64_t c, double x0, double y0,
              double bw, double bh, bool flip, float* out) {
  const int64_t s = t.size;
  const Taps tx = bilinear_taps(x0, bw, w, s), ty = bilinear_taps(y0, bh, h, s);
  const int64_t row_lo = ty.first.front(), row_hi = ty.first.back() + ty.count.back();
  std::vector<float> tmp(size_t((row_hi - row_lo) * s * c));  // (rows, s, c)
  for (int64_t y = row_lo; y < row_hi; ++y) {
    const uint8_t* srow = src + y * w * c;
    float* trow = tmp.data() + (y - row_lo) * s * c;
    for (int64_t x = 0; x < s; ++x) {
      const float* wx = tx.weights.data() + x * tx.stride;
      const int64_t first = tx.first[size_t(x)], n = tx.count[size_t(x)];
      for (int64_t ch = 0; ch < c; ++ch) {
        float acc = 0;
        for (int64_t k = 0; k < n && first + k < w; ++k) acc += wx[k] * float(srow[(first + k) * c + ch]);
        trow[x * c + ch] = acc;
      }
    }
  }
  for (int64_t ch = 0; ch < c; ++ch) {
    const Affine a = channel_affine(t, ch);
    float* o = out + ch * s * s;
    for (int64_t y = 0; y < s; ++y) {
      const float* wy = ty.weights.data() + y * ty.stride;
      const int64_t first = ty.first[size_t(y)], n = ty.count[size_t(y)];
      for (int64_t x = 0; x < s; ++x) {
        float acc = 0;
        for (int64_t k = 0; k < n && first + k < row_hi; ++k) acc += wy[k] * tmp[size_t(((first + k - row_lo) * s + x) * c + ch)];
        o[y * s + (flip ? s - 1 - x : x)] = acc * a.scale + a.shift;
      }
    }
  }
}

double uniform_in(Generator& rng, double lo, double hi) { return lo + (hi - lo) * rng.uniform(); }

// Python's round(): halves go to the even neighbour. torchvision's crop arithmetic uses it, and a
// half-away-from-zero round would shift some center crops by a pixel.
int64_t py_round(double x) { return int64_t(std::nearbyint(x)); }

// torchvision's RandomResizedCrop.get_params: 10 tries at a random area and log-uniform aspect,
// then the central crop with the aspect clamped into range.
std::array<int64_t, 4> random_resized_box(const ImageTransform& t, int64_t h, int64_t w, Generator& rng) {
  const double area = double(h) * double(w);
  const double log_lo = std::log(t.ratio_min), log_hi = std::log(t.ratio_max);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area * uniform_in(rng, t.scale_min, t.scale_max);
    const double aspect = std::exp(uniform_in(rng, log_lo, log_hi));
    const int64_t cw = py_round(std::sqrt(target * aspect));
    const int64_t ch = py_round(std::sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const int64_t top = int64_t(rng.below(uint64_t(h - ch + 1)));
      const int64_t left = int64_t(rng.below(uint64_t(w - cw + 1)));
      return {top, left, ch, cw};
    }
  }
  const double in_ratio = double(w) / double(h);
  int64_t cw = w, ch = h;
  if (in_ratio < t.ratio_min) ch = py_round(double(w) / t.ratio_min);
  else if (in_ratio > t.ratio_max) cw = py_round(double(h) * t.ratio_max);
  cw = std::clamp<int64_t>(cw, 1, w);
  ch = std::clamp<int64_t>(ch, 1, h);
  return {(h - ch) / 2, (w - cw) / 2, ch, cw};
}
}  // namespace

ImageTransform ImageTransform::cifar_train() {
  ImageTransform t;
  t.kind = Kind::pad_crop;
  t.size = 32;
  t.padding = 4;
  t.flip = true;
  return with_stats(t, kCifar10Mean, kCifar10Std);
}
ImageTransform ImageTransform::cifar_eval() {
  ImageTransform t;
  t.size = 32;
  return with_stats(t, kCifar10Mean, kCifar10Std);
}
ImageTransform ImageTransform::imagenet_train(int64_t size) {
  ImageTransform t;
  t.kind = Kind::random_resized_crop;
  t.size = size;
  t.flip = true;
  return with_stats(t, kImagenetMean, kImagenetStd);
}
ImageTransform ImageTransform::imagenet_eval(int64_t size) {
  ImageTransform t;
  t.kind = Kind::resize_center_crop;
  t.size = size;
  return with_stats(t, kImagenetMean, kImagenetStd);
}

void apply_transform(const ImageTransform& t, const uint8_t* src, int64_t h, int64_t w, int64_t c, Generator& rng,
                     float* out) {
  CHERRY_CHECK(t.size > 0 && h > 0 && w > 0 && c > 0, kOp, "empty image ", h, "x", w, "x", c, " or output size ", t.size);
  CHERRY_CHECK(t.mean.size() == t.std.size() && (t.mean.empty() || t.mean.size() == 1 || int64_t(t.mean.size()) == c),
               kOp, "mean/std have ", t.mean.size(), "/", t.std.size(), " entries for a ", c, "-channel image");
  switch (t.kind) {
    case ImageTransform::Kind::none: {
      CHERRY_CHECK(h == t.size && w == t.size, kOp, "image is ", h, "x", w, ", expected ", t.size, "x", t.size,
                   " (this transform does not resize)");
      const bool flip = t.flip && rng.uniform() < 0.5;
      crop_copy(t, src, h, w, c, 0, 0, flip, out);
      return;
    }
    case ImageTransform::Kind::pad_crop: {
      const int64_t ph = h + 2 * t.padding - t.size, pw = w + 2 * t.padding - t.size;
      CHERRY_CHECK(t.padding >= 0 && ph >= 0 && pw >= 0, kOp, "image ", h, "x", w, " padded by ", t.padding,
                   " is smaller than the crop ", t.size);
      const int64_t top = int64_t(rng.below(uint64_t(ph + 1))) - t.padding;
      const int64_t left = int64_t(rng.below(uint64_t(pw + 1))) - t.padding;
      const bool flip = t.flip && rng.uniform() < 0.5;
      crop_copy(t, src, h, w, c, top, left, flip, out);
      return;
    }
    case ImageTransform::Kind::random_resized_crop: {
      const auto [top, left, ch, cw] = random_resized_box(t, h, w, rng);
      const bool flip = t.flip && rng.uniform() < 0.5;
      resample(t, src, h, w, c, double(left), double(top), double(cw), double(ch), flip, out);
      return;
    }
    case ImageTransform::Kind::resize_center_crop: {
      // torchvision Resize(int): shorter side -> r, longer side truncated; CenterCrop rounds the offset.
      const int64_t r = int64_t(std::floor(double(t.size) * t.resize_ratio + 1e-9));  // 224 * 256/224 must be 256
      const int64_t oh = h <= w ? r : int64_t(double(r) * double(h) / double(w));
      const int64_t ow = h <= w ? int64_t(double(r) * double(w) / double(h)) : r;
      CHERRY_CHECK(oh >= t.size && ow >= t.size, kOp, "resize ratio ", t.resize_ratio, " leaves ", oh, "x", ow,
                   ", smaller than the crop ", t.size);
      const double sy = double(h) / double(oh), sx = double(w) / double(ow);
      const int64_t top = py_round(double(oh - t.size) / 2.0), left = py_round(double(ow - t.size) / 2.0);
      const bool flip = t.flip && rng.uniform() < 0.5;
      resample(t, src, h, w, c, double(left) * sx, double(top) * sy, double(t.size) * sx, double(t.size) * sy, flip, out);
      return;
    }
  }
}

}  // namespace cherry
