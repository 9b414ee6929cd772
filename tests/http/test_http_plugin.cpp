// The http plugin through the production loader against servers: a scripted server that
// misbehaves on purpose (error pages, truncation, resets, retries, redirects, timeouts, chunked
// bodies), Debian's nginx serving the real fixtures over HTTP and HTTPS (a CA made at test time),
// and the Node capture server that records saves for comparison with what tfjs 4.22 sends.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/plugins.hpp>

#include "plugin_env.hpp"
#include "test_errors.hpp"
#include "http_test_support.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <fstream>
#include <set>
#include <thread>

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace modelport;
using namespace modelport::http_test;
using modelport::test::error_message_of;
using modelport::test::fixtures_dir;
using modelport::test::read_file;
using modelport::test::TempDir;

namespace {

test::PluginEnv& env() {
  static auto* e = new test::PluginEnv{MODELPORT_HTTP_PLUGIN, MODELPORT_FILE_PLUGIN};
  return *e;
}

ModelArtifacts load_url(const std::string& url, LoadOptions options = {}) { return modelport::load(url, options, env().routers); }
SaveResult save_url(const std::string& url, const ModelArtifacts& a, SaveOptions options = {}) {
  return modelport::save(url, a, options, env().routers);
}

LoadOptions with(std::map<std::string, std::string, std::less<>> plugin_options) {
  LoadOptions o;
  o.plugin_options = std::move(plugin_options);
  return o;
}


bool contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return true;
  BOOST_TEST_MESSAGE("'" << part << "' not in: " << text);
  return false;
}

std::string weight_bytes(const ModelArtifacts& a) {
  std::string out;
  if (!a.weight_data) return out;
  for (const auto& b : a.weight_data->buffers()) out.append(b.view());
  return out;
}

// A small model of 3000 float32 values in two shards, served by the scripted server.
struct TinyModel {
  std::string json =
      R"({"modelTopology":{"class_name":"Sequential","config":{}},"format":"layers-model","generatedBy":"test",)"
      R"("convertedBy":null,"weightsManifest":[{"paths":["group1-shard1of2.bin","group1-shard2of2.bin"],)"
      R"("weights":[{"name":"dense/kernel","shape":[3000],"dtype":"float32"}]}]})";
  std::string shard1, shard2;
  TinyModel() {
    std::string all(12000, '\0');
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<char>((i * 131 + 7) & 0xff);
    shard1 = all.substr(0, 8192);
    shard2 = all.substr(8192);
  }
  std::string all() const { return shard1 + shard2; }
};

const TinyModel& tiny() {
  static TinyModel m;
  return m;
}

// Serves the tiny model normally; `override` may answer a request itself (return true when it did,
// setting `keep` to whether the connection stays open).
using Override = std::function<bool(int fd, const Request& r, bool& keep)>;

ScriptedServer::Handler tiny_server(Override override = nullptr) {
  return [override](int fd, const Request& r) {
    bool keep = true;
    if (override && override(fd, r, keep)) return keep;
    std::string path = r.target.substr(0, r.target.find('?'));
    const std::string file = path.substr(path.rfind('/') + 1);
    if (file == "model.json") return respond(fd, 200, "OK", {{"Content-Type", "application/json"}}, tiny().json);
    if (file == "group1-shard1of2.bin") return respond(fd, 200, "OK", {{"Content-Type", "application/octet-stream"}}, tiny().shard1);
    if (file == "group1-shard2of2.bin") return respond(fd, 200, "OK", {{"Content-Type", "application/octet-stream"}}, tiny().shard2);
    return respond(fd, 404, "Not Found", {{"Content-Type", "text/html"}}, "<html><body>404 Not Found</body></html>");
  };
}

const std::string kShard2 = "/m/group1-shard2of2.bin";

}  // namespace

BOOST_AUTO_TEST_SUITE(scripted_server)

