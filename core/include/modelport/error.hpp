// The one exception type of the core. Every failure carries a code a program can branch on and
// a message a person can act on (it names the URL, path or weight and the cause).
#pragma once

#include <modelport/export.hpp>

#include <stdexcept>
#include <string>
#include <string_view>

namespace modelport {

enum class ErrorCode {
  not_found,
  invalid_argument,
  corrupt,
  quota_exceeded,
  unavailable,
  already_exists,
  unimplemented,
  permission_denied,
  cancelled,
  internal,
};

MODELPORT_API std::string_view to_string(ErrorCode code) noexcept;

class MODELPORT_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message);
  ErrorCode code() const noexcept { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace modelport
