// Internal helpers for reading typed values out of parsed JSON with errors that name the file.
#pragma once

#include <modelport/error.hpp>

#include <boost/json/value.hpp>

#include <cmath>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelport::detail {

inline std::string in_context(std::string_view context) {
  return context.empty() ? std::string() : " in '" + std::string(context) + "'";
}

[[noreturn]] inline void throw_corrupt(std::string_view context, const std::string& what) {
  throw Error(ErrorCode::corrupt, what + in_context(context));
}

inline std::optional<double> as_number(const boost::json::value& v) {
  if (v.is_double()) return v.get_double();
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  return std::nullopt;
}

// A non-negative integer, given as an integer or as an integral double (3.0).
inline std::optional<std::int64_t> as_dimension(const boost::json::value& v) {
  if (v.is_int64()) return v.get_int64();
  if (v.is_uint64()) {
    if (v.get_uint64() > static_cast<std::uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(v.get_uint64());
  }
  if (v.is_double()) {
    double d = v.get_double();
    if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9.2e18) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

}  // namespace modelport::detail