BOOST_AUTO_TEST_CASE(loads_in_parallel_and_serially_byte_equal) {
  ScriptedServer server(tiny_server());
  for (const char* connections : {"8", "1"}) {
    ModelArtifacts a = load_url(server.url("/m/model.json"), with({{"connections", connections}}));
    BOOST_TEST(weight_bytes(a) == tiny().all());
    BOOST_REQUIRE(a.weight_data);
    BOOST_TEST(a.weight_data->buffers().size() == 2u);  // one buffer per shard, like tfjs
    BOOST_TEST(a.weight_specs->size() == 1u);
  }
  // connections=1: model.json and both shards over one keep-alive connection.
  const int before = server.connections();
  load_url(server.url("/m/model.json"), with({{"connections", "1"}}));
  BOOST_TEST(server.connections() - before == 1);
}

BOOST_AUTO_TEST_CASE(chunked_bodies) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target.find(".bin") == std::string::npos) return false;
    const std::string& body = r.target.find("shard1") != std::string::npos ? tiny().shard1 : tiny().shard2;
    std::string chunked;
    for (std::size_t at = 0; at < body.size(); at += 1000) {
      const std::string piece = body.substr(at, 1000);
      char size[32];
      std::snprintf(size, sizeof size, "%zx\r\n", piece.size());
      chunked += size + piece + "\r\n";
    }
    chunked += "0\r\n\r\n";
    keep = respond(fd, 200, "OK", {{"Transfer-Encoding", "chunked"}}, chunked);
    return true;
  }));
  BOOST_TEST(weight_bytes(load_url(server.url("/m/model.json"))) == tiny().all());
}

BOOST_AUTO_TEST_CASE(interim_1xx_answers_are_skipped) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    send_all(fd, "HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n");
    keep = respond(fd, 200, "OK", {}, tiny().shard2);
    return true;
  }));
  BOOST_TEST(weight_bytes(load_url(server.url("/m/model.json"))) == tiny().all());
}

BOOST_AUTO_TEST_CASE(html_404_page_instead_of_a_shard_is_not_retried) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    keep = respond(fd, 404, "Not Found", {{"Content-Type", "text/html"}}, "<!DOCTYPE html><html><body><h1>Page not found</h1></body></html>");
    return true;
  }));
  ErrorCode code{};
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json"), with({{"retries", "3"}})); }, &code);
  BOOST_TEST(contains(e, "HTTP 404 Not Found from GET " + server.url(kShard2)));
  BOOST_TEST(contains(e, "Page not found"));
  BOOST_TEST((code == ErrorCode::not_found));
  BOOST_TEST(server.hits(kShard2) == 1);
}

BOOST_AUTO_TEST_CASE(html_page_with_status_200_is_rejected) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    keep = respond(fd, 200, "OK", {{"Content-Type", "text/html; charset=utf-8"}}, "<!doctype html><html>app shell</html>");
    return true;
  }));
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json")); });
  BOOST_TEST(contains(e, server.url(kShard2)));
  BOOST_TEST(contains(e, "HTML page"));
}

BOOST_AUTO_TEST_CASE(truncated_body_is_retried_then_named) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    respond(fd, 200, "OK", {{"Content-Length", std::to_string(tiny().shard2.size())}}, tiny().shard2.substr(0, 1000));
    keep = false;  // close after 1000 of 3808 bytes
    return true;
  }));
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json"), with({{"retries", "1"}, {"retry_delay_ms", "1"}})); });
  BOOST_TEST(contains(e, "truncated body from " + server.url(kShard2)));
  BOOST_TEST(contains(e, "1000 of 3808 bytes"));
  BOOST_TEST(contains(e, "2 attempts"));
  BOOST_TEST(server.hits(kShard2) == 2);
}

BOOST_AUTO_TEST_CASE(content_length_beyond_the_manifest_is_rejected) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    keep = respond(fd, 200, "OK", {}, std::string(20000, 'x'));
    return true;
  }));
  ErrorCode code{};
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json")); }, &code);
  BOOST_TEST(contains(e, server.url(kShard2)));
  BOOST_TEST(contains(e, "declares 20000 bytes"));
  BOOST_TEST((code == ErrorCode::corrupt));
}

