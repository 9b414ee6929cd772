#include <modelport/error.hpp>
#include <modelport/weight_stats.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cmath>
#include <memory>

namespace modelport {

struct Sha256::Impl {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx{EVP_MD_CTX_new(), &EVP_MD_CTX_free};
};

Sha256::Sha256() : impl_(std::make_unique<Impl>()) {
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::internal, "OpenSSL could not start a SHA-256 digest");
  }
}

Sha256::~Sha256() = default;

void Sha256::update(std::span<const std::byte> bytes) {
  if (!bytes.empty() && EVP_DigestUpdate(impl_->ctx.get(), bytes.data(), bytes.size()) != 1) {
    throw Error(ErrorCode::internal, "SHA-256 update failed");
  }
}

std::string Sha256::hex() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(impl_->ctx.get(), digest, &length) != 1) throw Error(ErrorCode::internal, "SHA-256 final failed");
  if (EVP_DigestInit_ex(impl_->ctx.get(), EVP_sha256(), nullptr) != 1) {
    throw Error(ErrorCode::internal, "OpenSSL could not restart a SHA-256 digest");
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(length * 2);
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(kHex[digest[i] >> 4]);
    out.push_back(kHex[digest[i] & 15]);
  }
  return out;
}

namespace {

template <class T>
void accumulate(const Tensor& t, std::size_t count, WeightStats& s) {
  double lo = INFINITY, hi = -INFINITY;
  double sum = 0, abs_sum = 0;
  for (std::size_t i = 0; i < count; ++i) {
    auto v = static_cast<double>(t.at<T>(i));
    sum += v;
    abs_sum += std::fabs(v);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
  }
  s.sum = sum;
  s.abs_sum = abs_sum;
  if (count) {
    s.min = lo;
    s.max = hi;
  }
}

}  // namespace

std::string sha256_hex(const WeightData& data, std::uint64_t offset, std::uint64_t length) {
  Sha256 digest;
  if (length == 0) return digest.hex();
  if (offset > data.size() || length > data.size() - offset) {
    throw Error(ErrorCode::internal, "digest range past the end of the weight data");
  }
  auto pos = data.locate(offset);
  std::uint64_t left = length;
  for (std::size_t b = pos.buffer; left > 0; ++b) {
    const Buffer& buf = data.buffers()[b];
    std::size_t start = b == pos.buffer ? pos.offset : 0;
    auto n = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size() - start, left));
    digest.update(buf.span().subspan(start, n));
    left -= n;
  }
  return digest.hex();
}

std::string sha256_hex(std::span<const std::byte> bytes) {
  Sha256 digest;
  digest.update(bytes);
  return digest.hex();
}

WeightStats compute_stats(const Tensor& t) {
  WeightStats s;
  auto n = static_cast<std::size_t>(t.elements);
  switch (t.dtype) {
    case DType::float32: accumulate<float>(t, n, s); break;
    case DType::complex64: accumulate<float>(t, n * 2, s); break;
    case DType::int32: accumulate<std::int32_t>(t, n, s); break;
    case DType::boolean: accumulate<std::uint8_t>(t, n, s); break;
    case DType::string:
      s.string_count = t.strings.size();
      for (const auto& str : t.strings) s.string_bytes += str.size();
      break;
  }
  return s;
}

}  // namespace modelport
