// `modelport serve` end to end: the built CLI on a free port with a temp file:// store, spoken to
// over raw sockets. Saves, loads, caching headers, ranges, CORS, listing, removal, the token, and
// bad input (each followed by a good request, to show the server keeps serving).
#include "serve_harness.hpp"
#include "test_errors.hpp"
#include "test_support.hpp"

#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>

#include <boost/test/unit_test.hpp>

#include <thread>

namespace fs = std::filesystem;
using namespace modelport;
using namespace modelport::test;
using namespace std::chrono_literals;

namespace {

struct Plugins {
  RouterRegistry routers;
  ModelStoreRegistry stores;
  PluginManager manager{routers, stores};
  Plugins() { manager.load_plugin(MODELPORT_FILE_PLUGIN); }
};
Plugins& plugins() {
  static Plugins* p = new Plugins();  // plugins are never unloaded
  return *p;
}

const fs::path kUpload = fixtures_dir() / "golden/http-save/store/upload/router";
const std::string kBoundary = "----formdata-undici-064918541778";
const std::string kMultipart = "Content-Type: multipart/form-data; boundary=" + kBoundary;

std::string tfjs_json() { return read_file(kUpload / "model.json"); }
std::string tfjs_weights() { return read_file(kUpload / "model.weights.bin"); }

std::string tfjs_upload(bool weights_first = false) {
  FormPart json{"model.json", "model.json", "application/json", tfjs_json()};
  FormPart weights{"model.weights.bin", "model.weights.bin", "application/octet-stream", tfjs_weights()};
  return multipart_body(kBoundary, weights_first ? std::vector{weights, json} : std::vector{json, weights});
}

void expect_json_error(const HttpResponse& r, int status, const std::string& code) {
  BOOST_TEST(r.status == status, "status " << r.status << " body " << r.body);
  BOOST_TEST(r.header("content-type") == "application/json");
  BOOST_TEST(r.header("access-control-allow-origin") == "*");
  try {
    auto v = json::parse(r.body);
    BOOST_TEST(v.at("code").as_string() == code, "code " << v.at("code").as_string() << " body " << r.body);
    BOOST_TEST(!v.at("error").as_string().empty());
  } catch (const std::exception& e) {
    BOOST_ERROR("error body is not JSON: '" << r.body << "' (" << e.what() << ")");
  }
}

void still_serving(int port) {
  HttpResponse r = request(port, "GET", "/models");
  BOOST_TEST(r.status == 200, "after bad input, GET /models gave " << r.status);
}

// Fetches model.json and every shard it lists; returns the shards joined.
std::string fetch_weights(int port, const std::string& name) {
  HttpResponse mj = request(port, "GET", "/models/" + name + "/model.json");
  BOOST_REQUIRE_EQUAL(mj.status, 200);
  auto parsed = parse_model_json(mj.body, "served model.json");
  std::string joined;
  for (const auto& group : *parsed.weights_manifest) {
    for (const auto& path : group.paths) {
      HttpResponse shard = request(port, "GET", "/models/" + name + "/" + path);
      BOOST_REQUIRE_EQUAL(shard.status, 200);
      BOOST_TEST(shard.header("content-type") == "application/octet-stream");
      joined += shard.body;
    }
  }
  return joined;
}

}  // namespace

