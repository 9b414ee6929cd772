// The HTTP/1.1 server on Boost.Beast. Every connection is a Session on its own strand; reads and
// writes are asynchronous with a deadline per phase (waiting for a request, reading its headers,
// each body read, each write), so a slow client holds a socket, never a thread. Store work
// (loads, saves, listings, removals) runs on a separate thread pool and posts its answer back to
// the session, so a slow disk does not stall the I/O threads either.
//
// This is the one translation unit that includes Beast and Asio (they are heavy to compile).
#include "http_server.hpp"

#include "multipart.hpp"
#include "spool.hpp"

#include <modelport/error.hpp>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <atomic>
#include <iostream>
#include <list>
#include <mutex>
#include <thread>

namespace modelport::serve {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr std::size_t kReadChunk = 256 * 1024;

// One answer, before it becomes a Beast response: a text body or bytes shared with a model.
struct Reply {
  http::status status = http::status::ok;
  std::string content_type = "application/json";
  std::string text;
  Buffer bytes;
  bool use_bytes = false;
  std::shared_ptr<const ServedModel> keep;  // keeps `bytes` alive while they are written
  std::vector<std::pair<http::field, std::string>> headers;
  bool close = false;  // close the connection afterwards (unread body, protocol error)
  std::uint64_t full_length = 0;  // HEAD: the length a GET would have
};

Reply json_reply(http::status status, std::string body) {
  Reply r;
  r.status = status;
  r.text = std::move(body);
  return r;
}

Reply error_reply(int status, std::string_view code, std::string_view message) {
  return json_reply(static_cast<http::status>(status), error_json(message, code));
}

Reply error_reply(const ServeError& e) { return error_reply(e.status(), e.code(), e.what()); }

class Server;

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Server& server, tcp::socket socket);
  ~Session();
  void start();
  // Called on shutdown (posted to the strand): an idle connection closes now, a busy one after
  // its current response.
  void close_if_idle();

 private:
  void wait_for_request();
  void read_header();
  void on_header(beast::error_code ec);
  void handle_request();
  void start_upload(std::string name);
  void read_body();
  void on_body(beast::error_code ec, std::size_t bytes);
  void body_complete();
  void handle_get(const std::vector<std::string>& segments, bool head);
  Reply serve_file(const ServedModel& model, const std::string& file, bool head);
  void run_blocking(std::function<Reply()> work);
  void send(Reply reply);
  void write_some(bool close);
  void on_written(beast::error_code ec, bool close);
  void close();
  void linger();

  Server& server_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  asio::steady_timer idle_timer_;
  std::optional<http::request_parser<http::buffer_body>> parser_;
  std::vector<char> chunk_;
  std::unique_ptr<Spool> spool_;
  std::string upload_name_;
  std::string upload_content_type_;
  bool discarding_ = false;  // reading a small body nobody needs before answering
  bool idle_ = false;
  bool closed_ = false;
  bool request_keep_alive_ = false;
  bool linger_ = false;            // the response is sent before the request body was read
  std::uint64_t lingered_ = 0;     // bytes discarded while lingering
  http::response<http::buffer_body> response_;
  std::optional<http::response_serializer<http::buffer_body>> serializer_;
  Reply pending_;  // keeps the body of response_ alive while it is written
};

class Server {
 public:
  explicit Server(const ServerOptions& options)
      : options_(options),
        service_(options.service),
        ioc_(static_cast<int>(thread_count())),
        acceptor_(asio::make_strand(ioc_)),
        signals_(ioc_, SIGINT, SIGTERM),
        grace_timer_(ioc_),
        pool_(std::max<std::size_t>(2, thread_count())) {
    if (options_.spool_folder.empty()) options_.spool_folder = default_spool_folder();
  }

  std::size_t thread_count() const {
    return options_.threads ? options_.threads : std::max(1u, std::thread::hardware_concurrency());
  }

