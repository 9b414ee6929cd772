// Data types of weights (the logical dtype of a tensor) and of quantized storage.
#pragma once

#include <modelport/export.hpp>

#include <cstddef>
#include <optional>
#include <string_view>

namespace modelport {

// The logical dtypes a weights manifest may name (spec §1.3).
enum class DType { float32, int32, boolean, complex64, string };

// Storage dtypes of quantized weights (spec §1.3 `quantization.dtype`).
enum class QuantDType { uint8, uint16, float16 };

MODELPORT_API std::optional<DType> parse_dtype(std::string_view name) noexcept;
MODELPORT_API std::string_view to_string(DType dtype) noexcept;

MODELPORT_API std::optional<QuantDType> parse_quant_dtype(std::string_view name) noexcept;
MODELPORT_API std::string_view to_string(QuantDType dtype) noexcept;

// Bytes per element of a fixed-size dtype; string has no fixed size (nullopt).
MODELPORT_API std::optional<std::size_t> element_size(DType dtype) noexcept;
constexpr std::size_t element_size(QuantDType dtype) noexcept {
  return dtype == QuantDType::uint8 ? 1 : 2;
}

}  // namespace modelport
