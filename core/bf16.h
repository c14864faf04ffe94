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
  // Branch-free (a select), so loops of conversions vectorise.
  static constexpr uint16_t round(float f) {
    const uint32_t u = std::bit_cast<uint32_t>(f);
    const uint32_t rounded = (u + 0x7FFFu + ((u >> 16) & 1u)) >> 16, quiet_nan = (u >> 16) | 0x0040u;
    return uint16_t((u & 0x7FFFFFFFu) > 0x7F800000u ? quiet_nan : rounded);
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

// d = v, rounded once when d is bf16. Kernels store through this: in an OpenMP simd loop, a bf16
// temporary (d = bf16(v)) keeps GCC from vectorising; writing the bits directly does not.
template <class T, class V> constexpr void store(T& d, V v) {
  if constexpr (!std::is_same_v<T, bf16>) d = static_cast<T>(v);
  else if constexpr (std::is_same_v<V, float> || std::is_same_v<V, bf16>) d.bits = bf16::round(float(v));
  else d.bits = bf16::round(bf16::narrow(double(v)));  // f64 and integers: no double rounding
}

}  // namespace cherry
