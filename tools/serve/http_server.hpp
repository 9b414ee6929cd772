// The HTTP/1.1 server behind `modelport serve` (Boost.Beast, all of it in http_server.cpp).
#pragma once

#include "model_service.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace modelport::serve {

struct ServerOptions {
  ServiceOptions service;
  std::string bind = "127.0.0.1";
  std::uint16_t port = 8080;                  // 0: any free port
  std::optional<std::string> token;           // writes need `Authorization: Bearer <token>`
  std::uint64_t max_upload = 4ull << 30;      // request body bytes of an upload (413 above)
  unsigned threads = 0;                       // I/O threads; 0: one per core
  std::size_t max_connections = 1024;         // further connections are closed at once
  std::size_t max_header_bytes = 16 * 1024;   // request line + headers (431 above)
  std::uint64_t max_other_body = 64 * 1024;   // body of a request that is not an upload
  std::chrono::seconds header_timeout{30};    // from the first byte to the end of the headers
  std::chrono::seconds idle_timeout{75};      // keep-alive wait for the next request
  std::chrono::seconds io_timeout{60};        // a body read or response write making no progress
  std::chrono::seconds shutdown_grace{10};    // in-flight requests may finish within this
  std::filesystem::path spool_folder;         // uploads are spooled here; empty: $TMPDIR or /tmp
};

// Binds, calls `on_listening` with the base URL ("http://127.0.0.1:PORT/"), and serves until
// SIGINT or SIGTERM: then stops accepting, closes idle connections, lets requests in flight
// finish (a save always completes), and returns 0. Throws std::system_error when it cannot bind.
int run_server(const ServerOptions& options, const std::function<void(const std::string& base_url)>& on_listening);

}  // namespace modelport::serve
