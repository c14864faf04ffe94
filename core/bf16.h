// bfloat16: the top 16 bits of an IEEE binary32 (8-bit exponent, 8-bit significand with the implicit
// bit). A storage type: kernels load it as float, compute in float and round once on store.
#pragma once
#include <bit>
#include <cstdint>
#include <type_traits>

namespace cherry {

struct bf16 {
  uint16_t bits = 0;

  constexpr bf16() = default;
  constexpr bf16(float f) : bits(round(f)) {}  // NOLINT: implicit, like a float conversion
  constexpr bf16(double d) : bits(round(narrow(d))) {}  // NOLINT
  template <class I, std::enable_if_t<std::is_integral_v<I>, int> = 0>
  constexpr bf16(I v) : bf16(double(v)) {}  // NOLINT
  constexpr operator float() const { return std::bit_cast<float>(uint32_t(bits) << 16); }  // exact

  static constexpr bf16 from_bits(uint16_t b) {
    bf16 r;
    r.bits = b;
    return r;
  }
  // float -> bf16, round to nearest, ties to even; NaN stays a (quiet) NaN, overflow rounds to inf.
  static constexpr uint16_t round(float f) {
    const uint32_t u = std::bit_cast<uint32_t>(f);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return uint16_t((u >> 16) | 0x0040u);
    return uint16_t((u + 0x7FFFu + ((u >> 16) & 1u)) >> 16);
  }
  // double -> float rounded to odd (truncate, then set the last bit if inexact): rounding that float
  // to bf16 then equals rounding the double directly, with no double-rounding error on ties.
  static constexpr float narrow(double d) {
    float f = float(d);
    if (double(f) == d || d != d) return f;
    uint32_t u = std::bit_cast<uint32_t>(f);
    const bool away = f < 0 ? double(f) < d : double(f) > d;  // float(d) rounded away from zero
    if (away) u -= 1;                                         // step back towards zero: truncation
    return std::bit_cast<float>(u | 1u);
  }
};
static_assert(sizeof(bf16) == 2);

}  // namespace cherry
