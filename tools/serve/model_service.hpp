// What `modelport serve` does with models, without any HTTP: request paths to model names,
// uploads to artifacts saved in the store, stored models to the bytes served (with a cache), the
// listing and removal. The HTTP layer (http_server.cpp) only moves bytes and maps ServeError to
// status codes, so this part is small to compile and easy to test.
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/options.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace modelport::serve {

// A failure with its HTTP status and a short machine-readable code; the message names the cause.
class ServeError : public std::runtime_error {
 public:
  ServeError(int status, std::string code, const std::string& message)
      : std::runtime_error(message), status_(status), code_(std::move(code)) {}
  int status() const noexcept { return status_; }
  const std::string& code() const noexcept { return code_; }

 private:
  int status_;
  std::string code_;
};

// `{"error": message, "code": code}`.
std::string error_json(std::string_view message, std::string_view code);

// The request target split into decoded path segments after "/models" (the query is dropped).
// Percent-escapes are decoded first, then every segment is checked: not empty, not "." or "..",
// no "/" or "\" (also when percent-encoded), no NUL or other control characters, at most 255
// bytes, 1024 bytes in all. Throws ServeError 400 "bad_name" / 404 "not_found" (not under
// /models).
struct ModelPath {
  std::vector<std::string> segments;  // empty for "/models" and "/models/"
};
ModelPath parse_model_path(std::string_view target);
std::string join_segments(std::span<const std::string> segments);

// What a Range header asks of a body of `size` bytes. One range only ("bytes=a-b", "bytes=a-",
// "bytes=-n"); several ranges or another unit are answered with the whole body, as RFC 9110
// allows; a malformed or unsatisfiable bytes range is `unsatisfiable` (416).
struct RangeRequest {
  enum Kind { whole, partial, unsatisfiable } kind = whole;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};
RangeRequest parse_range(std::string_view header, std::uint64_t size);

// True when an If-None-Match header value lists `etag` (weak comparison) or is "*".
bool etag_matches(std::string_view if_none_match, std::string_view etag);

// Constant-time check of an `Authorization: Bearer <token>` header value.
bool bearer_token_matches(std::string_view authorization_header, std::string_view token);

// A stored model as served: model.json in the browser writers' key order with a manifest of
// shard paths relative to it, and the shards as slices of the loaded weight buffers (≤ 4 MiB,
// zero-copy). ETags are computed once: of model.json eagerly, of a shard on first request.
class ServedModel {
 public:
  static constexpr std::uint64_t kShardBytes = 4 * 1024 * 1024;
  ServedModel(const ModelArtifacts& artifacts, std::string_view source);

  const std::string& model_json() const noexcept { return model_json_; }
  const std::string& model_json_etag() const noexcept { return model_json_etag_; }
  // The shard at manifest path `path`, or nullptr.
  const Buffer* shard(std::string_view path) const;
  // Strong ETag (quoted sha256 prefix) of the shard's bytes, computed on first use.
  std::string shard_etag(std::string_view path) const;
  std::size_t shard_count() const noexcept { return shards_.size(); }
  std::chrono::steady_clock::time_point loaded_at() const noexcept { return loaded_at_; }

 private:
  struct Shard {
    std::string path;
    Buffer bytes;
    mutable std::once_flag etag_once;
    mutable std::string etag;
  };
  std::string model_json_;
  std::string model_json_etag_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::map<std::string, const Shard*, std::less<>> by_path_;
  std::chrono::steady_clock::time_point loaded_at_;
};

// The artifacts of a tfjs upload: parts "model.json" (required) and "model.weights.bin"
// (required when the manifest lists weights), any order, nothing else. `body` is the whole
// request body; the weights become a slice of it (no copy). Throws ServeError 400 with code
// "bad_multipart", "missing_part", "duplicate_part", "unexpected_part", "bad_model_json" or
// "bad_weights" (sizes that do not match the manifest).
ModelArtifacts artifacts_from_upload(const Buffer& body, std::string_view content_type, std::string_view source);

struct ServiceOptions {
  std::string store_url;  // where models live: file:///srv/models, indexeddb://, ...
  std::map<std::string, std::string, std::less<>> plugin_options;  // -o key=value
  // A model.json request reloads a cached model older than this (another process may have
  // changed the store); shard requests always use the cached copy.
  std::chrono::milliseconds model_json_max_age{1000};
};

class ModelService {
 public:
  explicit ModelService(ServiceOptions options);

  const std::string& store_url() const noexcept { return options_.store_url; }
  // store URL + name ("file:///srv/models" + "x/y" -> "file:///srv/models/x/y").
  std::string model_url(std::string_view name) const;

  // Saves into the store; returns the save's info as JSON. Errors map to ServeError.
  std::string save(std::string_view name, const ModelArtifacts& artifacts);
  // The model, from the cache or loaded; `fresh` applies model_json_max_age.
  std::shared_ptr<const ServedModel> get(std::string_view name, bool fresh);
  // The cached model when there is a usable one, else nullptr; never loads (the I/O threads use
  // it to answer shard requests without a hop to the blocking pool).
  std::shared_ptr<const ServedModel> cached(std::string_view name, bool fresh);
  // `{"models":[{"name","dateSaved","modelTopologyType","modelTopologyBytes",...}]}`.
  std::string list_json();
  // Removes the model; returns its info as JSON. 404 when missing.
  std::string remove(std::string_view name);

 private:
  struct Entry {
    std::shared_ptr<const ServedModel> model;
    std::shared_ptr<std::mutex> load_mutex = std::make_shared<std::mutex>();
    std::uint64_t epoch = 0;  // bumped by every save and removal of the name
  };
  void invalidate(const std::string& name);

  ServiceOptions options_;
  std::mutex mutex_;
  std::map<std::string, Entry, std::less<>> cache_;
};

// Maps a core error to a ServeError (status by error code; `store_side` says whether the bytes
// came from the store, where "corrupt" is the server's problem, or from the client).
[[noreturn]] void rethrow_as_serve_error(bool store_side);

}  // namespace modelport::serve
