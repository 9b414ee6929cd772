// The network side of the http(s):// plugin: keep-alive connections (plain or TLS), requests
// with timeouts, retries and redirects, and bodies read straight into their final buffers.
// Boost.Beast and Asio stay inside http_client.cpp; this header shows none of them.
#pragma once

#include "http_logic.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace modelport::http_plugin {

using Headers = std::vector<std::pair<std::string, std::string>>;

// Bytes of one shard, in memory this plugin owns until the core releases it. Shard-sized
// buffers are anonymous mappings made with MAP_POPULATE: the kernel faults all their pages in
// one call instead of one trap per 4 KiB page while the body arrives, which is a visible share
// of a loopback load (a 1 GiB model is 262144 pages).
class OwnedBytes {
 public:
  OwnedBytes() = default;
  static OwnedBytes allocate(std::size_t size);  // uninitialized: the body overwrites it all
  OwnedBytes(OwnedBytes&& other) noexcept : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  OwnedBytes& operator=(OwnedBytes&& other) noexcept {
    if (this != &other) {
      free_bytes(data_, size_);
      data_ = std::exchange(other.data_, nullptr);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }
  ~OwnedBytes() { free_bytes(data_, size_); }

  std::byte* data() const noexcept { return data_; }
  std::size_t size() const noexcept { return size_; }
  // Gives up ownership; the new owner calls free_bytes(pointer, size()) once.
  std::byte* release() noexcept { return std::exchange(data_, nullptr); }
  static void free_bytes(std::byte* data, std::size_t size) noexcept;

 private:
  std::byte* data_ = nullptr;
  std::size_t size_ = 0;
};

struct TextResponse {
  ResponseHead head;
  std::string body;
};

// What the caller sees of a client's work: cancellation is polled, progress is reported on the
// calling thread (all I/O runs there).
struct ClientHooks {
  std::function<bool()> cancelled;
  std::function<void(std::uint64_t done, std::optional<std::uint64_t> total, const std::string& url)> progress;
};

// The weight bytes of an upload, in one of two forms.
//  - `chunks`: bytes in memory for the whole upload. They can be sent again, so a 503/429 or a
//    307/308 redirect repeats the request as before.
//  - `pull` (set): a streamed source. pull(write) calls write(span) once per part, in order, and
//    each span is valid only during that call; the client sends it before write returns. Once a
//    weight byte went out the body cannot be produced again, so nothing is retried or redirected
//    after that point. When pull throws, the connection is dropped mid-body (the server sees a
//    short body and must discard it) and upload rethrows pull's exception.
struct UploadBody {
  std::vector<std::span<const std::byte>> chunks;
  std::function<void(const std::function<void(std::span<const std::byte>)>& write)> pull;
};

class Client {
 public:
  Client(Settings settings, std::string method, Headers headers, ClientHooks hooks);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // One request with this client's method and headers; follows redirects and retries 5xx/429
  // and connection failures, then returns whatever response came last (the caller judges the
  // status). The body is read up to `limit` bytes (more is an error).
  TextResponse fetch_text(const std::string& url, std::uint64_t limit);

  // Every shard in parallel over up to settings.connections connections. A shard must answer
  // 2xx, must not be an HTML page, and must not hold more than its max_bytes (when known).
  // Throws sdk::Error naming the URL on the first failure (after retries) and stops the rest.
  std::vector<OwnedBytes> fetch_shards(const std::vector<std::string>& urls,
                                       const std::vector<std::optional<std::uint64_t>>& max_bytes,
                                       std::optional<std::uint64_t> total_bytes);

  // A HEAD request per URL in parallel (redirects followed, 5xx/429 and connection failures
  // retried); each answer's head as it came (the caller judges it). Throws sdk::Error when a URL
  // gives no answer at all.
  std::vector<TextResponse> fetch_heads(const std::vector<std::string>& urls);

  // One shard read straight into `dest`, which its body must fill exactly (a deferred fill: the
  // manifest gave the size before the request). Same checks, retries and redirects as
  // fetch_shards; throws sdk::Error naming the URL.
  void fetch_shard_into(const std::string& url, std::span<std::byte> dest);

  // Bytes first..first+dest.size()-1 of a shard of shard_size bytes, read into `dest` with a
  // Range request (a streamed load reads a big shard in windows). Only a 206 whose
  // Content-Range is exactly those bytes of shard_size is accepted; a 200 (the server ignored
  // the range) fails. Otherwise as fetch_shard_into; errors name the URL and the range.
  void fetch_range_into(const std::string& url, std::uint64_t first, std::uint64_t shard_size, std::span<std::byte> dest);

  // One upload: `layout.head`, then the weight bytes, then `layout.tail`, with Content-Length
  // known up front. Returns the server's response (any status).
  TextResponse upload(const std::string& url, const std::string& method, const MultipartLayout& layout,
                      const UploadBody& body);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelport::http_plugin
