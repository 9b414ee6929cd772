// Summary statistics and digests of weights, as `modelport inspect --stats` and the reference
// values in tests/fixtures/*/reference.json compute them.
#pragma once

#include <modelport/export.hpp>
#include <modelport/weight_data.hpp>
#include <modelport/weights_codec.hpp>

#include <cstdint>
#include <memory>
#include <span>
#include <optional>
#include <string>

namespace modelport {

// Incremental SHA-256 (OpenSSL's EVP).
class MODELPORT_API Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(std::span<const std::byte> bytes);
  // Lower-case hex of everything updated since the last hex() (which starts a new digest).
  std::string hex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Lower-case hex SHA-256 of the stream bytes [offset, offset + length), hashed buffer by buffer
// (no copy of the range).
MODELPORT_API std::string sha256_hex(const WeightData& data, std::uint64_t offset, std::uint64_t length);
MODELPORT_API std::string sha256_hex(std::span<const std::byte> bytes);

struct WeightStats {
  // Numeric tensors: float64 accumulation over the decoded values in row-major order (complex64:
  // every real and imaginary part in storage order). min/max absent for 0 elements.
  double sum = 0;
  double abs_sum = 0;
  std::optional<double> min;
  std::optional<double> max;
  // String tensors: element count and total string bytes (without length prefixes).
  std::uint64_t string_count = 0;
  std::uint64_t string_bytes = 0;
};

MODELPORT_API WeightStats compute_stats(const Tensor& tensor);

}  // namespace modelport
