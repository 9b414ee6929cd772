// Boost.Beast over Asio, with C++20 coroutines on one io_context that the calling thread runs:
// the host's progress and cancellation hooks are then only ever called from that thread, and
// one thread is plenty to keep 8 loopback/LAN connections busy (the kernel does the copying).
#include "http_client.hpp"

#include "beast_head.hpp"

#include <modelport/plugin.hpp>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <openssl/ssl.h>
#include <sys/mman.h>
#include <openssl/x509_vfy.h>

#include <algorithm>
#include <cstring>
#include <cstdlib>
#include <deque>

namespace modelport::http_plugin {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using asio::awaitable;
using sdk::Code;
using sdk::Error;

namespace {

constexpr std::size_t kErrorBodyLimit = 64 * 1024;  // enough for a snippet; more closes the connection
constexpr std::size_t kReadPiece = 256 * 1024;      // chunked bodies grow by this much at a time
constexpr const char* kUserAgent = "modelport/0.1";

auto with_ec(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// A failure worth another attempt (connection trouble, 5xx, 429).
struct Retryable {
  std::string message;
  std::string retry_after;
  bool before_response = false;  // nothing of a response arrived: maybe a stale keep-alive connection
  bool request_sent = true;      // false: failed while connecting, nothing reached the server
  unsigned status = 0;           // the HTTP status for a 5xx/429, else 0
  std::optional<TextResponse> response = std::nullopt;  // that response, for callers that judge statuses themselves
};

// One keep-alive connection, plain or TLS.
struct Connection {
  std::string key;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool reused = false;  // a request already completed on it

  bool open() const { return plain || secure; }
  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // Makes pending operations fail (called from outside the coroutine that owns the connection).
  void abort() {
    if (open()) {
      beast::error_code ec;
      lowest().socket().close(ec);
    }
  }
  // Only the owning coroutine calls this, with no operation pending.
  void reset() {
    abort();
    secure.reset();
    plain.reset();
    buffer.clear();
    key.clear();
    reused = false;
  }
};

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

std::string tls_failure_detail(Connection& c, const beast::error_code& ec) {
  std::string detail = ec.message();
  if (c.secure) {
    long verify = SSL_get_verify_result(c.secure->native_handle());
    if (verify != X509_V_OK) {
      detail += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) +
                "; give the CA with -o ca_file=PEM, or -o insecure=1 for tests only)";
    }
  }
  return detail;
}

Code code_for_status(unsigned status) {
  if (status == 404 || status == 410) return Code::not_found;
  if (status == 401 || status == 403) return Code::permission_denied;
  if (status == 413) return Code::quota_exceeded;
  return Code::unavailable;
}

}  // namespace

namespace {
// From this size on, a buffer is its own mapping (glibc would mmap it anyway, without populating).
constexpr std::size_t kMappedBytes = 256 * 1024;
}  // namespace

OwnedBytes OwnedBytes::allocate(std::size_t size) {
  // Tried as well: 2 MiB-aligned buffers with MADV_HUGEPAGE (+ MADV_POPULATE_WRITE). With the
  // usual THP defrag=madvise those faults compact memory synchronously: a 1 GiB loopback load
  // took 4.8-6.7 s instead of 1.6-1.9 s, with 3-4 s of system time.
  void* p = nullptr;
  if (size >= kMappedBytes) {
    p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
  } else {
    p = std::malloc(size ? size : 1);
    if (!p) throw std::bad_alloc();
  }
  OwnedBytes out;
  out.data_ = static_cast<std::byte*>(p);
  out.size_ = size;
  return out;
}

void OwnedBytes::free_bytes(std::byte* data, std::size_t size) noexcept {
  if (!data) return;
  if (size >= kMappedBytes) {
    ::munmap(data, size);
  } else {
    std::free(data);
  }
}

struct Client::Impl {
  // The spans of a streamed upload, handed one at a time from the caller's pull callback (on the
  // thread that runs the io_context between parts) to the upload coroutine.
  struct Feed {
    explicit Feed(asio::io_context& ioc) : signal(ioc) {}
    asio::steady_timer signal;  // the coroutine waits on it; cancel() wakes it
    std::optional<std::span<const std::byte>> offered;
    bool waiting = false;  // the coroutine wants the next span
    bool ended = false;    // pull returned: no more spans
    bool started = false;  // a span was taken: the body cannot be produced again
  };

  enum class Mode { text, shard, upload };

