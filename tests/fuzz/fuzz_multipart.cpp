// The multipart/form-data parser of `modelport serve` (tools/serve/multipart.hpp) on arbitrary
// bytes. The first byte picks how the boundary is chosen:
//   even: a Content-Type header text (up to the first NUL) goes through boundary_from_content_type;
//   odd:  the boundary is given directly (up to the first NUL, may be invalid).
// The rest is the body. Only MultipartError may come out, and every part found must lie inside
// the body, in order, without overlaps, and be followed there by the CRLF--boundary delimiter.
#include "fuzz_support.hpp"

#include <multipart.hpp>

#include <cstdint>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace modelport;
  fuzz::ByteReader reader(data, size);
  const bool from_header = (reader.u8() & 1) == 0;
  std::string boundary = reader.text(120);
  if (from_header) {
    try {
      boundary = multipart::boundary_from_content_type(boundary);
    } catch (const multipart::MultipartError&) {
      return 0;
    }
    MODELPORT_FUZZ_CHECK(!boundary.empty() && boundary.size() <= 70, boundary);
  }
  const std::string_view body = reader.rest();
  std::vector<multipart::Part> parts;
  try {
    parts = multipart::parse(body, boundary);
  } catch (const multipart::MultipartError&) {
    return 0;
  }
  MODELPORT_FUZZ_CHECK(!parts.empty(), "a successful parse returns at least one part");
  const std::string delimiter = "\r\n--" + boundary;
  std::size_t previous_end = 0;
  for (const auto& part : parts) {
    MODELPORT_FUZZ_CHECK(part.offset >= previous_end, part.name);
    MODELPORT_FUZZ_CHECK(part.offset <= body.size() && part.size <= body.size() - part.offset, part.name);
    MODELPORT_FUZZ_CHECK(body.substr(part.offset + part.size).starts_with(delimiter), part.name);
    MODELPORT_FUZZ_CHECK(body.substr(part.offset, part.size).find(delimiter) == std::string_view::npos, part.name);
    previous_end = part.offset + part.size;
  }
  return 0;
}
