// `modelport serve`: the HTTP model server (tools/serve/). This file only reads the command line.
#include "commands.hpp"
#include "global_options.hpp"
#include "urls.hpp"

#include <http_server.hpp>

#include <charconv>
#include <cstdlib>
#include <iostream>
#include <optional>

namespace modelport::cli {

namespace {

constexpr const char* kServeUsage =
    "usage: modelport serve --store STORE_URL [--bind ADDRESS] [--port N] [--token T]\n"
    "                       [--max-upload BYTES] [--threads N] [--max-connections N]\n"
    "                       [--header-timeout S] [--idle-timeout S]\n"
    "Serves the models of a store (file:///srv/models, indexeddb://, localstorage://, any plugin's\n"
    "scheme, or a plain folder path) over HTTP/1.1 to TensorFlow.js and anything else:\n"
    "  POST|PUT /models/NAME             save a tfjs upload (model.save('http://HOST/models/NAME'))\n"
    "  GET|HEAD /models/NAME/model.json  load (tf.loadLayersModel / tf.loadGraphModel), then its shards\n"
    "  GET      /models                  list the models (JSON)\n"
    "  DELETE   /models/NAME             remove a model\n"
    "options:\n"
    "  --store URL         the model store (required)\n"
    "  --bind ADDRESS      address to listen on (default 127.0.0.1; 0.0.0.0 or :: for every interface)\n"
    "  --port N            port (default 8080; 0 picks a free one)\n"
    "  --token T           writes (POST, PUT, DELETE) need 'Authorization: Bearer T'; the token can\n"
    "                      also come from the environment variable MODELPORT_SERVE_TOKEN\n"
    "  --max-upload BYTES  largest upload body, K/M/G suffixes allowed (default 4G; 413 above)\n"
    "  --threads N         I/O threads (default: one per core)\n"
    "  --max-connections N open connections at most (default 1024; more are closed at once)\n"
    "  --header-timeout S  seconds a client has to send its request headers (default 30)\n"
    "  --idle-timeout S    seconds an idle keep-alive connection stays open (default 75)\n"
    "Prints 'serving STORE_URL at http://ADDRESS:PORT/' once listening; SIGINT or SIGTERM stops it\n"
    "cleanly (exit 0).\n"
    "Exit codes: 0 stopped by a signal, 1 could not start (address in use, ...), 2 bad arguments.\n";

// "123", "4K", "64M", "2G" (powers of 1024).
std::optional<std::uint64_t> parse_bytes(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  std::string_view suffix(end, static_cast<std::size_t>(text.data() + text.size() - end));
  unsigned shift = 0;
  if (suffix == "K" || suffix == "k") shift = 10;
  else if (suffix == "M" || suffix == "m") shift = 20;
  else if (suffix == "G" || suffix == "g") shift = 30;
  else if (!suffix.empty()) return std::nullopt;
  if (shift && value > (UINT64_MAX >> shift)) return std::nullopt;
  return value << shift;
}

int usage_error(const std::string& problem) {
  std::cerr << "modelport serve: " << problem << '\n' << kServeUsage;
  return kExitUsage;
}

}  // namespace

int run_serve(std::span<const std::string> args) {
  serve::ServerOptions options;
  std::optional<std::string> store;
  if (const char* env = std::getenv("MODELPORT_SERVE_TOKEN"); env && *env) options.token = env;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      std::cout << kServeUsage;
      return kExitOk;
    }
    std::string key = a, value;
    if (auto eq = a.find('='); a.starts_with("--") && eq != std::string::npos) {
      key = a.substr(0, eq);
      value = a.substr(eq + 1);
    } else if (a.starts_with("--")) {
      if (i + 1 >= args.size()) return usage_error(a + " needs a value");
      value = args[++i];
    } else {
      return usage_error("unexpected argument '" + a + "'");
    }
    if (key == "--store") {
      store = value;
    } else if (key == "--bind") {
      options.bind = value;
    } else if (key == "--port") {
      unsigned port = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), port);
      if (ec != std::errc() || end != value.data() + value.size() || port > 65535) return usage_error("bad --port '" + value + "'");
      options.port = static_cast<std::uint16_t>(port);
    } else if (key == "--token") {
      if (value.empty()) return usage_error("--token must not be empty");
      options.token = value;
    } else if (key == "--max-upload") {
      auto bytes = parse_bytes(value);
      if (!bytes || *bytes == 0) return usage_error("bad --max-upload '" + value + "'");
      options.max_upload = *bytes;
    } else if (key == "--threads") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0 || n > 256) return usage_error("bad --threads '" + value + "'");
      options.threads = n;
    } else if (key == "--max-connections" || key == "--header-timeout" || key == "--idle-timeout") {
      unsigned n = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
      if (ec != std::errc() || end != value.data() + value.size() || n == 0 || n > 1000000) {
        return usage_error("bad " + key + " '" + value + "'");
      }
      if (key == "--max-connections") options.max_connections = n;
      if (key == "--header-timeout") options.header_timeout = std::chrono::seconds(n);
      if (key == "--idle-timeout") options.idle_timeout = std::chrono::seconds(n);
    } else {
      return usage_error("unknown option '" + key + "'");
    }
  }
  if (!store || store->empty()) return usage_error("--store is required");

  ensure_plugins_discovered();
  options.service.store_url = to_url(*store);
  for (const auto& [k, v] : global_options().plugin_options) options.service.plugin_options[k] = v;
  try {
    return serve::run_server(options, [&](const std::string& base_url) {
      std::cout << "serving " << options.service.store_url << " at " << base_url << std::endl;
    });
  } catch (const std::system_error& e) {
    std::cerr << "modelport serve: cannot listen on " << options.bind << " port " << options.port << ": " << e.what() << '\n';
    return kExitFailure;
  }
}

}  // namespace modelport::cli
