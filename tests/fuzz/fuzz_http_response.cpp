// Arbitrary bytes as an HTTP response, through what the http(s):// plugin does with one: Beast's
// response parser (status line, headers, Content-Length or chunked body), the plugin's header
// reading, and its shard checks; plus the URL handling a Location header goes through.
//
// Invariants: nothing but sdk::Error comes out of the plugin's functions; a complete response
// with a Content-Length has exactly that many body bytes (none for 1xx, 204 and 304); a body never exceeds the limit; an
// accepted shard is a 2xx that is not an HTML page and fits its bound.
#include "response_parse.hpp"

#include <modelport/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace modelport::http_plugin;
  if (size == 0) return 0;
  // The first byte picks the shard's byte bound (none, or a small number so that limits trip).
  const std::optional<std::uint64_t> max_bytes =
      data[0] == 0 ? std::nullopt : std::optional<std::uint64_t>(static_cast<std::uint64_t>(data[0]) * 16);
  const std::string_view bytes(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::uint64_t limit = max_bytes.value_or(1u << 20);

  const ParsedResponse response = parse_response(bytes, limit);
  if (response.complete) {
    check(response.body.size() <= limit);
    // 1xx, 204 and 304 answers have no body whatever their headers say.
    const unsigned status = response.head.status;
    const bool bodiless = (status >= 100 && status < 200) || status == 204 || status == 304;
    if (bodiless) {
      check(response.body.empty());
    } else if (response.head.content_length && !response.head.chunked) {
      check(response.body.size() == *response.head.content_length);
    }
  } else {
    check(!response.error.empty());
  }
  const auto problem = shard_response_problem("http://fuzz.invalid/shard.bin", response, max_bytes);
  if (!problem) {
    check(response.complete);
    check(classify(response.head.status) == Disposition::success);
    check(!max_bytes || response.body.size() <= *max_bytes);
  }
  (void)describe_status_failure("GET", "http://fuzz.invalid/x", response.head, response.body);
  (void)backoff_delay(Settings{}, 1 + (size & 7), response.head.retry_after);

  // A Location header is resolved and then parsed as the next request's endpoint.
  if (!response.head.location.empty()) {
    try {
      const std::string next = resolve_location("http://fuzz.invalid/a/model.json", response.head.location);
      (void)parse_endpoint(next);
    } catch (const modelport::sdk::Error&) {
    }
  }
  (void)split_prefix_suffix(bytes.substr(0, 256));
  return 0;
}