  int run(const std::function<void(const std::string&)>& on_listening) {
    tcp::endpoint endpoint(asio::ip::make_address(options_.bind), options_.port);
    acceptor_.open(endpoint.protocol());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind(endpoint);
    acceptor_.listen(asio::socket_base::max_listen_connections);
    const auto bound = acceptor_.local_endpoint();
    std::string host = bound.address().to_string();
    if (bound.address().is_v6()) host = "[" + host + "]";
    on_listening("http://" + host + ":" + std::to_string(bound.port()) + "/");

    signals_.async_wait([this](beast::error_code ec, int) {
      if (!ec) shutdown();
    });
    accept();
    std::vector<std::thread> threads;
    for (std::size_t i = 1; i < thread_count(); ++i) threads.emplace_back([this] { run_io(); });
    run_io();
    for (auto& t : threads) t.join();
    pool_.join();  // a save in flight always completes
    return 0;
  }

  // A handler that throws loses its connection (the session is dropped), never the server.
  void run_io() {
    for (;;) {
      try {
        ioc_.run();
        return;
      } catch (const std::exception& e) {
        std::cerr << "modelport serve: error in a request handler: " << e.what() << '\n';
      }
    }
  }

  const ServerOptions& options() const { return options_; }
  ModelService& service() { return service_; }
  asio::thread_pool& pool() { return pool_; }
  bool stopping() const { return stopping_.load(); }

  void register_session(const std::shared_ptr<Session>& s) {
    std::lock_guard lock(sessions_mutex_);
    sessions_.push_back(s);
  }
  void session_ended() {
    if (active_.fetch_sub(1) == 1 && stopping_.load()) {
      asio::post(ioc_, [this] { grace_timer_.cancel(); });
    }
  }

 private:
  void accept() {
    acceptor_.async_accept(asio::make_strand(ioc_), [this](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptor_.is_open()) return;
      if (!ec) {
        if (active_.load() >= options_.max_connections) {
          beast::error_code ignored;
          socket.close(ignored);  // over the limit: refuse at once rather than queue
        } else {
          active_.fetch_add(1);
          auto session = std::make_shared<Session>(*this, std::move(socket));
          register_session(session);
          session->start();
        }
      }
      // Accept errors (out of file descriptors, ...) must not end the server.
      accept();
    });
  }

  void shutdown() {
    stopping_.store(true);
    asio::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
    });
    std::vector<std::weak_ptr<Session>> sessions;
    {
      std::lock_guard lock(sessions_mutex_);
      sessions.swap(sessions_);
    }
    for (auto& weak : sessions) {
      if (auto s = weak.lock()) s->close_if_idle();
    }
    if (active_.load() == 0) return;  // nothing left: run() returns once the handlers drain
    grace_timer_.expires_after(options_.shutdown_grace);
    grace_timer_.async_wait([this](beast::error_code ec) {
      if (!ec) ioc_.stop();  // requests still running after the grace period are dropped
    });
    // The last session may have ended between the check above and arming the timer.
    if (active_.load() == 0) asio::post(ioc_, [this] { grace_timer_.cancel(); });
  }

  ServerOptions options_;
  ModelService service_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> active_{0};
  std::mutex sessions_mutex_;
  std::vector<std::weak_ptr<Session>> sessions_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  asio::thread_pool pool_;
};

// --- Session -------------------------------------------------------------------------------------

Session::Session(Server& server, tcp::socket socket)
    : server_(server), stream_(std::move(socket)), idle_timer_(stream_.get_executor()) {
  beast::error_code ignored;
  stream_.socket().set_option(tcp::no_delay(true), ignored);
}

Session::~Session() { server_.session_ended(); }

void Session::start() {
  asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->wait_for_request(); });
}

void Session::close_if_idle() {
  asio::post(stream_.get_executor(), [self = shared_from_this()] {
    if (self->idle_) self->close();
  });
}

