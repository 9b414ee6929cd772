// Helpers shared by the fuzz targets.
//
// ByteReader splits a fuzz input into typed pieces. Clang ships FuzzedDataProvider for this, but
// only in its own resource folder, which the GCC builds that replay the corpus cannot include;
// the few readers needed here are short.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace modelport::fuzz {

class ByteReader {
 public:
  ByteReader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

  bool empty() const noexcept { return pos_ >= size_; }
  std::size_t remaining() const noexcept { return size_ - pos_; }

  // Reads past the end give zeros, so every input maps to some structure.
  std::uint8_t u8() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint16_t u16() { return static_cast<std::uint16_t>(u8() | u8() << 8); }
  std::uint32_t u32() { return static_cast<std::uint32_t>(u16()) | static_cast<std::uint32_t>(u16()) << 16; }
  std::uint64_t u64() { return static_cast<std::uint64_t>(u32()) | static_cast<std::uint64_t>(u32()) << 32; }
  double f64() {
    std::uint64_t bits = u64();
    double value;
    std::memcpy(&value, &bits, sizeof value);
    return value;
  }

  // Up to `max` bytes, ending early at a 0 byte (which is consumed).
  std::string text(std::size_t max) {
    std::string out;
    while (out.size() < max && pos_ < size_) {
      char c = static_cast<char>(data_[pos_++]);
      if (c == '\0') break;
      out += c;
    }
    return out;
  }

  std::string_view rest() {
    std::string_view out(reinterpret_cast<const char*>(data_) + pos_, remaining());
    pos_ = size_;
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

// A broken invariant: print it and abort, which libFuzzer reports as a crash with the input.
[[noreturn]] inline void invariant_failed(const char* what, const std::string& detail = {}) {
  std::fprintf(stderr, "fuzz invariant failed: %s %s\n", what, detail.c_str());
  std::abort();
}

#define MODELPORT_FUZZ_CHECK(cond, detail) \
  do {                                     \
    if (!(cond)) ::modelport::fuzz::invariant_failed(#cond, (detail)); \
  } while (0)

}  // namespace modelport::fuzz
