#include "base64.hpp"

#include <array>
#include <cstring>

namespace modelport::localstorage {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::uint32_t kInvalid = 0xFF000000u;

struct Tables {
  // Encoding: the two characters of every 12-bit value, in memory order.
  std::array<std::uint16_t, 4096> pair{};
  // Decoding: each character's 6 bits already shifted into place for positions 0..3 of a group;
  // invalid characters set bits 24..31.
  std::array<std::uint32_t, 256> d0{}, d1{}, d2{}, d3{};

  Tables() {
    for (unsigned v = 0; v < 4096; ++v) {
      const char two[2] = {kAlphabet[v >> 6], kAlphabet[v & 63]};
      std::memcpy(&pair[v], two, 2);
    }
    d0.fill(kInvalid);
    d1.fill(kInvalid);
    d2.fill(kInvalid);
    d3.fill(kInvalid);
    for (std::uint32_t v = 0; v < 64; ++v) {
      const auto c = static_cast<unsigned char>(kAlphabet[v]);
      d0[c] = v << 18;
      d1[c] = v << 12;
      d2[c] = v << 6;
      d3[c] = v;
    }
  }
};

const Tables& tables() {
  static const Tables t;
  return t;
}

// 3n bytes -> 4n characters.
void encode_groups(const unsigned char* in, std::size_t groups, char* out) noexcept {
  const auto& pair = tables().pair;
  // Two groups (6 bytes -> 8 characters) per step, one 8-byte store.
  while (groups >= 2) {
    const std::uint64_t x = (std::uint64_t{in[0]} << 40) | (std::uint64_t{in[1]} << 32) | (std::uint64_t{in[2]} << 24) |
                            (std::uint64_t{in[3]} << 16) | (std::uint64_t{in[4]} << 8) | std::uint64_t{in[5]};
    std::uint16_t four[4] = {pair[(x >> 36) & 0xFFF], pair[(x >> 24) & 0xFFF], pair[(x >> 12) & 0xFFF], pair[x & 0xFFF]};
    std::memcpy(out, four, 8);
    in += 6;
    out += 8;
    groups -= 2;
  }
  if (groups) {
    const std::uint32_t x = (std::uint32_t{in[0]} << 16) | (std::uint32_t{in[1]} << 8) | std::uint32_t{in[2]};
    std::uint16_t two[2] = {pair[x >> 12], pair[x & 0xFFF]};
    std::memcpy(out, two, 4);
  }
}

// The last 1 or 2 bytes, with padding.
void encode_tail(const unsigned char* in, std::size_t n, char* out) noexcept {
  const std::uint32_t x = (std::uint32_t{in[0]} << 16) | (n > 1 ? std::uint32_t{in[1]} << 8 : 0u);
  out[0] = kAlphabet[(x >> 18) & 63];
  out[1] = kAlphabet[(x >> 12) & 63];
  out[2] = n > 1 ? kAlphabet[(x >> 6) & 63] : '=';
  out[3] = '=';
}

[[noreturn]] void invalid_at(std::string_view text, std::size_t offset, std::size_t base) {
  const auto c = static_cast<unsigned char>(text[offset]);
  std::string shown;
  if (c >= 0x21 && c < 0x7F) {
    shown = std::string("'") + static_cast<char>(c) + "'";
  } else {
    static constexpr char kHex[] = "0123456789ABCDEF";
    shown = std::string("byte 0x") + kHex[c >> 4] + kHex[c & 15];
  }
  throw Base64Error(base + offset, "invalid base64: " + shown + " at offset " + std::to_string(base + offset) +
                                (c == '=' ? " (padding is allowed only at the end)" : ""));
}

}  // namespace

void Base64Encoder::update(std::span<const std::byte> bytes) noexcept {
  const auto* in = reinterpret_cast<const unsigned char*>(bytes.data());
  std::size_t n = bytes.size();
  if (carried_) {
    while (carried_ < 3 && n) {
      carry_[carried_++] = *in++;
      --n;
    }
    if (carried_ < 3) return;  // still short of a group
    encode_groups(carry_, 1, out_ + written_);
    written_ += 4;
    carried_ = 0;
  }
  const std::size_t groups = n / 3;
  encode_groups(in, groups, out_ + written_);
  written_ += groups * 4;
  in += groups * 3;
  n -= groups * 3;
  for (std::size_t i = 0; i < n; ++i) carry_[carried_++] = in[i];
}

std::size_t Base64Encoder::finish() noexcept {
  if (carried_) {
    encode_tail(carry_, carried_, out_ + written_);
    written_ += 4;
    carried_ = 0;
  }
  return written_;
}