  struct Job {
    Mode mode = Mode::text;
    std::string verb;
    std::uint64_t limit = 0;                 // text/upload: most body bytes accepted
    std::optional<std::uint64_t> max_bytes;  // shard: most bytes the manifest leaves
    std::optional<std::span<std::byte>> dest;  // shard: read into this, which the body must fill exactly
    // shard with dest: the bytes dest covers start here in a shard of range_total bytes, asked
    // with a Range request that must be answered 206 (nullopt: the whole shard, 200)
    std::optional<std::uint64_t> range_first;
    std::uint64_t range_total = 0;
    const MultipartLayout* layout = nullptr;
    const std::vector<std::span<const std::byte>>* chunks = nullptr;  // upload: in-memory weights
    Feed* feed = nullptr;                    // upload: streamed weights (then chunks is unused)
    std::uint64_t progressed = 0;            // bytes of this request reported as progress
    // results
    std::uint64_t body_sent = 0;             // upload: bytes of the body written in the last attempt
    bool body_complete = false;              // upload: the last attempt wrote the whole body
    TextResponse text;
    OwnedBytes bytes;

    // A streamed body whose weights started going out cannot be sent a second time.
    bool body_spent() const { return feed && feed->started; }
  };

  Settings settings;
  std::string method;
  Headers headers;
  ClientHooks hooks;
  asio::io_context ioc;
  std::unique_ptr<ssl::context> tls_context;
  std::deque<Connection> connections;  // deque: addresses stay valid as it grows
  // One helper thread maps and populates shard buffers, so that the kernel's zeroing of a new
  // buffer overlaps with reading the other connections instead of stalling them.
  std::unique_ptr<asio::thread_pool> allocator;

  // Set when the current batch must end: the first fatal error or cancellation.
  bool stopping = false;
  std::exception_ptr first_error;
  Feed* active_feed = nullptr;  // the streamed upload in progress, woken when the batch stops

  Impl(Settings s, std::string m, Headers h, ClientHooks k)
      : settings(std::move(s)), method(std::move(m)), headers(std::move(h)), hooks(std::move(k)) {}

  ~Impl() {
    for (auto& c : connections) c.reset();
    if (allocator) allocator->join();
  }

  awaitable<OwnedBytes> allocate(std::size_t size) {
    if (size < 1024 * 1024 || settings.connections == 1) co_return OwnedBytes::allocate(size);
    if (!allocator) allocator = std::make_unique<asio::thread_pool>(1);
    OwnedBytes bytes = co_await asio::co_spawn(
        allocator->get_executor(), [size]() -> awaitable<OwnedBytes> { co_return OwnedBytes::allocate(size); },
        asio::use_awaitable);
    throw_if_stopping();
    co_return bytes;
  }

  Connection& connection(std::size_t index) {
    while (connections.size() <= index) connections.emplace_back();
    return connections[index];
  }

  ssl::context& tls() {
    if (!tls_context) {
      auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
      beast::error_code ec;
      if (settings.insecure) {
        ctx->set_verify_mode(ssl::verify_none);
      } else {
        ctx->set_verify_mode(ssl::verify_peer);
        if (!settings.ca_file.empty()) {
          ctx->load_verify_file(settings.ca_file, ec);
          if (ec) throw Error(Code::invalid_argument, "cannot use ca_file '" + settings.ca_file + "': " + ec.message());
        } else {
          ctx->set_default_verify_paths(ec);
          if (ec) throw Error(Code::unavailable, "cannot load the system CA certificates: " + ec.message());
        }
      }
      tls_context = std::move(ctx);
    }
    return *tls_context;
  }

  void expire(Connection& c) { c.lowest().expires_after(settings.timeout); }

  // Runs the io_context on this thread until the batch is over, polling for cancellation.
  void run() {
    ioc.restart();
    while (!ioc.stopped()) {
      ioc.run_for(std::chrono::milliseconds(50));
      if (!stopping && hooks.cancelled && hooks.cancelled()) fail(std::make_exception_ptr(Error(Code::cancelled, "cancelled")));
    }
    stopping = false;
    if (auto e = std::exchange(first_error, nullptr)) std::rethrow_exception(e);
  }

  void fail(std::exception_ptr e) {
    if (!first_error) first_error = e;
    stopping = true;
    for (auto& c : connections) c.abort();
    if (active_feed) active_feed->signal.cancel();
  }

  void throw_if_stopping() {
    if (stopping) throw Error(Code::cancelled, "stopped");
  }

  awaitable<void> sleep(std::chrono::milliseconds delay) {
    // Short steps, so that a stop is noticed quickly without tracking timers.
    const auto until = std::chrono::steady_clock::now() + delay;
    asio::steady_timer timer(ioc);
    while (!stopping && std::chrono::steady_clock::now() < until) {
      timer.expires_after(std::min<std::chrono::steady_clock::duration>(until - std::chrono::steady_clock::now(),
                                                                        std::chrono::milliseconds(20)));
      beast::error_code ec;
      co_await timer.async_wait(with_ec(ec));
    }
  }

  // ---- connecting ---------------------------------------------------------------------------