BOOST_AUTO_TEST_CASE(short_shard_fails_the_group_size_check) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    keep = respond(fd, 200, "OK", {}, tiny().shard2.substr(0, 3000));
    return true;
  }));
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json")); });
  BOOST_TEST(contains(e, "hold 11192 bytes, but its manifest entries need 12000"));
  BOOST_TEST(contains(e, server.url(kShard2) + " (3000 bytes)"));
}

BOOST_AUTO_TEST_CASE(connection_reset_mid_shard) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    send_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 3808\r\n\r\n" + tiny().shard2.substr(0, 500));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    arm_reset(fd);
    keep = false;
    return true;
  }));
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json"), with({{"retries", "2"}, {"retry_delay_ms", "1"}})); });
  BOOST_TEST(contains(e, server.url(kShard2)));
  BOOST_TEST(contains(e, "3 attempts"));
  BOOST_TEST(server.hits(kShard2) == 3);
}

BOOST_AUTO_TEST_CASE(status_503_then_success_is_retried) {
  std::atomic<int> calls{0};
  ScriptedServer server(tiny_server([&](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2 || calls++ > 0) return false;
    keep = respond(fd, 503, "Service Unavailable", {{"Retry-After", "0"}}, "busy");
    return true;
  }));
  BOOST_TEST(weight_bytes(load_url(server.url("/m/model.json"))) == tiny().all());
  BOOST_TEST(server.hits(kShard2) == 2);
}

BOOST_AUTO_TEST_CASE(status_429_is_retried_and_gives_up_with_the_last_status) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    keep = respond(fd, 429, "Too Many Requests", {}, "slow down");
    return true;
  }));
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json"), with({{"retries", "2"}, {"retry_delay_ms", "1"}})); });
  BOOST_TEST(contains(e, "HTTP 429 Too Many Requests from GET " + server.url(kShard2) + ": slow down (3 attempts)"));
  BOOST_TEST(server.hits(kShard2) == 3);
}

BOOST_AUTO_TEST_CASE(redirects_are_followed_and_bounded) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target == "/m/model.json") {
      keep = respond(fd, 302, "Found", {{"Location", "/real/model.json"}}, "");
      return true;
    }
    if (r.target == "/m/group1-shard1of2.bin") {
      keep = respond(fd, 308, "Permanent Redirect", {{"Location", "../moved/group1-shard1of2.bin"}}, "moved");
      return true;
    }
    if (r.target == "/nowhere/group1-shard1of2.bin") {
      keep = respond(fd, 302, "Found", {}, "");
      return true;
    }
    if (r.target.starts_with("/loop")) {
      keep = respond(fd, 307, "Temporary Redirect", {{"Location", "/loop" + std::to_string(r.target.size())}}, "");
      return true;
    }
    return false;
  }));
  // Shard URLs come from the URL the caller gave (tfjs does the same), each redirect is followed.
  BOOST_TEST(weight_bytes(load_url(server.url("/m/model.json"))) == tiny().all());
  BOOST_TEST(server.hits("/moved/group1-shard1of2.bin") == 1);
  std::string e = error_message_of([&] { load_url(server.url("/loop/model.json")); });
  BOOST_TEST(contains(e, "more than 5 redirects"));
  e = error_message_of([&] { load_url(server.url("/nowhere/model.json")); });
  BOOST_TEST(contains(e, "HTTP 302 Found from GET " + server.url("/nowhere/group1-shard1of2.bin")));
  BOOST_TEST(contains(e, "without a Location"));
}