std::string base64_encode(std::span<const std::byte> bytes) {
  std::string out(base64_encoded_size(bytes.size()), '\0');
  Base64Encoder encoder(out.data());
  encoder.update(bytes);
  encoder.finish();
  return out;
}

bool base64_has_whitespace(std::string_view text) noexcept {
  // Every ASCII whitespace character is <= ' ', and no base64 character is: one comparison per
  // byte, which compilers vectorize.
  unsigned char any = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < text.size(); ++i) any |= static_cast<unsigned char>(p[i] <= ' ');
  if (!any) return false;
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r') return true;
  }
  return false;  // other control characters: invalid, reported by the decoder
}

std::string base64_strip_whitespace(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\f' && c != '\r') out += c;
  }
  return out;
}

std::size_t base64_decoded_size(std::string_view text) {
  std::size_t n = text.size();
  if (n % 4 == 0 && n > 0 && text[n - 1] == '=') {
    --n;
    if (text[n - 1] == '=') --n;
  }
  if (n % 4 == 1) {
    throw Base64Error(n, "invalid base64: " + std::to_string(n) +
                             " characters without padding is not a possible length (4n+1); the value is truncated or "
                             "has a stray character");
  }
  return n / 4 * 3 + (n % 4 == 0 ? 0 : n % 4 - 1);
}

void base64_decode(std::string_view text, std::span<std::byte> out, std::size_t offset_base, bool last) {
  // Characters that carry data: the padding of the last piece is not decoded.
  std::size_t chars = text.size();
  std::size_t size;
  if (last) {
    size = base64_decoded_size(text);
    if (chars % 4 == 0 && chars > 0 && text[chars - 1] == '=') {
      --chars;
      if (text[chars - 1] == '=') --chars;
    }
  } else {
    if (chars % 4 != 0) throw std::invalid_argument("base64_decode: a piece that is not the last must hold 4n characters");
    size = chars / 4 * 3;
  }
  if (out.size() != size) throw std::invalid_argument("base64_decode: the output buffer has the wrong size");
  const auto& t = tables();
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const std::size_t full = chars / 4;  // complete groups of 4 characters
  std::size_t g = 0;
  // Blocks of 16 groups: errors are OR-ed together and located only if there is one. Each group
  // is stored as 4 bytes of which 3 count, so the block loop keeps one group in reserve.
  constexpr std::size_t kBlock = 16;
  while (g + kBlock < full) {
    std::uint32_t bad = 0;
    const unsigned char* p = in + g * 4;
    unsigned char* q = o + g * 3;
    for (std::size_t k = 0; k < kBlock; ++k, p += 4, q += 3) {
      const std::uint32_t x = t.d0[p[0]] | t.d1[p[1]] | t.d2[p[2]] | t.d3[p[3]];
      bad |= x;
      const std::uint32_t be = __builtin_bswap32(x << 8);
      std::memcpy(q, &be, 4);
    }
    if (bad & kInvalid) break;  // located below, group by group
    g += kBlock;
  }
  for (; g < full; ++g) {
    const unsigned char* p = in + g * 4;
    const std::uint32_t x = t.d0[p[0]] | t.d1[p[1]] | t.d2[p[2]] | t.d3[p[3]];
    if (x & kInvalid) {
      for (std::size_t k = 0; k < 4; ++k) {
        if (t.d3[p[k]] & kInvalid) invalid_at(text, g * 4 + k, offset_base);
      }
    }
    unsigned char* q = o + g * 3;
    q[0] = static_cast<unsigned char>(x >> 16);
    q[1] = static_cast<unsigned char>(x >> 8);
    q[2] = static_cast<unsigned char>(x);
  }
  const std::size_t rest = chars % 4;  // 0, 2 or 3 (1 was refused by base64_decoded_size)
  if (rest) {
    const unsigned char* p = in + full * 4;
    std::uint32_t x = 0;
    const std::array<const std::array<std::uint32_t, 256>*, 3> d = {&t.d0, &t.d1, &t.d2};
    for (std::size_t k = 0; k < rest; ++k) {
      const std::uint32_t v = (*d[k])[p[k]];
      if (v & kInvalid) invalid_at(text, full * 4 + k, offset_base);
      x |= v;
    }
    unsigned char* q = o + full * 3;
    q[0] = static_cast<unsigned char>(x >> 16);
    if (rest == 3) q[1] = static_cast<unsigned char>(x >> 8);
  }
}

}  // namespace modelport::localstorage