  awaitable<void> connect(Connection& c, const Endpoint& ep, const std::string& url) {
    if (c.open() && c.key == ep.connection_key()) co_return;
    c.reset();
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), with_ec(ec));
    throw_if_stopping();
    if (ec) throw Retryable{"cannot resolve host '" + ep.host + "' for " + url + ": " + ec.message(), {}, false, false};
    auto stream = std::make_unique<beast::tcp_stream>(ioc);
    stream->expires_after(settings.timeout);
    co_await stream->async_connect(results, with_ec(ec));
    throw_if_stopping();
    if (ec) {
      throw Retryable{"cannot connect to " + ep.host_header + " for " + url + ": " +
                          (ec == beast::error::timeout ? "timed out" : ec.message()),
                      {}, false, false};
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    if (!ep.tls) {
      c.plain = std::move(stream);
    } else {
      auto& ctx = tls();
      c.secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*stream), ctx);
      if (!is_ip_literal(ep.host)) SSL_set_tlsext_host_name(c.secure->native_handle(), ep.host.c_str());
      if (!settings.insecure) c.secure->set_verify_callback(ssl::host_name_verification(ep.host));
      expire(c);
      co_await c.secure->async_handshake(ssl::stream_base::client, with_ec(ec));
      throw_if_stopping();
      if (ec) {
        std::string detail = tls_failure_detail(c, ec);
        const bool certificate = detail.find("certificate") != std::string::npos;
        c.reset();
        if (certificate) throw Error(Code::permission_denied, "TLS handshake with " + ep.host_header + " for " + url + " failed: " + detail);
        throw Retryable{"TLS handshake with " + ep.host_header + " for " + url + " failed: " + detail, {}, false, false};
      }
    }
    c.key = ep.connection_key();
  }

  // ---- one request/response exchange ---------------------------------------------------------

  http::request<http::empty_body> request_head(const Endpoint& ep, const std::string& verb,
                                               std::optional<std::uint64_t> content_length,
                                               const std::string& content_type, const std::string& range = {}) const {
    http::request<http::empty_body> req;
    const http::verb known = http::string_to_verb(verb);
    if (known == http::verb::unknown) {
      req.method_string(verb);
    } else {
      req.method(known);
    }
    req.target(ep.target);
    req.version(11);
    req.set(http::field::host, ep.host_header);
    req.set(http::field::user_agent, kUserAgent);
    req.set(http::field::accept, "*/*");
    for (const auto& [name, value] : headers) {
      if (beast::iequals(name, "host") || beast::iequals(name, "content-length") ||
          beast::iequals(name, "transfer-encoding") || (content_length && beast::iequals(name, "content-type")) ||
          (!range.empty() && beast::iequals(name, "range"))) {
        continue;  // framing is this client's job
      }
      req.set(name, value);
    }
    if (!range.empty()) req.set(http::field::range, range);
    if (content_length) {
      req.set(http::field::content_type, content_type);
      req.content_length(*content_length);
    }
    return req;
  }

  template <class Stream>
  awaitable<void> write_all(Stream& s, Connection& c, asio::const_buffer piece, const std::string& url) {
    // Large pieces go in slices so that the timeout means "no progress", not "too slow overall".
    constexpr std::size_t kSlice = 4 * 1024 * 1024;
    const auto* p = static_cast<const char*>(piece.data());
    std::size_t left = piece.size();
    while (left > 0) {
      const std::size_t n = std::min(left, kSlice);
      beast::error_code ec;
      expire(c);
      co_await asio::async_write(s, asio::buffer(p, n), with_ec(ec));
      throw_if_stopping();
      if (ec) throw Retryable{"sending the request to " + url + " failed: " + ec.message(), {}, c.reused};
      p += n;
      left -= n;
    }
  }

  // The next span of a streamed upload; nullopt once the source has none left.
  awaitable<std::optional<std::span<const std::byte>>> next_span(Feed& feed) {
    feed.waiting = true;
    while (!feed.offered && !feed.ended && !stopping) {
      feed.signal.expires_at(asio::steady_timer::time_point::max());
      beast::error_code ec;
      co_await feed.signal.async_wait(with_ec(ec));
    }
    feed.waiting = false;
    throw_if_stopping();
    if (!feed.offered) co_return std::nullopt;
    feed.started = true;
    co_return std::exchange(feed.offered, std::nullopt);
  }

  // The multipart body: head, weight bytes (in memory or as the source hands them over), tail.
  template <class Stream>
  awaitable<void> write_body(Stream& s, Connection& c, const std::string& url, Job& job) {
    job.body_sent = 0;
    job.body_complete = false;
    co_await write_all(s, c, asio::buffer(job.layout->head), url);
    job.body_sent += job.layout->head.size();
    if (job.feed) {
      for (;;) {
        std::optional<std::span<const std::byte>> span = co_await next_span(*job.feed);
        if (!span) break;
        co_await write_all(s, c, asio::const_buffer(span->data(), span->size()), url);
        job.body_sent += span->size();
      }
    } else if (job.chunks) {
      for (const auto& chunk : *job.chunks) {
        co_await write_all(s, c, asio::const_buffer(chunk.data(), chunk.size()), url);
        job.body_sent += chunk.size();
      }
    }
    co_await write_all(s, c, asio::buffer(job.layout->tail), url);
    job.body_sent += job.layout->tail.size();
    job.body_complete = true;
  }

  template <class Stream>
  awaitable<ResponseHead> exchange(Stream& s, Connection& c, const Endpoint& ep, const std::string& url,
                                   const std::string& verb, std::optional<http::response_parser<http::buffer_body>>& parser,
                                   std::optional<std::uint64_t> content_length = std::nullopt,
                                   const std::string& content_type = {}, Job* upload = nullptr,
                                   const std::string& range = {}) {
    auto req = request_head(ep, verb, content_length, content_type, range);
    http::request_serializer<http::empty_body> serializer(req);
    beast::error_code ec;
    expire(c);
    co_await http::async_write_header(s, serializer, with_ec(ec));
    throw_if_stopping();
    if (ec) throw Retryable{"sending the request to " + url + " failed: " + ec.message(), {}, c.reused};
    bool write_error = false;
    if (upload) {
      try {
        co_await write_body(s, c, url, *upload);
      } catch (const Retryable&) {
        // The server may have answered early (413, 401...) and closed: read that answer below.
        write_error = true;
      }
    }
    // Interim 1xx answers (100 Continue, 103 Early Hints) come before the real one: skip them,
    // as fetch does. Each response needs a fresh parser.
    for (;;) {
      parser.emplace();
      parser->header_limit(64 * 1024);
      parser->body_limit(boost::none);
      if (verb == "HEAD") parser->skip(true);  // the answer to a HEAD has headers only, whatever they say
      expire(c);
      co_await http::async_read_header(s, c.buffer, *parser, with_ec(ec));
      throw_if_stopping();
      if (ec) {
        std::string cause = ec == beast::error::timeout ? "no response within " + std::to_string(settings.timeout.count()) + " ms"
                                                        : ec.message();
        if (write_error) cause = "the connection failed while sending the request body (" + cause + ")";
        throw Retryable{"no valid response from " + url + ": " + cause, {}, c.reused && !write_error};
      }
      const unsigned status = parser->get().result_int();
      if (status < 100 || status >= 200 || status == 101) break;
    }
    co_return head_of(*parser);
  }

  // Reads a body through the parser (chunked, or delimited by the end of the connection) into
  // `out`, at most `limit` bytes; returns false when more was coming (the rest is abandoned and
  // the connection closed).
  template <class Stream, class Out>
  awaitable<bool> read_parsed_body(Stream& s, Connection& c, http::response_parser<http::buffer_body>& parser,
                                   Out& out, std::uint64_t limit, const std::string& url, std::uint64_t& counted) {
    std::vector<char> piece(std::min<std::uint64_t>(kReadPiece, limit + 1));
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      beast::error_code ec;
      expire(c);
      co_await http::async_read_some(s, c.buffer, parser, with_ec(ec));
      throw_if_stopping();
      if (ec == http::error::need_buffer) ec = {};
      const std::size_t got = piece.size() - parser.get().body().size;
      if (got > limit - std::min<std::uint64_t>(limit, out.size())) {
        c.reset();
        co_return false;
      }
      const auto* first = reinterpret_cast<const typename Out::value_type*>(piece.data());
      out.insert(out.end(), first, first + got);
      if (got) progress_piece(got, url, counted);
      if (ec) {
        throw Retryable{"the body from " + url + " broke off after " + std::to_string(out.size()) + " bytes: " +
                            (ec == beast::error::timeout ? "timed out" : ec.message()),
                        {}, false};
      }
    }
    co_return true;
  }

  // Reads a Content-Length body straight into `dest`: what the header read already buffered is
  // copied, the rest goes from the socket into place.
  template <class Stream>
  awaitable<void> read_exact_body(Stream& s, Connection& c, std::byte* dest, std::size_t size, const std::string& url,
                                  std::uint64_t& counted) {
    std::size_t have = std::min(c.buffer.size(), size);
    if (have) std::memcpy(dest, c.buffer.data().data(), have);
    c.buffer.consume(have);
    if (have) progress_piece(have, url, counted);
    while (have < size) {
      beast::error_code ec;
      expire(c);
      const std::size_t n = co_await s.async_read_some(asio::buffer(dest + have, size - have), with_ec(ec));
      throw_if_stopping();
      have += n;
      if (n) progress_piece(n, url, counted);
      if (ec) {
        throw Retryable{"truncated body from " + url + ": " + std::to_string(have) + " of " + std::to_string(size) +
                            " bytes (Content-Length) arrived, then " +
                            (ec == beast::error::timeout ? "nothing for " + std::to_string(settings.timeout.count()) + " ms"
                                                         : ec.message()),
                        {}, false};
      }
    }
  }

  // Progress across a batch (reset per batch).
  std::uint64_t progress_done = 0;
  std::uint64_t progress_reported = 0;
  std::optional<std::uint64_t> progress_total;
  bool progress_enabled = false;  // only shard batches report progress
  // `counted` is the request's own share, taken back when the request is retried.
  void progress_piece(std::size_t n, const std::string& url, std::uint64_t& counted) {
    if (!progress_enabled || !hooks.progress) return;
    counted += n;
    progress_done += n;
    // Every MiB is often enough for a progress bar and keeps the callback cheap.
    if (progress_done - progress_reported >= (1u << 20)) {
      progress_reported = progress_done;
      hooks.progress(progress_done, progress_total, url);
    }
  }
  void progress_final(const std::string& url) {
    progress_reported = progress_done;
    if (hooks.progress) hooks.progress(progress_done, progress_total, url);
  }

  // ---- the request loop: retries and redirects ------------------------------------------------

  // What one attempt ended with, when it did not throw.
  struct Step {
    bool done = false;
    std::string redirect_to;
  };

  // A deferred shard: the body must be exactly dest.size() bytes (the manifest's size for it).
  template <class Stream>
  awaitable<void> read_shard_into(Stream& s, Connection& c, const ResponseHead& head,
                                  http::response_parser<http::buffer_body>& parser, const std::string& url, Job& job) {
    const std::span<std::byte> dest = *job.dest;
    auto wrong_size = [&](const std::string& got) {
      c.reset();
      return Error(Code::corrupt, job.verb + " " + url + ": " + got + ", but " +
                                      (job.range_first ? "the byte range asked is " : "the weights manifest gives this shard ") +
                                      std::to_string(dest.size()) + " bytes");
    };
    if (parser.is_done()) {
      if (!dest.empty()) throw wrong_size("the response has no body");
    } else if (head.content_length && !head.chunked) {
      if (*head.content_length != dest.size()) throw wrong_size("the response is " + std::to_string(*head.content_length) + " bytes (Content-Length)");
      co_await read_exact_body(s, c, dest.data(), dest.size(), url, job.progressed);
      if (c.buffer.size() != 0) c.reset();  // bytes beyond Content-Length: do not trust the stream
    } else {
      // Chunked, or delimited by the end of the connection: rare for static files, so the body
      // goes through a buffer of at most dest.size() + 1 bytes.
      std::vector<std::byte> grown;
      const bool whole_body = co_await read_parsed_body(s, c, parser, grown, dest.size(), url, job.progressed);
      if (!whole_body) throw wrong_size("more bytes arrived");
      if (grown.size() != dest.size()) throw wrong_size("the body held " + std::to_string(grown.size()) + " bytes");
      if (!grown.empty()) std::memcpy(dest.data(), grown.data(), grown.size());
    }
  }

  template <class Stream>
  awaitable<Step> attempt(Stream& s, Connection& c, const Endpoint& ep, const std::string& url, Job& job) {
    std::optional<http::response_parser<http::buffer_body>> parser;  // set by exchange
    ResponseHead head;
    if (job.mode == Mode::upload) {
      head = co_await exchange(s, c, ep, url, job.verb, parser, job.layout->content_length, job.layout->content_type, &job);
    } else if (job.range_first) {
      const std::string range = byte_range_request(*job.range_first, *job.range_first + job.dest->size() - 1);
      head = co_await exchange(s, c, ep, url, job.verb, parser, std::nullopt, {}, nullptr, range);
    } else {
      head = co_await exchange(s, c, ep, url, job.verb, parser);
    }
    const Disposition disposition = classify(head.status);
    bool keep = head.keep_alive;
    if (job.mode == Mode::upload && !job.body_complete) keep = false;  // the rest of the body was never sent

    if (disposition == Disposition::success && job.mode == Mode::shard) {
      if (job.range_first) {
        // A window of a big shard: only a 206 for exactly the bytes asked will do. A 200 is the
        // whole shard (the server ignored the Range), which would not fit the window.
        const std::uint64_t first = *job.range_first;
        const std::uint64_t last = first + job.dest->size() - 1;
        if (head.status != 206) {
          c.reset();
          throw Error(Code::unavailable, job.verb + " " + url + " with Range: " + byte_range_request(first, last) +
                                             " was answered " + std::to_string(head.status) +
                                             " instead of 206 Partial Content: the server did not honour the byte "
                                             "range it advertised (Accept-Ranges: bytes)");
        }
        if (auto problem = content_range_problem(head.content_range, first, last, job.range_total)) {
          c.reset();
          throw Error(Code::corrupt, job.verb + " " + url + " (bytes " + std::to_string(first) + "-" +
                                         std::to_string(last) + " of " + std::to_string(job.range_total) + "): " +
                                         *problem + "; the shard may have changed while it was being copied");
        }
      }
      if (auto problem = shard_head_problem(head, job.max_bytes)) {
        c.reset();
        throw Error(Code::corrupt, job.verb + " " + url + ": " + *problem);
      }
      if (job.dest) {
        co_await read_shard_into(s, c, head, *parser, url, job);
      } else if (parser->is_done()) {
        job.bytes = OwnedBytes{};
      } else if (head.content_length && !head.chunked) {
        const auto size = static_cast<std::size_t>(*head.content_length);
        job.bytes = co_await allocate(size);
        co_await read_exact_body(s, c, job.bytes.data(), size, url, job.progressed);
        if (c.buffer.size() != 0) keep = false;  // bytes beyond Content-Length: do not trust the stream
      } else {
        std::vector<std::byte> grown;
        const std::uint64_t limit = job.max_bytes.value_or(std::uint64_t(1) << 40);
        const bool whole_body = co_await read_parsed_body(s, c, *parser, grown, limit, url, job.progressed);
        if (!whole_body) {
          throw Error(Code::corrupt, job.verb + " " + url + ": more bytes arrived than the manifest leaves for this shard (" +
                                         std::to_string(limit) + " bytes)");
        }
        job.bytes = OwnedBytes::allocate(grown.size());
        if (!grown.empty()) std::memcpy(job.bytes.data(), grown.data(), grown.size());
      }
      if (!keep) c.reset();
      c.reused = c.open();
      co_return Step{true, {}};
    }

    // Every other case reads the body as text: a model.json, an upload's answer, or the error
    // page whose start goes into the message.
    std::string body;
    const std::uint64_t limit = disposition == Disposition::success ? job.limit : kErrorBodyLimit;
    bool whole = true;
    if (!parser->is_done()) {
      if (head.content_length && !head.chunked && *head.content_length > limit) {
        whole = false;
        if (disposition == Disposition::success) {
          c.reset();
          throw Error(Code::corrupt, job.verb + " " + url + ": the response is " + std::to_string(*head.content_length) +
                                         " bytes, more than the " + std::to_string(limit) + " accepted");
        }
        // Only a snippet is needed: take what is buffered and drop the connection.
        body.assign(static_cast<const char*>(c.buffer.data().data()), std::min<std::size_t>(c.buffer.size(), limit));
      } else {
        std::uint64_t not_counted = 0;  // only shard bytes are progress
        whole = co_await read_parsed_body(s, c, *parser, body, limit, url, not_counted);
        if (!whole && disposition == Disposition::success) {
          throw Error(Code::corrupt, job.verb + " " + url + ": the response is more than the " + std::to_string(limit) +
                                         " bytes accepted");
        }
      }
    }
    if (!whole || !keep) c.reset();
    c.reused = c.open();

    switch (disposition) {
      case Disposition::redirect:
        if (head.location.empty()) {
          // A 3xx without a target is an answer like any other; for a shard, a failed one.
          if (job.mode == Mode::shard) {
            throw Error(Code::unavailable, describe_status_failure(job.verb, url, head, body) + " (a redirect without a Location)");
          }
          break;
        }
        if (job.mode == Mode::upload && job.body_spent()) {
          throw Error(Code::unavailable, "HTTP " + std::to_string(head.status) + " from " + job.verb + " " + url +
                                             ": the server redirects the upload to " +
                                             resolve_location(url, head.location) +
                                             ", but its weights were streamed from the source and cannot be sent "
                                             "again; save to that URL instead");
        }
        if (job.mode == Mode::upload && head.status != 307 && head.status != 308) {
          // fetch would follow this with a bodiless GET and report that GET's answer; an error
          // that says where the upload should go is more useful.
          throw Error(Code::unavailable, "HTTP " + std::to_string(head.status) + " from " + job.verb + " " + url +
                                             ": the server redirects the upload to " +
                                             resolve_location(url, head.location) +
                                             " with a status that would drop its body; save to that URL instead");
        }
        co_return Step{false, resolve_location(url, head.location)};
      case Disposition::retry:
        throw Retryable{describe_status_failure(job.verb, url, head, body), head.retry_after, false, true, head.status,
                        TextResponse{head, body}};
      case Disposition::fail:
        if (job.mode == Mode::shard && job.dest && head.status == 412) {
          // The If-Unmodified-Since of a deferred fill: the shard is newer than the model.json.
          throw Error(Code::unavailable, describe_status_failure(job.verb, url, head, body) +
                                             ": the shard was modified on the server after the model was loaded, so "
                                             "the model changed while it was being copied; copy it again");
        }
        if (job.mode == Mode::shard) throw Error(code_for_status(head.status), describe_status_failure(job.verb, url, head, body));
        break;
      case Disposition::success:
        if (job.mode == Mode::upload && !job.body_complete) {
          // A success for a body that did not all arrive would report a model that was not stored.
          throw Error(Code::unavailable, "HTTP " + std::to_string(head.status) + " from " + job.verb + " " + url +
                                             " came before the upload was complete (" + std::to_string(job.body_sent) +
                                             " of " + std::to_string(job.layout->content_length) +
                                             " bytes sent); the save is not trusted");
        }
        break;
    }
    job.text.head = head;
    job.text.body = std::move(body);
    co_return Step{true, {}};
  }

  awaitable<void> perform(Connection& c, std::string url, Job& job) {
    unsigned failures = 0;
    unsigned redirects = 0;
    bool stale_retry_used = false;
    for (;;) {
      throw_if_stopping();
      const Endpoint ep = parse_endpoint(url);
      std::optional<Retryable> retry;
      try {
        co_await connect(c, ep, url);
        // (No co_await inside a conditional expression: GCC 12 miscompiles that.)
        Step step;
        if (c.secure) {
          step = co_await attempt(*c.secure, c, ep, url, job);
        } else {
          step = co_await attempt(*c.plain, c, ep, url, job);
        }
        if (step.done) co_return;
        if (++redirects > settings.max_redirects) {
          throw Error(Code::unavailable, job.verb + " " + url + ": more than " + std::to_string(settings.max_redirects) +
                                             " redirects (the last one to " + step.redirect_to + ")");
        }
        url = step.redirect_to;
        continue;
      } catch (Retryable& r) {
        retry = std::move(r);
      }
      throw_if_stopping();
      c.reset();
      progress_done -= std::exchange(job.progressed, 0);  // the next attempt reads those bytes again
      if (job.body_spent()) {
        // Streamed weights went out already: the body cannot be produced a second time.
        if (retry->response) {
          job.text = std::move(*retry->response);
          co_return;
        }
        throw Error(Code::unavailable, retry->message + " (after " + std::to_string(job.body_sent) + " of " +
                                           std::to_string(job.layout->content_length) +
                                           " bytes of the upload; its weights were streamed from the source, so it "
                                           "is not sent again)");
      }
      // A keep-alive connection the server had already closed: one free retry on a fresh one.
      if (retry->before_response && !stale_retry_used) {
        stale_retry_used = true;
        continue;
      }
      // An upload is repeated only when the server cannot have acted on it.
      const bool may_repeat = job.mode != Mode::upload || !retry->request_sent || retry->status == 429 || retry->status == 503;
      if (!may_repeat || ++failures > settings.retries) {
        if (retry->response && job.mode != Mode::shard) {
          // model.json and uploads: the caller words the final status its own way.
          job.text = std::move(*retry->response);
          co_return;
        }
        throw Error(Code::unavailable, retry->message + (failures > 1 ? " (" + std::to_string(failures) + " attempts)" : ""));
      }
      co_await sleep(backoff_delay(settings, failures, retry->retry_after));
    }
  }

  // Runs `work` as the batch's coroutines and rethrows the first failure.
  // Runs jobs[i] against urls[i] on up to `connections` keep-alive connections. Workers take the
  // next job in order, so the early shards finish first.
  void run_pool(const std::vector<std::string>& urls, std::vector<Job>& jobs) {
    std::size_t next = 0;
    const std::size_t workers = std::min<std::size_t>(settings.connections, urls.size());
    std::vector<std::function<awaitable<void>()>> work;
    for (std::size_t w = 0; w < workers; ++w) {
      work.emplace_back([this, w, &next, &jobs, &urls]() -> awaitable<void> {
        Connection& c = connection(w);
        while (!stopping && next < jobs.size()) {
          const std::size_t i = next++;
          co_await perform(c, urls[i], jobs[i]);
        }
      });
    }
    run_batch(std::move(work));
  }

  void run_batch(std::vector<std::function<awaitable<void>()>> work) {
    stopping = false;
    first_error = nullptr;
    for (auto& w : work) {
      asio::co_spawn(ioc, std::move(w), [this](std::exception_ptr e) {
        if (e) fail(e);
      });
    }
    run();
  }
};

