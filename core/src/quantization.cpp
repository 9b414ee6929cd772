#include <modelport/error.hpp>
#include <modelport/float16.hpp>
#include <modelport/quantization.hpp>

#include <cmath>
#include <cstdint>
#include <string>

// Writer side follows tensorflowjs/quantization.py (quantize_weights and
// _get_affine_quantization_range) as run by the converter, whose pinned numpy is 1.x. The
// range (min, max, scale, zero point) is float64 there, but the per-element expression
// `np.round((data.clip(min, max) - min) / scale)` runs in float32: numpy 1.x's value-based
// casting keeps a float32 array float32 when the float64 scalars fit float32
// (np.min_scalar_type: |v| < 3.4e38). Replaying those float32 steps is what makes our bytes
// identical to the converter's; doing them in double differs in the last unit for some inputs.
//
// Every product and sum is its own statement: Clang contracts a*b+c within one expression
// into an FMA on targets that have one, and numpy never does.

namespace modelport {

namespace {

// numpy's min_scalar_type bound for a float64 scalar to count as float32-sized.
constexpr double kNumpyFloat32Bound = 3.4e38;

void write_le16(std::span<std::byte> out, std::size_t index, std::uint16_t value) noexcept {
  out[2 * index] = static_cast<std::byte>(value & 0xFFu);
  out[2 * index + 1] = static_cast<std::byte>(value >> 8);
}

void check_output_size(std::span<const float> values, std::span<std::byte> out,
                       std::size_t element_bytes, const char* function) {
  const std::size_t expected = values.size() * element_bytes;
  if (out.size() != expected) {
    throw Error(ErrorCode::invalid_argument,
                std::string(function) + ": output buffer has " + std::to_string(out.size()) +
                    " bytes, but " + std::to_string(values.size()) + " values need " +
                    std::to_string(expected));
  }
}

// One element of np.round((clip(x, min, max) - min) / scale) in the given numpy dtype.
template <typename Real>
double quantize_element(float x, double min, double max, double scale) noexcept {
  const Real lo = static_cast<Real>(min);
  const Real hi = static_cast<Real>(max);
  Real v = static_cast<Real>(x);
  if (v < lo) v = lo;
  if (v > hi) v = hi;
  const Real shifted = v - lo;
  const Real steps = shifted / static_cast<Real>(scale);
  return static_cast<double>(std::nearbyint(steps));  // numpy rounds half to even
}

}  // namespace

std::int32_t js_to_int32(double x) noexcept {
  if (!std::isfinite(x)) return 0;
  constexpr double kTwo32 = 4294967296.0;
  // fmod of an integer-valued double is exact, and so is adding 2^32 to a negative remainder,
  // so this is the exact mathematical modulo, with no overflow for any magnitude.
  double modulo = std::fmod(std::trunc(x), kTwo32);
  if (modulo < 0) modulo += kTwo32;
  // uint32 -> int32 wraps modulo 2^32 (well defined since C++20).
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(modulo));
}

AffineParams quantize_affine(std::span<const float> values, QuantDType dtype,
                             std::span<std::byte> out) {
  if (dtype != QuantDType::uint8 && dtype != QuantDType::uint16) {
    throw Error(ErrorCode::invalid_argument,
                "quantize_affine: dtype must be uint8 or uint16, not " +
                    std::string(to_string(dtype)));
  }
  const std::size_t element_bytes = element_size(dtype);
  check_output_size(values, out, element_bytes, "quantize_affine");

  // numpy raises on min() of an empty array, so the converter has no answer here; an empty
  // tensor has nothing to reconstruct, and these are the neutral parameters.
  if (values.empty()) return AffineParams{0.0, 1.0};

  // The converter would carry NaN/Inf into min, max and scale and write NaN into the manifest
  // (and garbage bytes), which no reader can use; refusing is the only useful answer.
  float lowest = values[0];
  float highest = values[0];
  for (std::size_t i = 0; i < values.size(); ++i) {
    const float v = values[i];
    if (!std::isfinite(v)) {
      throw Error(ErrorCode::invalid_argument,
                  "quantize_affine: values contain NaN or Inf (at index " + std::to_string(i) +
                      "), which affine quantization cannot represent");
    }
    if (v < lowest) lowest = v;
    if (v > highest) highest = v;
  }
  const double min = lowest;
  const double max = highest;

  if (min == max) {
    for (std::byte& b : out) b = std::byte{0};
    return AffineParams{min, 1.0};
  }

  const double quant_max = dtype == QuantDType::uint8 ? 255.0 : 65535.0;
  const double scale = (max - min) / quant_max;
  double nudged_min = min;
  double nudged_max = max;
  // The converter only nudges when zero is inside the range (unlike TF-Lite, which always
  // does), so that 0 dequantizes exactly, e.g. for zero padding.
  if (min <= 0 && 0 <= max) {
    const double zero_point = std::nearbyint((0 - min) / scale);
    // -zp * scale is -0.0 when min is exactly 0; the converter records -0.0 too.
    nudged_min = -zero_point * scale;
    const double top = quant_max * scale;
    nudged_max = top + nudged_min;
  }

  // numpy 1.x switches the whole expression to float64 only when a bound does not fit float32
  // (values within about 2e36 of FLT_MAX).
  const bool in_float64 = !(std::fabs(nudged_min) < kNumpyFloat32Bound &&
                            std::fabs(nudged_max) < kNumpyFloat32Bound);
  for (std::size_t i = 0; i < values.size(); ++i) {
    double q = in_float64 ? quantize_element<double>(values[i], nudged_min, nudged_max, scale)
                          : quantize_element<float>(values[i], nudged_min, nudged_max, scale);
    // Only reachable when float32 x - min overflows to Inf (ranges wider than FLT_MAX), where
    // numpy's cast to uint is undefined; the top code is the value's true place on the grid.
    if (!(q <= quant_max)) q = quant_max;
    if (q < 0) q = 0;
    const auto stored = static_cast<std::uint16_t>(q);
    if (element_bytes == 1) {
      out[i] = static_cast<std::byte>(stored);
    } else {
      write_le16(out, i, stored);
    }
  }
  return AffineParams{nudged_min, scale};
}

void quantize_float16(std::span<const float> values, std::span<std::byte> out) {
  check_output_size(values, out, 2, "quantize_float16");
  for (std::size_t i = 0; i < values.size(); ++i) write_le16(out, i, float_to_half(values[i]));
}

}  // namespace modelport
