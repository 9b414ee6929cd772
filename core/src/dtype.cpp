#include <modelport/dtype.hpp>

namespace modelport {

std::optional<DType> parse_dtype(std::string_view name) noexcept {
  if (name == "float32") return DType::float32;
  if (name == "int32") return DType::int32;
  if (name == "bool") return DType::boolean;
  if (name == "complex64") return DType::complex64;
  if (name == "string") return DType::string;
  return std::nullopt;
}

std::string_view to_string(DType dtype) noexcept {
  switch (dtype) {
    case DType::float32: return "float32";
    case DType::int32: return "int32";
    case DType::boolean: return "bool";
    case DType::complex64: return "complex64";
    case DType::string: return "string";
  }
  return "unknown";
}

std::optional<QuantDType> parse_quant_dtype(std::string_view name) noexcept {
  if (name == "uint8") return QuantDType::uint8;
  if (name == "uint16") return QuantDType::uint16;
  if (name == "float16") return QuantDType::float16;
  return std::nullopt;
}

std::string_view to_string(QuantDType dtype) noexcept {
  switch (dtype) {
    case QuantDType::uint8: return "uint8";
    case QuantDType::uint16: return "uint16";
    case QuantDType::float16: return "float16";
  }
  return "unknown";
}

std::optional<std::size_t> element_size(DType dtype) noexcept {
  switch (dtype) {
    case DType::float32: return 4;
    case DType::int32: return 4;
    case DType::boolean: return 1;
    case DType::complex64: return 8;
    case DType::string: return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace modelport