Client::Client(Settings settings, std::string method, Headers headers, ClientHooks hooks)
    : impl_(std::make_unique<Impl>(std::move(settings), std::move(method), std::move(headers), std::move(hooks))) {}

Client::~Client() = default;

TextResponse Client::fetch_text(const std::string& url, std::uint64_t limit) {
  Impl::Job job;
  job.mode = Impl::Mode::text;
  job.verb = impl_->method;
  job.limit = limit;
  impl_->run_batch({[this, &job, url]() -> awaitable<void> { co_await impl_->perform(impl_->connection(0), url, job); }});
  return std::move(job.text);
}

std::vector<OwnedBytes> Client::fetch_shards(const std::vector<std::string>& urls,
                                             const std::vector<std::optional<std::uint64_t>>& max_bytes,
                                             std::optional<std::uint64_t> total_bytes) {
  std::vector<Impl::Job> jobs(urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i) {
    jobs[i].mode = Impl::Mode::shard;
    jobs[i].verb = impl_->method;
    jobs[i].max_bytes = i < max_bytes.size() ? max_bytes[i] : std::nullopt;
  }
  impl_->progress_done = impl_->progress_reported = 0;
  impl_->progress_total = total_bytes;
  impl_->progress_enabled = true;
  try {
    impl_->run_pool(urls, jobs);
  } catch (...) {
    impl_->progress_enabled = false;
    throw;
  }
  if (!urls.empty()) impl_->progress_final(urls.back());
  impl_->progress_enabled = false;
  std::vector<OwnedBytes> out;
  out.reserve(jobs.size());
  for (auto& j : jobs) out.push_back(std::move(j.bytes));
  return out;
}

