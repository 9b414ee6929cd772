// Weight quantization, both sides (spec §1.5).
//
// Reader side: the exact arithmetic of tfjs `decodeWeights` (double-precision affine, JS
// Math.round and Int32Array wrap-around for int32 targets, exact binary16 widening).
// Writer side: the Python converter's quantizer (min/max, zero-point nudging, numpy
// round-half-to-even, float16 cast).
#pragma once

#include <modelport/dtype.hpp>
#include <modelport/export.hpp>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <span>

namespace modelport {

// JS Math.round: halves go towards +Infinity (-2.5 -> -2, 24.5 -> 25).
inline double js_math_round(double x) noexcept {
  if (!std::isfinite(x)) return x;
  double r = std::floor(x);
  if (x - r >= 0.5) r += 1.0;
  return r;
}

// JS ToInt32, what storing a number into an Int32Array does: NaN/Inf -> 0, else wrap mod 2^32.
MODELPORT_API std::int32_t js_to_int32(double x) noexcept;

// The product gets its own statement so that no compiler fuses it with the addition into one
// FMA (clang does within a statement by default), which would round differently from JS.
inline double dequantize_affine(std::uint32_t q, double min, double scale) noexcept {
  const double product = static_cast<double>(q) * scale;
  return product + min;
}
inline float dequantize_affine_float(std::uint32_t q, double min, double scale) noexcept {
  return static_cast<float>(dequantize_affine(q, min, scale));
}
inline std::int32_t dequantize_affine_int32(std::uint32_t q, double min, double scale) noexcept {
  return js_to_int32(js_math_round(dequantize_affine(q, min, scale)));
}

struct AffineParams {
  double min = 0;    // the nudged minimum the manifest records
  double scale = 1;  // the step the manifest records
};

// Quantizes float32 values to uint8 or uint16 like the converter: writes one little-endian
// element per value into `out` (values.size() * element_size(dtype) bytes) and returns the
// manifest's min and scale. dtype must be uint8 or uint16.
MODELPORT_API AffineParams quantize_affine(std::span<const float> values, QuantDType dtype,
                                           std::span<std::byte> out);

// float32 -> binary16 (round to nearest even), 2 little-endian bytes per value into `out`.
MODELPORT_API void quantize_float16(std::span<const float> values, std::span<std::byte> out);

}  // namespace modelport