void Session::close() {
  if (closed_) return;
  closed_ = true;
  idle_timer_.cancel();
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

// An early answer (401, 413, ...) to a request whose body is still arriving: closing at once
// would make the kernel reset the connection, and a client still sending (undici, curl) would
// then report a network error instead of the answer. So, as nginx does, stop writing, read and
// discard what the client still sends for a while, and only then close.
void Session::linger() {
  constexpr std::uint64_t kMaxLingerBytes = 256ull << 20;
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  if (chunk_.size() < kReadChunk) chunk_.resize(kReadChunk);
  if (lingered_ == 0) stream_.expires_after(std::chrono::seconds(5));  // 5 s in all, not per read
  stream_.async_read_some(asio::buffer(chunk_), [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->lingered_ += n + 1;
    if (ec || self->lingered_ > kMaxLingerBytes || self->server_.stopping()) return self->close();
    self->linger();
  });
}

// Keep-alive: wait (up to idle_timeout) for the next request's first byte without a deadline on
// the header read yet; then the header read gets its own, shorter deadline.
void Session::wait_for_request() {
  if (server_.stopping() || closed_) return close();
  if (buffer_.size() > 0) return read_header();  // a pipelined request is already here
  idle_ = true;
  idle_timer_.expires_after(server_.options().idle_timeout);
  idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (!ec) self->close();
  });
  stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
    self->idle_ = false;
    self->idle_timer_.cancel();
    if (ec || self->closed_) return self->close();
    self->read_header();
  });
}

void Session::read_header() {
  parser_.emplace();
  parser_->header_limit(static_cast<std::uint32_t>(server_.options().max_header_bytes));
  parser_->body_limit(server_.options().max_upload);
  stream_.expires_after(server_.options().header_timeout);
  http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
    self->on_header(ec);
  });
}

void Session::on_header(beast::error_code ec) {
  if (ec == http::error::end_of_stream || ec == asio::error::eof || ec == beast::error::timeout ||
      ec == asio::error::operation_aborted || ec == asio::error::connection_reset) {
    return close();  // the client left, or was too slow to send its headers
  }
  if (ec == http::error::body_limit) {  // a Content-Length above the limit is seen with the headers
    Reply r = error_reply(413, "too_large", "upload is larger than the limit of " + std::to_string(server_.options().max_upload) +
                                                " bytes (--max-upload)");
    r.close = true;
    return send(std::move(r));
  }
  if (ec == http::error::header_limit) {
    Reply r = error_reply(431, "headers_too_large", "request headers are larger than " +
                                                        std::to_string(server_.options().max_header_bytes) + " bytes");
    r.close = true;
    return send(std::move(r));
  }
  if (ec) {
    Reply r = error_reply(400, "bad_request", "malformed HTTP request: " + ec.message());
    r.close = true;
    return send(std::move(r));
  }
  request_keep_alive_ = parser_->get().keep_alive();
  handle_request();
}