BOOST_AUTO_TEST_CASE(slow_response_times_out) {
  ScriptedServer* self = nullptr;
  ScriptedServer server(tiny_server([&self](int, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    for (int i = 0; i < 300 && !(self && self->stopping()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    keep = false;
    return true;
  }));
  self = &server;
  const auto start = std::chrono::steady_clock::now();
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json"), with({{"timeout_ms", "300"}, {"retries", "0"}})); });
  const auto elapsed = std::chrono::steady_clock::now() - start;
  BOOST_TEST(contains(e, server.url(kShard2)));
  BOOST_TEST(contains(e, "no response within 300 ms"));
  BOOST_TEST((elapsed < std::chrono::milliseconds(2500)));
}

BOOST_AUTO_TEST_CASE(model_json_errors_read_like_tfjs) {
  ScriptedServer server(tiny_server([](int fd, const Request& r, bool& keep) {
    if (r.target == "/bad/model.json") {
      keep = respond(fd, 200, "OK", {{"Content-Type", "application/json"}}, "{not json");
      return true;
    }
    return false;
  }));
  ErrorCode code{};
  std::string e = error_message_of([&] { load_url(server.url("/missing/none.json")); }, &code);
  BOOST_TEST(contains(e, "Request to " + server.url("/missing/none.json") +
                             " failed with status code 404. Please verify this URL points to the model JSON"));
  BOOST_TEST((code == ErrorCode::not_found));
  e = error_message_of([&] { load_url(server.url("/bad/model.json")); });
  BOOST_TEST(contains(e, server.url("/bad/model.json")));
}

BOOST_AUTO_TEST_CASE(unreachable_server_is_named) {
  const std::uint16_t port = free_port();
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/m/model.json";
  ErrorCode code{};
  std::string e = error_message_of([&] { load_url(url, with({{"retries", "1"}, {"retry_delay_ms", "1"}})); }, &code);
  BOOST_TEST(contains(e, "cannot connect to 127.0.0.1:" + std::to_string(port) + " for " + url));
  BOOST_TEST((code == ErrorCode::unavailable));
}

BOOST_AUTO_TEST_CASE(method_headers_query_and_weight_path_prefix) {
  ScriptedServer server(tiny_server());
  LoadOptions o;
  o.headers = {{"X-Token", "secret"}, {"Accept", "application/x-test"}};
  o.method = "GET";
  o.weight_path_prefix = server.url("/other/");
  ModelArtifacts a = load_url(server.url("/m/model.json?v=7"), o);
  BOOST_TEST(weight_bytes(a) == tiny().all());
  BOOST_TEST(server.hits("/other/group1-shard1of2.bin?v=7") == 1);
  BOOST_TEST(server.hits("/other/group1-shard2of2.bin?v=7") == 1);
  for (const auto& r : server.requests()) {
    BOOST_TEST(r.headers.at("x-token") == "secret");
    BOOST_TEST(r.headers.at("accept") == "application/x-test");
    BOOST_TEST(r.method == "GET");
  }
}

BOOST_AUTO_TEST_CASE(weight_url_converter) {
  ScriptedServer server(tiny_server());
  LoadOptions o;
  o.weight_url_converter = [&](std::string_view path) { return server.url("/conv/" + std::string(path)); };
  BOOST_TEST(weight_bytes(load_url(server.url("/m/model.json"), o)) == tiny().all());
  BOOST_TEST(server.hits("/conv/group1-shard1of2.bin") == 1);
  BOOST_TEST(server.hits("/conv/group1-shard2of2.bin") == 1);
}

BOOST_AUTO_TEST_CASE(progress_reaches_the_total) {
  ScriptedServer server(tiny_server());
  LoadOptions o;
  std::uint64_t last = 0;
  std::optional<std::uint64_t> total;
  o.on_progress = [&](const Progress& p) {
    last = p.bytes_done;
    total = p.bytes_total;
  };
  load_url(server.url("/m/model.json"), o);
  BOOST_TEST(last == 12000u);
  BOOST_TEST(total.value_or(0) == 12000u);
}

BOOST_AUTO_TEST_CASE(a_retried_partial_body_is_not_counted_twice) {
  std::atomic<int> calls{0};
  ScriptedServer server(tiny_server([&](int fd, const Request& r, bool& keep) {
    if (r.target != kShard2 || calls++ > 0) return false;
    // Big enough to be reported as progress before the connection drops.
    respond(fd, 200, "OK", {{"Content-Length", std::to_string(tiny().shard2.size())}}, tiny().shard2.substr(0, 3000));
    keep = false;
    return true;
  }));
  LoadOptions o = with({{"retry_delay_ms", "1"}});
  std::uint64_t last = 0;
  o.on_progress = [&](const Progress& p) { last = p.bytes_done; };
  BOOST_TEST(weight_bytes(load_url(server.url("/m/model.json"), o)) == tiny().all());
  BOOST_TEST(server.hits(kShard2) == 2);
  BOOST_TEST(last == 12000u);
}

BOOST_AUTO_TEST_CASE(cancellation_stops_a_stalled_load) {
  ScriptedServer* self = nullptr;
  ScriptedServer server(tiny_server([&self](int, const Request& r, bool& keep) {
    if (r.target != kShard2) return false;
    for (int i = 0; i < 500 && !(self && self->stopping()); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    keep = false;
    return true;
  }));
  self = &server;
  std::stop_source stop;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    stop.request_stop();
  });
  LoadOptions o;
  o.cancel = stop.get_token();
  ErrorCode code{};
  const auto start = std::chrono::steady_clock::now();
  std::string e = error_message_of([&] { load_url(server.url("/m/model.json"), o); }, &code);
  canceller.join();
  BOOST_TEST((code == ErrorCode::cancelled));
  BOOST_TEST(contains(e, "cancelled"));
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(3)));
}

