// Standard base64 (RFC 4648 §4: alphabet A-Z a-z 0-9 + /, '=' padding, no line breaks), the
// encoding tfjs uses for localStorage weight values, written for large values:
//   - encoding streams chunk by chunk into one output allocated once at its final size (a model's
//     weights arrive as many buffers and are never joined first);
//   - decoding writes straight into the caller's buffer (the weight buffer the core allocated);
//   - decoding accepts what the browser's atob() accepts ("forgiving-base64", WHATWG Infra):
//     ASCII whitespace anywhere, padding optional; anything else is refused with its offset.
//
// Hand-written rather than OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock: the plugin links nothing
// beyond the SDK and SQLite; EVP_DecodeBlock accepts what atob() refuses and reports neither the
// offset nor the padding (it returns a length rounded up to 3); and neither streams across chunk
// boundaries. Table-driven, 12 bits per lookup when encoding, 4 characters per step when
// decoding: several hundred MB/s to GB/s (see tests/localstorage/bench_base64.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace modelport::localstorage {

// Characters of the encoding of `bytes` bytes.
constexpr std::size_t base64_encoded_size(std::uint64_t bytes) { return static_cast<std::size_t>((bytes + 2) / 3 * 4); }

// Encodes a stream of chunks into `out`, which must hold base64_encoded_size(total) characters.
class Base64Encoder {
 public:
  explicit Base64Encoder(char* out) noexcept : out_(out) {}
  void update(std::span<const std::byte> bytes) noexcept;
  // Writes the last group and its padding; returns the number of characters written in all.
  std::size_t finish() noexcept;

 private:
  char* out_;
  std::size_t written_ = 0;
  unsigned char carry_[3] = {0, 0, 0};
  std::size_t carried_ = 0;
};

std::string base64_encode(std::span<const std::byte> bytes);

class Base64Error : public std::runtime_error {
 public:
  Base64Error(std::size_t offset, const std::string& what) : std::runtime_error(what), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

// True when `text` holds ASCII whitespace (then decode base64_strip_whitespace(text) instead).
bool base64_has_whitespace(std::string_view text) noexcept;
std::string base64_strip_whitespace(std::string_view text);

// The byte count `text` (without whitespace) decodes to. Throws Base64Error when its length or
// padding is impossible (a length of 4n+1, '=' anywhere but in the last two places of a 4n text).
std::size_t base64_decoded_size(std::string_view text);

// Decodes `text` (without whitespace) into `out`, which must be base64_decoded_size(text) bytes.
// Throws Base64Error naming the first invalid character and its offset. Bits beyond the last byte
// (non-zero in a non-canonical encoding) are ignored, as atob() ignores them.
// Long texts may be decoded piece by piece: every piece but the last holds 4n characters, is
// decoded with last=false (padding there is an invalid character) into 3n bytes, and passes its
// offset in the whole text as offset_base so that errors name the offset in the whole text.
void base64_decode(std::string_view text, std::span<std::byte> out, std::size_t offset_base = 0, bool last = true);

}  // namespace modelport::localstorage