void Session::handle_request() {
  const auto& req = parser_->get();
  const bool has_body = parser_->chunked() || (parser_->content_length() && *parser_->content_length() > 0);
  const std::string target(req.target());
  auto early = [&](Reply r) {
    if (has_body) r.close = true;  // the body stays unread
    send(std::move(r));
  };

  if (req.method() == http::verb::options) {
    Reply r;
    r.status = http::status::no_content;
    r.content_type.clear();
    r.headers.emplace_back(http::field::access_control_allow_methods, "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    std::string asked(req[http::field::access_control_request_headers]);
    r.headers.emplace_back(http::field::access_control_allow_headers,
                           asked.empty() ? "Authorization, Content-Type, Range, If-None-Match" : asked);
    r.headers.emplace_back(http::field::access_control_max_age, "600");
    return early(std::move(r));
  }

  ModelPath path;
  try {
    path = parse_model_path(target);
  } catch (const ServeError& e) {
    return early(error_reply(e));
  }

  const auto method = req.method();
  const bool write = method == http::verb::post || method == http::verb::put || method == http::verb::delete_;
  const bool read = method == http::verb::get || method == http::verb::head;
  if (!write && !read) {
    Reply r = error_reply(405, "method_not_allowed", "method " + std::string(req.method_string()) + " is not supported");
    r.headers.emplace_back(http::field::allow, "GET, HEAD, POST, PUT, DELETE, OPTIONS");
    return early(std::move(r));
  }
  if (write) {
    if (path.segments.empty()) {
      Reply r = error_reply(405, "method_not_allowed", "use " + std::string(req.method_string()) + " /models/<name>");
      r.headers.emplace_back(http::field::allow, "GET, HEAD, OPTIONS");
      return early(std::move(r));
    }
    if (const auto& token = server_.options().token;
        token && !bearer_token_matches(req[http::field::authorization], *token)) {
      Reply r = error_reply(401, "unauthorized", "this server needs 'Authorization: Bearer <token>' for writes");
      r.headers.emplace_back(http::field::www_authenticate, "Bearer");
      return early(std::move(r));
    }
    std::string name = join_segments(path.segments);
    if (method != http::verb::delete_) return start_upload(std::move(name));
    if (has_body) return early(error_reply(400, "unexpected_body", "DELETE takes no body"));
    return run_blocking([this, name] { return json_reply(http::status::ok, server_.service().remove(name)); });
  }
  if (has_body) return early(error_reply(400, "unexpected_body", std::string(req.method_string()) + " takes no body"));
  handle_get(path.segments, method == http::verb::head);
}

void Session::start_upload(std::string name) {
  const auto& req = parser_->get();
  const auto& options = server_.options();
  auto reject = [&](Reply r) {
    r.close = true;  // the body is not read
    send(std::move(r));
  };
  if (auto length = parser_->content_length(); length && *length > options.max_upload) {
    return reject(error_reply(413, "too_large", "upload of " + std::to_string(*length) + " bytes is larger than the limit of " +
                                                    std::to_string(options.max_upload) + " bytes (--max-upload)"));
  }
  if (!parser_->content_length() && !parser_->chunked()) {
    return reject(error_reply(411, "length_required", "an upload needs Content-Length or chunked transfer encoding"));
  }
  upload_content_type_ = std::string(req[http::field::content_type]);
  try {
    (void)multipart::boundary_from_content_type(upload_content_type_);
  } catch (const multipart::MultipartError& e) {
    return reject(error_reply(415, "bad_content_type", std::string("upload to /models/") + name + ": " + e.what()));
  }
  try {
    spool_ = std::make_unique<Spool>(options.spool_folder);
  } catch (const std::exception& e) {
    return reject(error_reply(507, "no_space", std::string("cannot take the upload: ") + e.what()));
  }
  upload_name_ = std::move(name);
  discarding_ = false;
  chunk_.resize(kReadChunk);
  // Beast sizes each socket read by the buffer's spare capacity (512 bytes at least): after the
  // headers that is a few hundred bytes, which made a large upload cost one recvmsg and one
  // event-loop turn per 512 bytes. Room for a whole chunk makes the reads chunk-sized.
  buffer_.reserve(kReadChunk);
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(options.io_timeout);
    return asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                             [self = shared_from_this()](beast::error_code ec, std::size_t) {
                               if (ec) return self->close();
                               self->read_body();
                             });
  }
  read_body();
}

void Session::read_body() {
  if (parser_->is_done()) return body_complete();
  auto& body = parser_->get().body();
  body.data = chunk_.data();
  body.size = chunk_.size();
  stream_.expires_after(server_.options().io_timeout);
  http::async_read(stream_, buffer_, *parser_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
    self->on_body(ec, n);
  });
}

void Session::on_body(beast::error_code ec, std::size_t) {
  if (ec == http::error::need_buffer) ec = {};
  if (ec == http::error::body_limit) {
    spool_.reset();
    Reply r = error_reply(413, "too_large", "upload is larger than the limit of " + std::to_string(server_.options().max_upload) +
                                                " bytes (--max-upload)");
    r.close = true;
    return send(std::move(r));
  }
  if (ec) {
    spool_.reset();
    return close();  // the client stopped sending, timed out, or sent a broken body
  }
  const std::size_t got = chunk_.size() - parser_->get().body().size;
  if (got > 0 && spool_) {
    try {
      spool_->write(chunk_.data(), got);
    } catch (const std::exception& e) {
      spool_.reset();
      Reply r = error_reply(507, "no_space", std::string("cannot spool the upload: ") + e.what());
      r.close = true;
      return send(std::move(r));
    }
  }
  read_body();
}

