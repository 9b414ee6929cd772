// The socket-free part of the http(s):// plugin: URL building, option parsing, manifest sizes,
// response classification and checks, and the multipart/form-data layout of a save. Everything
// here is pure (no I/O), so the unit tests and the fuzzer exercise it without a server.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelport::http_plugin {

// ---- URLs ----------------------------------------------------------------------------------

// Where one request goes: the connection it needs and the request target.
struct Endpoint {
  bool tls = false;
  std::string host;         // for DNS and certificate checks: no brackets around IPv6
  std::uint16_t port = 0;
  std::string target;       // origin-form: path and query, "/" at least
  std::string host_header;  // "host" or "host:port" (brackets for IPv6)

  // Connections are reused only for the same scheme, host and port.
  std::string connection_key() const;
};

// Parses an absolute http:// or https:// URL. Characters a browser would percent-encode before
// sending (spaces, quotes, non-ASCII bytes...) are encoded first, so manifest paths written by
// tools that did not encode them still load. Throws sdk::Error(invalid_argument) naming the URL.
Endpoint parse_endpoint(std::string_view url);

// The URL a Location header points to, resolved against the URL that answered.
std::string resolve_location(std::string_view base_url, std::string_view location);

// TensorFlow.js's parseUrl (spec §3.2.3): prefix up to and including the last '/', and the query
// after the last '?' when it comes after that '/'.
std::pair<std::string, std::string> split_prefix_suffix(std::string_view base);

// Shard URLs by plain concatenation: (weight_path_prefix or prefix) + path + suffix.
std::vector<std::string> shard_urls(std::string_view model_url, const std::vector<std::string>& paths,
                                    std::optional<std::string_view> weight_path_prefix);

// ---- options -------------------------------------------------------------------------------

struct Settings {
  unsigned connections = 8;                       // parallel keep-alive connections for shards
  std::chrono::milliseconds timeout{30000};       // longest wait for any progress of a request
  unsigned retries = 3;                           // extra attempts after a retryable failure
  std::chrono::milliseconds retry_delay{200};     // first backoff; doubles per attempt
  unsigned max_redirects = 5;
  std::string ca_file;                            // empty: the system CA store
  bool insecure = false;                          // no certificate verification (tests only)
};

using OptionLookup = std::function<std::optional<std::string_view>(std::string_view key)>;
// Reads connections, timeout_ms, retries, retry_delay_ms, max_redirects, ca_file, insecure.
Settings parse_settings(const OptionLookup& option);

// ---- manifest --------------------------------------------------------------------------------

// How the manifest's shards group, and how many bytes each group must hold (unknown when a
// weight has the variable-size string dtype or an unreadable shape/dtype).
struct ManifestLayout {
  std::vector<std::size_t> group_of_shard;
  std::vector<std::optional<std::uint64_t>> group_bytes;
};
// Never throws on odd input: what cannot be read yields no size, and the core has validated
// the manifest already.
ManifestLayout manifest_layout(std::string_view model_json);

// The whole-group check after every shard has arrived: an error naming the group's URLs when
// their sizes do not add up to what the manifest describes.
std::optional<std::string> group_size_problem(const ManifestLayout& layout, const std::vector<std::string>& urls,
                                              const std::vector<std::uint64_t>& shard_sizes);

// ---- responses -------------------------------------------------------------------------------

struct ResponseHead {
  unsigned status = 0;
  std::string reason;
  std::string content_type;
  std::optional<std::uint64_t> content_length;
  bool chunked = false;
  bool keep_alive = true;
  std::string location;
  std::string retry_after;
  std::string date;  // the Date header as sent (RFC 9110 IMF-fixdate), or empty
  bool accepts_byte_ranges = false;  // Accept-Ranges lists "bytes"
  std::string content_range;         // the Content-Range header as sent, or empty
};

enum class Disposition {
  success,   // 2xx
  redirect,  // 301, 302, 303, 307, 308
  retry,     // 5xx and 429: the server may succeed later
  fail,      // everything else (other 4xx, 1xx, 3xx without redirect meaning)
};
Disposition classify(unsigned status);

// "HTTP 404 Not Found from GET http://h/x: <snippet>" for a response that is not a success.
std::string describe_status_failure(std::string_view method, std::string_view url, const ResponseHead& head,
                                    std::string_view body);

// A short printable excerpt of a body for error messages (control bytes replaced, cut).
std::string body_snippet(std::string_view body, std::size_t max_chars = 200);

// Problems a successful shard response can show before its body is read: an HTML page where
// bytes were expected (a web app's catch-all route), or a declared length that cannot fit the
// manifest's group. `max_bytes` is the most the shard may hold (nullopt: no bound).
std::optional<std::string> shard_head_problem(const ResponseHead& head, std::optional<std::uint64_t> max_bytes);

// ---- byte ranges (a big shard read in windows by a streamed load) -----------------------------

// Whether an Accept-Ranges value offers byte ranges: a comma-separated token list holding
// "bytes" (any case); "none" or an absent header does not.
bool offers_byte_ranges(std::string_view accept_ranges);

// The Range request value for bytes first..last (inclusive): "bytes=first-last".
std::string byte_range_request(std::uint64_t first, std::uint64_t last);

// Why a 206's Content-Range is not exactly "bytes first-last/total" (nullopt when it is). The
// total must be given: it is what shows the shard still has the size it had at the load.
std::optional<std::string> content_range_problem(std::string_view content_range, std::uint64_t first,
                                                 std::uint64_t last, std::uint64_t total);

// Backoff before retry `attempt` (1-based): Retry-After seconds when given and at most 30 s,
// else retry_delay * 2^(attempt-1), capped at 10 s.
std::chrono::milliseconds backoff_delay(const Settings& settings, unsigned attempt, std::string_view retry_after);

// ---- save ------------------------------------------------------------------------------------

// The multipart/form-data body TensorFlow.js's fetch sends, around the weight bytes (which the
// client writes from the caller's buffers between `head` and `tail`, never concatenated).
struct MultipartLayout {
  std::string boundary;
  std::string content_type;  // multipart/form-data; boundary=...
  std::string head;          // model.json part, and the weights part's headers when it has weights
  std::string tail;          // end of the weights part (if any) and the closing delimiter
  std::uint64_t content_length = 0;
};
MultipartLayout multipart_layout(std::string_view model_json, bool with_weights, std::uint64_t weight_bytes,
                                 std::string boundary);
// 24 random hex digits after a fixed prefix: a weight file cannot plausibly contain it.
std::string random_boundary();

// The model.json of a save names its one weights file like tfjs does.
inline constexpr std::string_view kSavedWeightsPath = "./model.weights.bin";

}  // namespace modelport::http_plugin