BOOST_AUTO_TEST_CASE(save_then_load_from_the_store_and_over_http) {
  TempDir dir;
  ServeProcess server(dir.path().string());
  BOOST_TEST(server.banner().find("serving file://" + dir.path().string() + " at http://127.0.0.1:") == 0u, server.banner());

  HttpResponse saved = request(server.port(), "POST", "/models/team/x", tfjs_upload(true), {kMultipart});
  BOOST_REQUIRE_MESSAGE(saved.status == 200, saved.body);
  auto info = json::parse(saved.body);
  BOOST_TEST(info.at("modelArtifactsInfo").at("weightDataBytes").to_number<std::uint64_t>() == tfjs_weights().size());

  // The store holds what tfjs uploaded: same weight bytes, same model.json fields.
  ModelArtifacts stored = modelport::load("file://" + (dir.path() / "team/x").string(), {}, plugins().routers);
  BOOST_REQUIRE(stored.weight_data.has_value());
  BOOST_TEST((stored.weight_data->join().view() == tfjs_weights()));
  ModelArtifacts uploaded = parse_model_json(tfjs_json(), "upload").artifacts;
  uploaded.weight_data = WeightData(Buffer::copy_of(tfjs_weights()));
  BOOST_TEST(same_model(uploaded, stored));

  // Over HTTP: model.json in the browser layout with shard paths that resolve next to it.
  HttpResponse mj = request(server.port(), "GET", "/models/team/x/model.json");
  BOOST_REQUIRE_EQUAL(mj.status, 200);
  BOOST_TEST(mj.header("content-type") == "application/json");
  BOOST_TEST(mj.header("access-control-allow-origin") == "*");
  BOOST_TEST(!mj.header("etag").empty());
  BOOST_TEST(mj.body.rfind("{\"modelTopology\":", 0) == 0u);
  BOOST_TEST(same_model(parse_model_json(mj.body, "served").artifacts.model_topology ? uploaded : ModelArtifacts{}, stored));
  BOOST_TEST((fetch_weights(server.port(), "team/x") == tfjs_weights()));

  // PUT replaces it (tfjs's requestInit {method: 'PUT'}); the cache must not serve the old one.
  std::string json2 = tfjs_json();
  std::string weights2 = tfjs_weights();
  for (auto& c : weights2) c = static_cast<char>(~c);
  HttpResponse put = request(server.port(), "PUT", "/models/team/x",
                             multipart_body(kBoundary, {{"model.json", "model.json", "application/json", json2},
                                                        {"model.weights.bin", "blob", "application/octet-stream", weights2}}),
                             {kMultipart});
  BOOST_REQUIRE_MESSAGE(put.status == 200, put.body);
  BOOST_TEST((fetch_weights(server.port(), "team/x") == weights2));
  BOOST_TEST(server.stop() == 0);
}

// Any scheme can be the store: the browser schemes' plugins keep their data under
// MODELPORT_DATA_DIR, which the server inherits.
BOOST_AUTO_TEST_CASE(indexeddb_and_localstorage_stores) {
  for (const std::string store : {"indexeddb://", "localstorage://team"}) {
    BOOST_TEST_CONTEXT("store " << store) {
      TempDir data;
      ScopedEnv env("MODELPORT_DATA_DIR", data.path().c_str());
      ServeProcess server(store);
      HttpResponse saved = request(server.port(), "POST", "/models/a/b", tfjs_upload(), {kMultipart});
      BOOST_REQUIRE_MESSAGE(saved.status == 200, saved.body);
      BOOST_TEST((fetch_weights(server.port(), "a/b") == tfjs_weights()));
      auto models = json::parse(request(server.port(), "GET", "/models").body).at("models").as_array();
      BOOST_REQUIRE_EQUAL(models.size(), 1u);
      BOOST_TEST(models[0].at("name").as_string() == "a/b");
      BOOST_TEST(request(server.port(), "DELETE", "/models/a/b").status == 200);
      expect_json_error(request(server.port(), "GET", "/models/a/b/model.json"), 404, "not_found");
      BOOST_TEST(server.stop() == 0);
    }
  }
}