void Session::body_complete() {
  buffer_.shrink_to_fit();  // the room made for the body is not kept for an idle keep-alive
  if (!spool_) return close();
  Buffer body;
  try {
    body = spool_->map_and_close();
  } catch (const std::exception& e) {
    spool_.reset();
    return send(error_reply(500, "internal", std::string("cannot map the upload: ") + e.what()));
  }
  spool_.reset();
  chunk_.clear();
  chunk_.shrink_to_fit();
  run_blocking([this, body = std::move(body), name = upload_name_, type = upload_content_type_]() mutable {
    const std::string source = "upload to /models/" + name;
    ModelArtifacts artifacts = artifacts_from_upload(body, type, source);
    body = Buffer();  // the artifacts hold the only slice that is still needed
    return json_reply(http::status::ok, server_.service().save(name, artifacts));
  });
}

void Session::handle_get(const std::vector<std::string>& segments, bool head) {
  if (segments.empty()) {
    return run_blocking([this, head] {
      Reply r = json_reply(http::status::ok, server_.service().list_json());
      r.headers.emplace_back(http::field::cache_control, "no-cache");
      if (head) {
        r.full_length = r.text.size();
        r.text.clear();
      }
      return r;
    });
  }
  if (segments.size() == 1) {
    return send(error_reply(404, "not_found", "GET /models/" + segments[0] + "/model.json loads the model '" + segments[0] + "'"));
  }
  std::string name = join_segments(std::span(segments).first(segments.size() - 1));
  std::string file = segments.back();
  const bool fresh = file == "model.json";
  // Shard requests for a cached model are answered right here; anything else needs the store.
  if (auto model = server_.service().cached(name, fresh)) {
    Reply reply;
    try {
      reply = serve_file(*model, file, head);
    } catch (const ServeError& e) {
      reply = error_reply(e);
    }
    return send(std::move(reply));
  }
  run_blocking([this, name, file, head, fresh] {
    auto model = server_.service().get(name, fresh);
    return serve_file(*model, file, head);
  });
}

Reply Session::serve_file(const ServedModel& model, const std::string& file, bool head) {
  const auto& req = parser_->get();
  Reply r;
  std::string etag;
  std::string_view content;
  if (file == "model.json") {
    etag = model.model_json_etag();
    r.text = model.model_json();
    content = r.text;
  } else if (const Buffer* shard = model.shard(file)) {
    etag = model.shard_etag(file);
    r.bytes = *shard;
    r.use_bytes = true;
    r.content_type = "application/octet-stream";
  } else {
    throw ServeError(404, "not_found", "the model has no file '" + file + "' (its model.json lists its shards)");
  }
  r.headers.emplace_back(http::field::etag, etag);
  r.headers.emplace_back(http::field::cache_control, "no-cache");
  r.headers.emplace_back(http::field::accept_ranges, "bytes");
  const std::uint64_t size = r.use_bytes ? r.bytes.size() : r.text.size();

  if (auto inm = req[http::field::if_none_match]; !inm.empty() && etag_matches(inm, etag)) {
    r.status = http::status::not_modified;
    r.text.clear();
    r.bytes = Buffer();
    r.use_bytes = false;
    r.content_type.clear();
    return r;
  }
  if (auto range_header = req[http::field::range]; !range_header.empty()) {
    RangeRequest range = parse_range(range_header, size);
    if (range.kind == RangeRequest::unsatisfiable) {
      Reply bad = error_reply(416, "range_not_satisfiable", "cannot serve range '" + std::string(range_header) + "' of " +
                                                              std::to_string(size) + " bytes");
      bad.headers.emplace_back(http::field::content_range, "bytes */" + std::to_string(size));
      return bad;
    }
    if (range.kind == RangeRequest::partial) {
      r.status = http::status::partial_content;
      r.headers.emplace_back(http::field::content_range, "bytes " + std::to_string(range.offset) + "-" +
                                                              std::to_string(range.offset + range.length - 1) + "/" +
                                                              std::to_string(size));
      if (r.use_bytes) {
        r.bytes = r.bytes.slice(range.offset, range.length);
      } else {
        r.text = r.text.substr(range.offset, range.length);
      }
    }
  }
  (void)content;
  if (head) {
    r.full_length = r.use_bytes ? r.bytes.size() : r.text.size();
    r.text.clear();
    r.bytes = Buffer();
    r.use_bytes = false;
  }
  return r;
}