std::vector<TextResponse> Client::fetch_heads(const std::vector<std::string>& urls) {
  std::vector<Impl::Job> jobs(urls.size());
  for (auto& job : jobs) {
    job.mode = Impl::Mode::text;
    job.verb = "HEAD";
  }
  impl_->run_pool(urls, jobs);
  std::vector<TextResponse> out;
  for (auto& j : jobs) out.push_back(std::move(j.text));
  return out;
}

void Client::fetch_shard_into(const std::string& url, std::span<std::byte> dest) {
  Impl::Job job;
  job.mode = Impl::Mode::shard;
  job.verb = impl_->method;
  job.max_bytes = dest.size();
  job.dest = dest;
  impl_->run_batch({[this, &job, url]() -> awaitable<void> { co_await impl_->perform(impl_->connection(0), url, job); }});
}

void Client::fetch_range_into(const std::string& url, std::uint64_t first, std::uint64_t shard_size,
                              std::span<std::byte> dest) {
  if (dest.empty() || first + dest.size() > shard_size) {
    throw Error(Code::internal, "bytes " + std::to_string(first) + " to " + std::to_string(first + dest.size()) +
                                    " asked of " + url + ", a shard of " + std::to_string(shard_size) + " bytes");
  }
  Impl::Job job;
  job.mode = Impl::Mode::shard;
  job.verb = impl_->method;
  job.max_bytes = dest.size();
  job.dest = dest;
  job.range_first = first;
  job.range_total = shard_size;
  try {
    impl_->run_batch({[this, &job, url]() -> awaitable<void> { co_await impl_->perform(impl_->connection(0), url, job); }});
  } catch (const Error& e) {
    // Every failure of a window names the bytes it was after (timeouts, truncation, statuses).
    const std::string range = byte_range_request(first, first + dest.size() - 1);
    if (std::string(e.what()).find(range) != std::string::npos) throw;
    throw Error(e.code(), std::string(e.what()) + " (Range: " + range + " of " + std::to_string(shard_size) + " bytes)");
  }
}

