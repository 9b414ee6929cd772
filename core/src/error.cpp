#include <modelport/error.hpp>

namespace modelport {

std::string_view to_string(ErrorCode code) noexcept {
  switch (code) {
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::invalid_argument: return "invalid_argument";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::quota_exceeded: return "quota_exceeded";
    case ErrorCode::unavailable: return "unavailable";
    case ErrorCode::already_exists: return "already_exists";
    case ErrorCode::unimplemented: return "unimplemented";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::cancelled: return "cancelled";
    case ErrorCode::internal: return "internal";
  }
  return "unknown";
}

Error::Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}

}  // namespace modelport
