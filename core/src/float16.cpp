#include <modelport/float16.hpp>

#include <bit>
#include <cstdint>

// Written with integer operations only so that results are identical on every compiler and
// target, whether or not it has _Float16 or F16C, and independent of the floating-point
// environment (rounding mode, flush-to-zero).

namespace modelport {

namespace {

constexpr std::uint32_t kF32ExpMask = 0x7F800000u;
constexpr std::uint32_t kF32AbsMask = 0x7FFFFFFFu;
// (127 - 15) << 23: moves a binary16 exponent to the binary32 bias and back.
constexpr std::uint32_t kRebias = 112u << 23;
// 65520 = 65504 + half an ulp: from there on, round-to-nearest-even lands on infinity.
constexpr std::uint32_t kF32HalfOverflow = 0x477FF000u;
// 2^-14, the smallest normal binary16.
constexpr std::uint32_t kF32HalfMinNormal = 0x38800000u;
// 2^-25, half the smallest subnormal: at or below it everything rounds to zero (the tie at
// exactly 2^-25 goes to the even neighbour, which is zero).
constexpr std::uint32_t kF32HalfRoundsToZero = 0x33000000u;

// Drops the low `shift` bits of `bits`, rounding to nearest with ties to even.
constexpr std::uint32_t shift_right_rounded(std::uint32_t bits, unsigned shift) noexcept {
  const std::uint32_t kept = bits >> shift;
  const std::uint32_t rest = bits & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1u);
  return kept + ((rest > halfway || (rest == halfway && (kept & 1u) != 0u)) ? 1u : 0u);
}

}  // namespace

float half_to_float(std::uint16_t half) noexcept {
  const std::uint32_t sign = static_cast<std::uint32_t>(half & 0x8000u) << 16;
  const std::uint32_t exponent = (half >> 10) & 0x1Fu;
  std::uint32_t mantissa = half & 0x3FFu;

  std::uint32_t bits;
  if (exponent == 0x1Fu) {
    // Inf stays Inf; a NaN keeps its payload (and so its quiet bit) in the top mantissa bits.
    bits = sign | kF32ExpMask | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent << 23) + kRebias) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Every binary16 subnormal is a binary32 normal: shift the leading 1 into the implicit
    // position, lowering the exponent once per shift.
    std::uint32_t biased = 113;  // exponent of 2^-14 in binary32, before normalizing
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --biased;
    }
    bits = sign | (biased << 23) | ((mantissa & 0x3FFu) << 13);
  }
  return std::bit_cast<float>(bits);
}

std::uint16_t float_to_half(float value) noexcept {
  const std::uint32_t bits = std::bit_cast<std::uint32_t>(value);
  const std::uint32_t sign = (bits >> 16) & 0x8000u;
  const std::uint32_t abs = bits & kF32AbsMask;

  std::uint32_t half;
  if (abs > kF32ExpMask) {
    // NaN: keep the sign and the top payload bits, and force the quiet bit so a payload that
    // only had low bits cannot turn into Inf. This is what F16C and GCC's _Float16 cast do.
    half = 0x7E00u | ((abs >> 13) & 0x3FFu);
  } else if (abs >= kF32HalfOverflow) {
    half = 0x7C00u;  // Inf, or finite values that round past 65504
  } else if (abs >= kF32HalfMinNormal) {
    // A carry out of the mantissa correctly bumps the exponent (up to 0x7BFF at most, since
    // everything that would reach 0x7C00 was handled above).
    half = shift_right_rounded(abs - kRebias, 13);
  } else if (abs > kF32HalfRoundsToZero) {
    // Subnormal result: the value is m * 2^(e-150) with the implicit bit restored; in units of
    // 2^-24 that is m >> (126 - e). e is in 102..112 here, so the shift is 14..24. Rounding up
    // from the largest subnormal gives 0x400, which is the smallest normal, as it should.
    const std::uint32_t biased = abs >> 23;
    const std::uint32_t significand = (abs & 0x7FFFFFu) | 0x800000u;
    half = shift_right_rounded(significand, 126u - biased);
  } else {
    half = 0;  // signed zero
  }
  return static_cast<std::uint16_t>(sign | half);
}

}  // namespace modelport
