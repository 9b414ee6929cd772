// multipart/form-data (RFC 7578 on RFC 2046 §5.1) as a pure function over bytes in memory.
//
// The server spools an upload to a file, maps it and hands the mapping here: parts come back as
// offsets into that span, so no part is copied. Nothing here does I/O or allocates per byte,
// which also makes it a good libFuzzer target (tests/fuzz/fuzz_multipart.cpp).
//
// Hand-written because neither Boost (Beast has no multipart support) nor any other allowed
// Debian package parses multipart bodies; the grammar is small and is validated strictly.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace modelport::multipart {

// Every parse failure; `what()` says what is wrong and where (byte offset or part number).
class MultipartError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Part {
  std::string name;                     // Content-Disposition name (required)
  std::optional<std::string> filename;  // Content-Disposition filename, when given
  std::string content_type;             // Content-Type of the part; "" when absent
  std::size_t offset = 0;               // where the part's content starts in the body
  std::size_t size = 0;                 // content bytes
};

struct Limits {
  std::size_t max_parts = 16;          // more parts than this is an error
  std::size_t max_part_header_bytes = 8192;  // header block of one part
};

// The boundary of a `multipart/form-data; boundary=...` Content-Type (media type compared
// case-insensitively, the boundary may be quoted). Throws MultipartError when the type is not
// multipart/form-data, the parameter is missing or repeated, or the boundary is not 1-70
// characters of RFC 2046's bchars (not ending in a space).
std::string boundary_from_content_type(std::string_view content_type);

// Parses a whole body: optional preamble, "--boundary" delimiters on their own lines (CRLF line
// ends only; transport padding of spaces/tabs after a delimiter is allowed), each part's headers
// (Content-Disposition: form-data with a quoted or token name and optional filename; other
// headers are kept out of the result, except Content-Type; a Content-Transfer-Encoding other than
// 7bit/8bit/binary is refused), the close delimiter "--boundary--", and any epilogue. Throws
// MultipartError for anything else, including a body that ends before the close delimiter.
std::vector<Part> parse(std::span<const std::byte> body, std::string_view boundary, const Limits& limits = {});

inline std::vector<Part> parse(std::string_view body, std::string_view boundary, const Limits& limits = {}) {
  return parse(std::as_bytes(std::span<const char>(body.data(), body.size())), boundary, limits);
}

}  // namespace modelport::multipart
