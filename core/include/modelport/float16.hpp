// IEEE 754 binary16 conversions, bit-exact, independent of compiler support for _Float16.
#pragma once

#include <modelport/export.hpp>

#include <cstdint>

namespace modelport {

// Exact widening: subnormals normalized, signed zeros kept, +-Inf kept, NaN payload shifted
// left by 13 bits (0x7E00 -> 0x7FC00000). Same result as tfjs's lookup tables.
MODELPORT_API float half_to_float(std::uint16_t half) noexcept;

// Narrowing with round-to-nearest-even, as numpy's astype(float16): overflow gives +-Inf,
// tiny values become subnormals or signed zero, NaN stays NaN (quiet, sign kept).
MODELPORT_API std::uint16_t float_to_half(float value) noexcept;

}  // namespace modelport