namespace {
// Thrown through the source's pull when the upload ended early (the server answered or the
// connection failed mid-body): stops reading parts nobody will send.
struct UploadOver {};
}  // namespace

TextResponse Client::upload(const std::string& url, const std::string& method, const MultipartLayout& layout,
                            const UploadBody& body) {
  Impl& impl = *impl_;
  Impl::Job job;
  job.mode = Impl::Mode::upload;
  job.verb = method;
  job.limit = 16 * 1024 * 1024;
  job.layout = &layout;
  job.chunks = &body.chunks;
  if (!body.pull) {
    impl.run_batch({[&impl, &job, url]() -> awaitable<void> { co_await impl.perform(impl.connection(0), url, job); }});
    return std::move(job.text);
  }

  // Streamed: the upload coroutine runs on this thread's io_context, which is driven while pull
  // hands over each part, so each span is on the wire before pull's callback returns.
  Impl::Feed feed(impl.ioc);
  job.feed = &feed;
  impl.active_feed = &feed;
  impl.stopping = false;
  impl.first_error = nullptr;
  bool finished = false;
  impl.ioc.restart();
  asio::co_spawn(
      impl.ioc, [&impl, &job, url]() -> awaitable<void> { co_await impl.perform(impl.connection(0), url, job); },
      [&impl, &finished](std::exception_ptr e) {
        if (e) impl.fail(e);
        finished = true;
      });
  // Runs the io_context until `ready` or the coroutine is over, polling for cancellation.
  auto drive_until = [&](auto ready) {
    while (!finished && !ready() && !impl.ioc.stopped()) {
      impl.ioc.run_one_for(std::chrono::milliseconds(50));
      if (!impl.stopping && impl.hooks.cancelled && impl.hooks.cancelled()) {
        impl.fail(std::make_exception_ptr(Error(Code::cancelled, "cancelled")));
      }
    }
  };
  auto wants_a_span = [&] { return feed.waiting && !feed.offered; };
  try {
    body.pull([&](std::span<const std::byte> span) {
      if (span.empty()) return;
      drive_until(wants_a_span);
      if (finished || !wants_a_span()) throw UploadOver{};
      feed.offered = span;
      feed.signal.cancel();
      drive_until(wants_a_span);  // taken and written (or the upload is over)
      if (finished) throw UploadOver{};
    });
  } catch (const UploadOver&) {
    // The coroutine's own outcome (a response or an error) is what counts.
  } catch (...) {
    // The source failed: drop the connection mid-body, so the server never sees a complete one.
    impl.fail(std::current_exception());
  }
  feed.ended = true;
  feed.signal.cancel();
  try {
    impl.run();
  } catch (...) {
    impl.active_feed = nullptr;
    throw;
  }
  impl.active_feed = nullptr;
  return std::move(job.text);
}

}  // namespace modelport::http_plugin