BOOST_AUTO_TEST_CASE(save_streams_one_multipart_request_and_reports_failures) {
  ScriptedServer server([](int fd, const Request& r) {
    if (r.target == "/fail") return respond(fd, 500, "Internal Server Error", {{"Content-Type", "text/plain"}}, "disk full\n");
    if (r.target == "/moved") return respond(fd, 302, "Found", {{"Location", "/elsewhere"}}, "");
    return respond(fd, 201, "Created", {{"Content-Type", "application/json"}}, "{\"ok\":true}");
  });
  ModelArtifacts model = modelport::parse_model_json(tiny().json, "tiny").artifacts;
  WeightData data;
  data.append(Buffer::copy_of(std::span(reinterpret_cast<const std::byte*>(tiny().shard1.data()), tiny().shard1.size())));
  data.append(Buffer::copy_of(std::span(reinterpret_cast<const std::byte*>(tiny().shard2.data()), tiny().shard2.size())));
  model.weight_data = data;

  SaveResult result = save_url(server.url("/up"), model);
  BOOST_REQUIRE(result.responses);
  BOOST_TEST(bj::serialize(result.responses->at(0)).find("\"status\":201") != std::string::npos);
  auto requests = server.requests();
  BOOST_REQUIRE(requests.size() == 1u);
  const Request& r = requests[0];
  BOOST_TEST(r.method == "POST");
  BOOST_TEST(r.headers.at("content-type").starts_with("multipart/form-data; boundary="));
  BOOST_TEST(r.headers.count("transfer-encoding") == 0u);
  BOOST_TEST(r.body.find("Content-Type: application/octet-stream\r\n\r\n" + tiny().all() + "\r\n--") != std::string::npos);

  SaveOptions put;
  put.method = "PUT";
  save_url(server.url("/put"), model, put);
  BOOST_TEST(server.requests().back().method == "PUT");

  ErrorCode code{};
  std::string e = error_message_of([&] { save_url(server.url("/fail"), model); }, &code);
  BOOST_TEST(contains(e, "BrowserHTTPRequest.save() failed due to HTTP response status 500."));
  BOOST_TEST(contains(e, "POST " + server.url("/fail") + ": disk full"));
  BOOST_TEST(server.hits("/fail") == 1);  // a 500 to an upload is not repeated
  e = error_message_of([&] { save_url(server.url("/moved"), model); });
  BOOST_TEST(contains(e, "redirects the upload to " + server.url("/elsewhere")));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- nginx ---------------------------------------------------------------------------------------

namespace {

// Every model under tests/fixtures/real and synthetic, as paths relative to tests/fixtures.
std::vector<std::string> fixture_models() {
  std::vector<std::string> out;
  for (const char* group : {"real", "synthetic"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fixtures_dir() / group)) {
      if (entry.path().extension() != ".json" || entry.path().filename() == "reference.json" ||
          entry.path().filename() == "SOURCE.json") {
        continue;
      }
      const std::string text = read_file(entry.path());
      if (text.find("\"weightsManifest\"") == std::string::npos) continue;
      out.push_back(fs::relative(entry.path(), fixtures_dir()).string());
    }
  }
  return out;
}

void check_same_model(const ModelArtifacts& over_http, const ModelArtifacts& from_file, const std::string& name) {
  BOOST_TEST_CONTEXT(name) {
    BOOST_TEST(weight_bytes(over_http) == weight_bytes(from_file));
    BOOST_TEST(weight_bytes(over_http).size() > 0u);
    const bj::value manifest = modelport::single_group_manifest({"x"}, from_file.weight_specs);
    BOOST_TEST(modelport::serialize_model_json(over_http, manifest, ModelJsonLayout::browser) ==
               modelport::serialize_model_json(from_file, manifest, ModelJsonLayout::browser));
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nginx)

BOOST_AUTO_TEST_CASE(loads_every_fixture_byte_equal) {
  TempDir dir;
  Nginx server(dir.path() / "nginx", fixtures_dir());
  const auto models = fixture_models();
  BOOST_REQUIRE(models.size() >= 3u);
  for (const auto& m : models) {
    const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/" + m;
    check_same_model(load_url(url), load_url("file://" + (fixtures_dir() / m).string()), m);
    check_same_model(load_url(url, with({{"connections", "1"}})), load_url("file://" + (fixtures_dir() / m).string()), m);
  }
  const std::string missing = "http://127.0.0.1:" + std::to_string(server.port()) + "/real/none/model.json";
  BOOST_TEST(contains(error_message_of([&] { load_url(missing); }), "failed with status code 404"));
}

BOOST_AUTO_TEST_CASE(https_with_a_test_ca) {
  TempDir dir;
  const TestCerts certs = make_test_certs(dir.path() / "certs");
  Nginx server(dir.path() / "nginx", fixtures_dir(), &certs);
  const std::string m = "real/human-age/age.json";
  const ModelArtifacts expected = load_url("file://" + (fixtures_dir() / m).string());
  const std::string port = std::to_string(server.tls_port());
  for (const std::string host : {"127.0.0.1", "localhost"}) {
    check_same_model(load_url("https://" + host + ":" + port + "/" + m, with({{"ca_file", certs.ca.string()}})), expected, host);
  }
  // Without the CA (system store) and with an unrelated CA: a clear certificate error.
  ErrorCode code{};
  std::string e = error_message_of([&] { load_url("https://127.0.0.1:" + port + "/" + m); }, &code);
  BOOST_TEST(contains(e, "TLS handshake with 127.0.0.1:" + port));
  BOOST_TEST(contains(e, "certificate verify failed"));
  BOOST_TEST((code == ErrorCode::permission_denied));
  e = error_message_of([&] { load_url("https://127.0.0.1:" + port + "/" + m, with({{"ca_file", certs.other_ca.string()}})); });
  BOOST_TEST(contains(e, "certificate verify failed"));
  BOOST_TEST(contains(e, "ca_file"));
  e = error_message_of([&] { load_url("https://127.0.0.1:" + port + "/" + m, with({{"ca_file", (dir.path() / "none.pem").string()}})); });
  BOOST_TEST(contains(e, "cannot use ca_file"));
  // insecure=1 skips verification (tests only).
  check_same_model(load_url("https://127.0.0.1:" + port + "/" + m, with({{"insecure", "1"}})), expected, "insecure");
  // Plain HTTP to the TLS port fails with a named URL, not a hang.
  e = error_message_of([&] {
    load_url("http://127.0.0.1:" + port + "/" + m, with({{"retries", "0"}}));
  });
  BOOST_TEST(contains(e, "http://127.0.0.1:" + port + "/" + m));
}

BOOST_AUTO_TEST_SUITE_END()

// ---- the Node capture server ---------------------------------------------------------------------

namespace {

struct CaptureServer {
  std::unique_ptr<Child> child;
  std::uint16_t port = 0;
  fs::path out;
  CaptureServer(const fs::path& dir, const TestCerts* certs = nullptr) : out(dir) {
    std::vector<std::string> argv{node_binary(), MODELPORT_CAPTURE_SERVER, "--out", dir.string()};
    if (certs) {
      argv.insert(argv.end(), {"--tls", certs->server_cert.string(), certs->server_key.string()});
    }
    child = std::make_unique<Child>(argv, true);
    auto line = child->read_line(15000);
    if (!line || !line->starts_with("listening ")) throw std::runtime_error("the capture server did not start");
    port = static_cast<std::uint16_t>(std::stoi(line->substr(10)));
  }
  bj::object seen(int n) const { return bj::parse(read_file(out / (std::to_string(n) + ".json"))).as_object(); }
};

std::set<std::string> header_names(const bj::array& raw) {
  std::set<std::string> names;
  for (const auto& h : raw) {
    std::string n(h.as_array().at(0).as_string());
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    names.insert(n);
  }
  return names;
}

const fs::path kGoldenStore = fixtures_dir() / "golden/http-save/store/upload";

}  // namespace

BOOST_AUTO_TEST_SUITE(capture)

BOOST_AUTO_TEST_CASE(save_has_the_shape_tfjs_sends) {
  TempDir dir;
  CaptureServer server(dir.path() / "seen");
  const bj::object golden = bj::parse(read_file(fixtures_dir() / "golden/http-save/capture.json")).as_object();
  // The model tfjs uploaded, loaded from the golden store, saved again by modelport.
  const ModelArtifacts model = load_url("file://" + (kGoldenStore / "router/model.json").string());
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port);
  const auto& saves = golden.at("saves").as_array();
  save_url(base + std::string(saves.at(0).at("server_saw").at("url").as_string()), model);
  SaveOptions put;  // what the golden's third save passed as requestInit
  put.method = "PUT";
  put.headers = {{"X-Refclient", "yes"}};
  save_url(base + std::string(saves.at(2).at("server_saw").at("url").as_string()), model, put);

  for (int n = 0; n < 2; ++n) {
    BOOST_TEST_CONTEXT("save " << n) {
      const bj::object ours = server.seen(n);
      const bj::object theirs = golden.at("saves").as_array().at(n == 0 ? 0 : 2).at("server_saw").as_object();
      BOOST_TEST(ours.at("method") == theirs.at("method"));
      BOOST_TEST(ours.at("url") == theirs.at("url"));
      // Same body as tfjs's but for the boundary, which appears three times.
      const auto boundary_growth = static_cast<std::int64_t>(ours.at("multipart").at("boundary").as_string().size()) -
                                   static_cast<std::int64_t>(theirs.at("multipart").at("boundary").as_string().size());
      BOOST_TEST(ours.at("body_bytes").as_int64() == theirs.at("body_bytes").as_int64() + 3 * boundary_growth);
      const auto& mp = ours.at("multipart").as_object();
      const auto& golden_mp = theirs.at("multipart").as_object();
      BOOST_TEST(mp.at("closed") == golden_mp.at("closed"));
      BOOST_TEST(mp.at("preamble_bytes") == golden_mp.at("preamble_bytes"));
      BOOST_TEST(mp.at("epilogue_bytes") == golden_mp.at("epilogue_bytes"));
      const auto& parts = mp.at("parts").as_array();
      const auto& golden_parts = golden_mp.at("parts").as_array();
      BOOST_REQUIRE(parts.size() == golden_parts.size());
      for (std::size_t i = 0; i < parts.size(); ++i) {
        for (const char* key : {"name", "filename", "content_type", "raw_headers", "bytes"}) {
          BOOST_TEST(parts[i].at(key) == golden_parts[i].at(key), "part " << i << " " << key);
        }
      }
      BOOST_TEST(parts[0].at("json_top_level_keys") == golden_parts[0].at("json_top_level_keys"));
      BOOST_TEST(parts[0].at("weightsManifest_paths") == golden_parts[0].at("weightsManifest_paths"));
      // Byte for byte what tfjs uploaded.
      BOOST_TEST(read_file(server.out / std::to_string(n) / "model.json") == read_file(kGoldenStore / "router/model.json"));
      BOOST_TEST(read_file(server.out / std::to_string(n) / "model.weights.bin") ==
                 read_file(kGoldenStore / "router/model.weights.bin"));
      // Headers: the ones that matter to a server are there; nothing tfjs does not send, apart
      // from the caller's own headers.
      const auto names = header_names(ours.at("rawHeaders").as_array());
      const auto golden_names = header_names(theirs.at("rawHeaders").as_array());
      for (const char* required : {"host", "content-type", "content-length"}) BOOST_TEST(names.count(required) == 1u);
      for (const auto& name : names) BOOST_TEST(golden_names.count(name) == 1u, "unexpected header " << name);
    }
  }
}

BOOST_AUTO_TEST_CASE(topology_only_save_and_server_errors) {
  TempDir dir;
  CaptureServer server(dir.path() / "seen");
  ModelArtifacts model = load_url("file://" + (kGoldenStore / "router/model.json").string());
  model.weight_data.reset();
  model.weight_specs.reset();
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port);
  save_url(base + "/upload/topology", model);
  const bj::object seen = server.seen(0);
  const auto& parts = seen.at("multipart").at("parts").as_array();
  BOOST_REQUIRE(parts.size() == 1u);
  BOOST_TEST(parts[0].at("name") == "model.json");
  const bj::value json = bj::parse(read_file(server.out / "0" / "model.json"));
  BOOST_TEST(bj::serialize(json.at("weightsManifest")) == R"([{"paths":["./model.weights.bin"]}])");

  std::string e = error_message_of([&] { save_url(base + "/upload/status/500", model); });
  BOOST_TEST(contains(e, "BrowserHTTPRequest.save() failed due to HTTP response status 500."));
  BOOST_TEST(contains(e, base + "/upload/status/500"));
  BOOST_TEST(contains(e, "answering 500 as asked"));
}

BOOST_AUTO_TEST_CASE(https_save) {
  TempDir dir;
  const TestCerts certs = make_test_certs(dir.path() / "certs");
  CaptureServer server(dir.path() / "seen", &certs);
  const ModelArtifacts model = load_url("file://" + (kGoldenStore / "router/model.json").string());
  SaveOptions o;
  o.plugin_options = {{"ca_file", certs.ca.string()}};
  save_url("https://localhost:" + std::to_string(server.port) + "/upload/tls", model, o);
  BOOST_TEST(read_file(server.out / "0" / "model.weights.bin") == read_file(kGoldenStore / "router/model.weights.bin"));
  SaveOptions wrong;
  wrong.plugin_options = {{"ca_file", certs.other_ca.string()}};
  std::string e = error_message_of([&] { save_url("https://localhost:" + std::to_string(server.port) + "/upload/tls2", model, wrong); });
  BOOST_TEST(contains(e, "certificate verify failed"));
}

BOOST_AUTO_TEST_SUITE_END()