// Runs `work` on the blocking pool and sends what it returns (or its error) from the strand.
void Session::run_blocking(std::function<Reply()> work) {
  asio::post(server_.pool(), [self = shared_from_this(), work = std::move(work)] {
    Reply reply;
    try {
      reply = work();
    } catch (const ServeError& e) {
      reply = error_reply(e);
    } catch (...) {
      try {
        rethrow_as_serve_error(false);
      } catch (const ServeError& e) {
        reply = error_reply(e);
      }
    }
    asio::post(self->stream_.get_executor(), [self, reply = std::move(reply)]() mutable { self->send(std::move(reply)); });
  });
}

void Session::send(Reply reply) {
  if (closed_) return;
  pending_ = std::move(reply);
  const bool keep_alive = request_keep_alive_ && !pending_.close && !server_.stopping() && parser_ && parser_->is_header_done();
  response_ = {};
  response_.version(11);
  response_.result(pending_.status);
  response_.set(http::field::server, "modelport");
  response_.set(http::field::access_control_allow_origin, "*");
  response_.set(http::field::access_control_expose_headers, "ETag, Content-Length, Content-Range, Accept-Ranges");
  if (!pending_.content_type.empty()) response_.set(http::field::content_type, pending_.content_type);
  for (const auto& [field, value] : pending_.headers) response_.set(field, value);
  auto& body = response_.body();
  body.more = false;
  std::uint64_t length;
  if (pending_.use_bytes) {
    body.data = const_cast<std::byte*>(pending_.bytes.data());
    body.size = pending_.bytes.size();
    length = pending_.bytes.size();
  } else {
    body.data = pending_.text.empty() ? nullptr : pending_.text.data();
    body.size = pending_.text.size();
    length = pending_.text.size();
  }
  if (pending_.full_length) length = pending_.full_length;  // HEAD
  if (pending_.status != http::status::not_modified && pending_.status != http::status::no_content) {
    response_.content_length(length);
  }
  response_.keep_alive(keep_alive);
  linger_ = !keep_alive && parser_ && parser_->is_header_done() && !parser_->is_done();
  serializer_.emplace(response_);
  write_some(!keep_alive);
}

// The response goes out in pieces, each with its own deadline: the write timeout limits how long
// the client may stall, not how long a big shard may take on a slow link.
void Session::write_some(bool close_after) {
  stream_.expires_after(server_.options().io_timeout);
  http::async_write_some(stream_, *serializer_, [self = shared_from_this(), close_after](beast::error_code ec, std::size_t) {
    if (!ec && !self->serializer_->is_done()) return self->write_some(close_after);
    self->on_written(ec, close_after);
  });
}

void Session::on_written(beast::error_code ec, bool close_after) {
  serializer_.reset();
  pending_ = Reply();
  parser_.reset();
  if (!ec && close_after && linger_) return linger();
  if (ec || close_after) return close();
  stream_.expires_never();
  wait_for_request();
}

}  // namespace

int run_server(const ServerOptions& options, const std::function<void(const std::string&)>& on_listening) {
  Server server(options);
  return server.run(on_listening);
}

}  // namespace modelport::serve