BOOST_AUTO_TEST_CASE(connection_limit) {
  TempDir dir;
  ServeProcess server(dir.path().string(), {"--max-connections", "2"});
  Connection first(server.port()), second(server.port());
  first.send("GET /models HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(first.read_response().status == 200);
  second.send("GET /models HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(second.read_response().status == 200);
  Connection third(server.port());  // accepted by the kernel, closed by the server at once
  BOOST_TEST(third.closed_by_server(5s));
  first.send("GET /models HTTP/1.1\r\nHost: x\r\n\r\n");  // the two admitted ones are still served
  BOOST_TEST(first.read_response().status == 200);
}

BOOST_AUTO_TEST_CASE(etag_range_head_cors_on_one_keep_alive_connection) {
  TempDir dir;
  ServeProcess server(dir.path().string());
  BOOST_REQUIRE_EQUAL(request(server.port(), "POST", "/models/m", tfjs_upload(), {kMultipart}).status, 200);
  const std::string weights = tfjs_weights();
  const std::string shard = "/models/m/group1-shard1of1.bin";

  Connection c(server.port());
  auto get = [&](const std::string& method, const std::string& target, const std::string& extra = {}) {
    c.send(method + " " + target + " HTTP/1.1\r\nHost: x\r\n" + extra + "\r\n");
    return c.read_response(method == "HEAD");
  };
  HttpResponse full = get("GET", shard);
  BOOST_REQUIRE_EQUAL(full.status, 200);
  BOOST_TEST((full.body == weights));
  BOOST_TEST(full.header("accept-ranges") == "bytes");
  const std::string etag = full.header("etag");
  BOOST_TEST(etag.size() > 2u);

  HttpResponse cached = get("GET", shard, "If-None-Match: " + etag + "\r\n");
  BOOST_TEST(cached.status == 304);
  BOOST_TEST(cached.header("etag") == etag);
  BOOST_TEST(get("GET", shard, "If-None-Match: \"other\"\r\n").status == 200);

  HttpResponse part = get("GET", shard, "Range: bytes=10-19\r\n");
  BOOST_TEST(part.status == 206);
  BOOST_TEST((part.body == weights.substr(10, 10)));
  BOOST_TEST(part.header("content-range") == "bytes 10-19/" + std::to_string(weights.size()));
  HttpResponse tail = get("GET", shard, "Range: bytes=-4\r\n");
  BOOST_TEST(tail.status == 206);
  BOOST_TEST((tail.body == weights.substr(weights.size() - 4)));
  HttpResponse bad_range = get("GET", shard, "Range: bytes=99999999-\r\n");
  expect_json_error(bad_range, 416, "range_not_satisfiable");
  BOOST_TEST(bad_range.header("content-range") == "bytes */" + std::to_string(weights.size()));

  HttpResponse head = get("HEAD", shard);
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.header("content-length") == std::to_string(weights.size()));
  BOOST_TEST(head.header("etag") == etag);
  HttpResponse head_json = get("HEAD", "/models/m/model.json");
  BOOST_TEST(head_json.status == 200);
  BOOST_TEST(std::stoul(head_json.header("content-length")) > 100u);

  c.send("OPTIONS /models/m HTTP/1.1\r\nHost: x\r\nOrigin: http://other.example\r\nAccess-Control-Request-Method: POST\r\n"
         "Access-Control-Request-Headers: authorization, content-type\r\n\r\n");
  HttpResponse preflight = c.read_response();
  BOOST_TEST(preflight.status == 204);
  BOOST_TEST(preflight.header("access-control-allow-origin") == "*");
  BOOST_TEST(preflight.header("access-control-allow-methods").find("POST") != std::string::npos);
  BOOST_TEST(preflight.header("access-control-allow-headers") == "authorization, content-type");
  BOOST_TEST(full.header("access-control-expose-headers").find("ETag") != std::string::npos);

  // The connection is still the same one: everything above was keep-alive.
  BOOST_TEST(get("GET", "/models").status == 200);
  expect_json_error(get("GET", "/models/m/nope.bin"), 404, "not_found");
  expect_json_error(get("GET", "/models/nobody/model.json"), 404, "not_found");
}

BOOST_AUTO_TEST_CASE(list_and_delete) {
  TempDir dir;
  ServeProcess server(dir.path().string());
  auto listed = [&] { return json::parse(request(server.port(), "GET", "/models").body).at("models").as_array(); };
  BOOST_TEST(listed().empty());
  BOOST_REQUIRE_EQUAL(request(server.port(), "POST", "/models/a", tfjs_upload(), {kMultipart}).status, 200);
  BOOST_REQUIRE_EQUAL(request(server.port(), "POST", "/models/b/c", tfjs_upload(), {kMultipart}).status, 200);
  auto models = listed();
  BOOST_REQUIRE_EQUAL(models.size(), 2u);
  BOOST_TEST(models[0].at("name").as_string() == "a");
  BOOST_TEST(models[1].at("name").as_string() == "b/c");
  BOOST_TEST(models[0].at("weightDataBytes").to_number<std::uint64_t>() == tfjs_weights().size());
  BOOST_TEST(!models[0].at("dateSaved").as_string().empty());

  BOOST_REQUIRE_EQUAL(request(server.port(), "GET", "/models/a/model.json").status, 200);  // now cached
  HttpResponse removed = request(server.port(), "DELETE", "/models/a");
  BOOST_TEST(removed.status == 200, removed.body);
  BOOST_TEST(!fs::exists(dir.path() / "a/model.json"));
  expect_json_error(request(server.port(), "GET", "/models/a/model.json"), 404, "not_found");
  expect_json_error(request(server.port(), "GET", "/models/a/group1-shard1of1.bin"), 404, "not_found");
  expect_json_error(request(server.port(), "DELETE", "/models/a"), 404, "not_found");
  BOOST_TEST(listed().size() == 1u);
}

BOOST_AUTO_TEST_CASE(token_protects_writes) {
  TempDir dir;
  ServeProcess server(dir.path().string(), {"--token", "s3cret"});
  expect_json_error(request(server.port(), "POST", "/models/x", tfjs_upload(), {kMultipart}), 401, "unauthorized");
  expect_json_error(request(server.port(), "POST", "/models/x", tfjs_upload(), {kMultipart, "Authorization: Bearer wrong"}), 401,
                    "unauthorized");
  expect_json_error(request(server.port(), "POST", "/models/x", tfjs_upload(), {kMultipart, "Authorization: Basic s3cret"}), 401,
                    "unauthorized");
  BOOST_TEST(!fs::exists(dir.path() / "x"));
  HttpResponse ok = request(server.port(), "POST", "/models/x", tfjs_upload(), {kMultipart, "Authorization: Bearer s3cret"});
  BOOST_TEST(ok.status == 200, ok.body);
  BOOST_TEST(request(server.port(), "GET", "/models/x/model.json").status == 200);  // reads need no token
  expect_json_error(request(server.port(), "DELETE", "/models/x"), 401, "unauthorized");
  BOOST_TEST(request(server.port(), "DELETE", "/models/x", "", {"Authorization: Bearer s3cret"}).status == 200);
}

BOOST_AUTO_TEST_CASE(bad_uploads_get_json_errors_and_the_server_goes_on) {
  TempDir dir;
  ServeProcess server(dir.path().string(), {"--max-upload", "64K"});
  const int port = server.port();
  const std::string json = tfjs_json();
  const std::string weights = tfjs_weights();

  expect_json_error(request(port, "POST", "/models/x", "garbage", {kMultipart}), 400, "bad_multipart");
  still_serving(port);
  expect_json_error(request(port, "POST", "/models/x", tfjs_upload().substr(0, 3000), {kMultipart}), 400, "bad_multipart");
  expect_json_error(request(port, "POST", "/models/x", multipart_body(kBoundary, {{"model.json", "", "", json}}), {kMultipart}), 400,
                    "missing_part");
  expect_json_error(request(port, "POST", "/models/x", multipart_body(kBoundary, {{"model.weights.bin", "", "", weights}}),
                            {kMultipart}),
                    400, "missing_part");
  expect_json_error(request(port, "POST", "/models/x",
                            multipart_body(kBoundary, {{"model.json", "", "", json}, {"model.json", "", "", json}}), {kMultipart}),
                    400, "duplicate_part");
  expect_json_error(request(port, "POST", "/models/x",
                            multipart_body(kBoundary, {{"model.json", "", "", json}, {"model.weights.bin", "", "", weights.substr(1)}}),
                            {kMultipart}),
                    400, "bad_weights");
  expect_json_error(request(port, "POST", "/models/x", tfjs_upload(), {"Content-Type: application/json"}), 415, "bad_content_type");
  BOOST_TEST(!fs::exists(dir.path() / "x"));
  still_serving(port);

  // Oversized: refused from Content-Length before any byte of the body is read, and when a
  // chunked body grows past the limit.
  expect_json_error(request(port, "POST", "/models/x", std::string(70000, 'x'), {kMultipart}), 413, "too_large");
  {
    Connection c(port);
    c.send("POST /models/x HTTP/1.1\r\nHost: x\r\n" + kMultipart + "\r\nTransfer-Encoding: chunked\r\n\r\n");
    std::string chunk(16384, 'y');
    for (int i = 0; i < 5; ++i) c.send("4000\r\n" + chunk + "\r\n");
    c.send("0\r\n\r\n");
    expect_json_error(c.read_response(), 413, "too_large");
  }
  still_serving(port);

  // Names: traversal, encoded traversal, encoded slashes and backslashes, NUL, empty segments.
  for (const char* target : {"/models/..", "/models/../x", "/models/%2e%2e", "/models/%2E%2E/etc", "/models/a%2f..%2fb",
                             "/models/a%5c..", "/models/a//b", "/models/a%00", "/models/%zz"}) {
    expect_json_error(request(port, "POST", target, tfjs_upload(), {kMultipart}), 400, std::string(target) == "/models/%zz" ? "bad_target" : "bad_name");
    expect_json_error(request(port, "GET", std::string(target) + "/model.json"), 400, std::string(target) == "/models/%zz" ? "bad_target" : "bad_name");
  }
  BOOST_TEST(fs::is_empty(dir.path()));
  expect_json_error(request(port, "GET", "/etc/passwd"), 404, "not_found");
  expect_json_error(request(port, "PATCH", "/models/x"), 405, "method_not_allowed");
  {
    Connection c(port);
    c.send("GET /models HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'z') + "\r\n\r\n");
    expect_json_error(c.read_response(), 431, "headers_too_large");
  }
  {
    Connection c(port);
    c.send("NOT HTTP AT ALL\r\n\r\n");
    expect_json_error(c.read_response(), 400, "bad_request");
  }
  still_serving(port);
  BOOST_TEST(server.stop() == 0);
}

BOOST_AUTO_TEST_CASE(a_slow_client_does_not_block_others_and_is_cut_off) {
  TempDir dir;
  ServeProcess server(dir.path().string(), {"--header-timeout", "2", "--threads", "1"});
  const int port = server.port();
  // One worker thread, and a client dripping its headers byte by byte.
  Connection slow(server.port());
  const std::string request_text = "GET /models HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'p') + "\r\n\r\n";
  std::atomic<bool> stop{false};
  std::thread dripper([&] {
    for (std::size_t i = 0; i < request_text.size() && !stop; ++i) {
      slow.send(request_text.substr(i, 1));
      std::this_thread::sleep_for(50ms);
    }
  });
  std::this_thread::sleep_for(300ms);
  // Others are served meanwhile, promptly.
  for (int i = 0; i < 5; ++i) {
    auto start = std::chrono::steady_clock::now();
    BOOST_TEST(request(port, "GET", "/models").status == 200);
    // Well below the 12 s the slow client takes (the margin is for a loaded CI machine).
    BOOST_TEST((std::chrono::steady_clock::now() - start < 3s));
  }
  // The header deadline (2 s here) closes the slow connection long before its 12 s of dripping end.
  BOOST_TEST(slow.closed_by_server(5s));
  stop = true;
  dripper.join();

  // Idle keep-alive is a separate, longer wait: a connection idle for longer than the header
  // deadline still works.
  Connection idle(port);
  idle.send("GET /models HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(idle.read_response().status == 200);
  std::this_thread::sleep_for(3s);
  idle.send("GET /models HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(idle.read_response().status == 200);
}

BOOST_AUTO_TEST_CASE(sigterm_stops_cleanly_with_open_connections) {
  TempDir dir;
  ServeProcess server(dir.path().string());
  Connection idle(server.port());
  idle.send("GET /models HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(idle.read_response().status == 200);
  Connection silent(server.port());  // connected, never sent anything
  auto start = std::chrono::steady_clock::now();
  BOOST_TEST(server.stop() == 0);
  BOOST_TEST((std::chrono::steady_clock::now() - start < 5s));
  BOOST_TEST(idle.closed_by_server(1s));
}

BOOST_AUTO_TEST_CASE(bad_command_lines) {
  auto run = [](const std::string& args) {
    std::string command = std::string(MODELPORT_CLI) + " serve " + args + " >/dev/null 2>&1";
    int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  };
  BOOST_TEST(run("") == 2);
  BOOST_TEST(run("--store /tmp --port 70000") == 2);
  BOOST_TEST(run("--store /tmp --max-upload 12Q") == 2);
  BOOST_TEST(run("--store /tmp --bogus 1") == 2);
  BOOST_TEST(run("--help") == 0);
  BOOST_TEST(run("--store /tmp --bind 256.1.1.1 --port 0") == 1);
}
