// Test helpers for streaming copies: a WeightStream over bytes in memory cut into chosen parts,
// and the one handler a registry has for a URL.
#pragma once

#include <modelport/error.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weight_stream.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelport::test {

// Hands out copies of `bytes` cut at `sizes`, one part per next(). With `fail_at` (0-based),
// reading that part throws Error(unavailable) "test source: part N is unreadable" (N 1-based),
// as a source that breaks halfway would.
class PartsStream final : public WeightStream {
 public:
  PartsStream(std::span<const std::byte> bytes, std::vector<std::uint64_t> sizes,
              std::optional<std::size_t> fail_at = std::nullopt)
      : WeightStream(std::move(sizes)), bytes_(bytes.begin(), bytes.end()), fail_at_(fail_at) {}
  PartsStream(std::string_view bytes, std::vector<std::uint64_t> sizes, std::optional<std::size_t> fail_at = std::nullopt)
      : PartsStream(std::as_bytes(std::span(bytes.data(), bytes.size())), std::move(sizes), fail_at) {}

  // Parts of `part` bytes, the last one shorter.
  static std::vector<std::uint64_t> every(std::uint64_t total, std::uint64_t part) {
    std::vector<std::uint64_t> sizes;
    for (std::uint64_t at = 0; at < total; at += part) sizes.push_back(std::min(part, total - at));
    return sizes;
  }
  // `parts` parts of equal size, the remainder in the last.
  static std::vector<std::uint64_t> split(std::uint64_t total, std::size_t parts) {
    std::vector<std::uint64_t> sizes;
    for (std::size_t i = 0; i < parts; ++i) sizes.push_back(total / parts + (i + 1 == parts ? total % parts : 0));
    return sizes;
  }

  std::size_t reads = 0;                            // read_part calls, the failing one included
  std::function<void(std::size_t index)> on_read;   // runs before part `index` is handed out

 protected:
  Buffer read_part(std::size_t index) override {
    ++reads;
    if (on_read) on_read(index);
    if (fail_at_ && index == *fail_at_) {
      throw Error(ErrorCode::unavailable, "test source: part " + std::to_string(index + 1) + " is unreadable");
    }
    std::size_t offset = 0;
    for (std::size_t i = 0; i < index; ++i) offset += static_cast<std::size_t>(part_sizes()[i]);
    return Buffer::copy_of(std::span<const std::byte>(bytes_).subspan(offset, static_cast<std::size_t>(part_sizes()[index])));
  }

 private:
  std::vector<std::byte> bytes_;
  std::optional<std::size_t> fail_at_;
};

// The one save (load) handler `routers` has for `url`; Error(internal) when there is not exactly one.
inline HandlerPtr the_save_handler(const RouterRegistry& routers, const std::string& url, const SaveOptions& options = {}) {
  auto matches = routers.get_save_handlers(url, options);
  if (matches.size() != 1) throw Error(ErrorCode::internal, std::to_string(matches.size()) + " save handlers for '" + url + "'");
  return std::move(matches[0].handler);
}
inline HandlerPtr the_load_handler(const RouterRegistry& routers, const std::string& url, const LoadOptions& options = {}) {
  auto matches = routers.get_load_handlers(url, options);
  if (matches.size() != 1) throw Error(ErrorCode::internal, std::to_string(matches.size()) + " load handlers for '" + url + "'");
  return std::move(matches[0].handler);
}

}  // namespace modelport::test
