// Streaming copies through http(s):// (plugin ABI 1.1): a save whose weights arrive part by part
// from a WeightStream (byte-identical to an ordinary save; a source that fails mid-way fails the
// save and the server keeps no half model), and load_streamed, whose shards are fetched only when
// the stream asks for them (deferred fills with their own client, errors naming the shard URL).
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/weight_stream.hpp>

#include "http_test_support.hpp"
#include "plugin_env.hpp"
#include "test_streams.hpp"
#include "test_errors.hpp"
#include "test_support.hpp"

#include <boost/json.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <random>
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

bool contains(const std::string& text, const std::string& part) {
  if (text.find(part) != std::string::npos) return true;
  BOOST_TEST_MESSAGE("'" << part << "' not in: " << text);
  return false;
}

HandlerPtr save_handler(const std::string& url, const SaveOptions& options = {}) {
  return test::the_save_handler(env().routers, url, options);
}

HandlerPtr load_handler(const std::string& url, const LoadOptions& options = {}) {
  return test::the_load_handler(env().routers, url, options);
}

std::string concatenated(const ModelArtifacts& a) {
  std::string out;
  if (a.weight_data) {
    for (const auto& b : a.weight_data->buffers()) out.append(b.view());
  }
  return out;
}


// Every part of a stream, in order.
std::vector<std::string> drain_parts(WeightStream& stream) {
  std::vector<std::string> parts;
  while (auto part = stream.next()) parts.emplace_back(part->view());
  return parts;
}

// Accepts one connection and counts the bytes that arrive, answering nothing: shows how much of
// an upload was on the wire at a given moment.
class CountingServer {
 public:
  CountingServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      throw std::runtime_error("CountingServer: cannot listen");
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~CountingServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  std::string url(const std::string& target) const { return "http://127.0.0.1:" + std::to_string(port_) + target; }
  std::uint64_t received() const { return received_.load(); }
  bool closed_by_peer() const { return closed_.load(); }
  // Waits up to 10 s for at least `n` bytes.
  bool wait_for(std::uint64_t n) const {
    for (int i = 0; i < 1000 && received_.load() < n; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return received_.load() >= n;
  }

 private:
  void run() {
    int fd = -1;
    while (!stop_ && fd < 0) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) == 1) fd = ::accept(listen_fd_, nullptr, nullptr);
    }
    std::vector<char> buf(1 << 16);
    while (!stop_ && fd >= 0) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) != 1) continue;
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
      if (n <= 0) {
        closed_ = true;
        break;
      }
      received_ += static_cast<std::uint64_t>(n);
    }
    if (fd >= 0) ::close(fd);
  }
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> closed_{false};
  std::atomic<std::uint64_t> received_{0};
  std::thread thread_;
};

// `modelport serve` over a file:// store in `store`.
struct Serve {
  std::unique_ptr<Child> child;
  std::string base;
  explicit Serve(const fs::path& store, const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv{MODELPORT_CLI, "--plugin-path", MODELPORT_PLUGIN_DIR, "-q", "serve", "--store",
                                  "file://" + store.string(), "--port", "0", "--threads", "2"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    child = std::make_unique<Child>(argv, true);
    auto line = child->read_line(30000);
    if (!line || !line->starts_with("serving ")) throw std::runtime_error("modelport serve did not start");
    const auto at = line->rfind("http://");
    base = line->substr(at);
    while (!base.empty() && (base.back() == '/' || base.back() == '\r')) base.pop_back();
  }
};

// Files under `dir`, relative, sorted: what a store holds.
std::vector<std::string> files_under(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out.push_back(fs::relative(e.path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

const fs::path kGoldenStore = fixtures_dir() / "golden/http-save/store/upload";

struct CaptureServer {
  std::unique_ptr<Child> child;
  std::uint16_t port = 0;
  fs::path out;
  explicit CaptureServer(const fs::path& dir, const TestCerts* certs = nullptr) : out(dir) {
    std::vector<std::string> argv{node_binary(), MODELPORT_CAPTURE_SERVER, "--out", dir.string()};
    if (certs) argv.insert(argv.end(), {"--tls", certs->server_cert.string(), certs->server_key.string()});
    child = std::make_unique<Child>(argv, true);
    auto line = child->read_line(15000);
    if (!line || !line->starts_with("listening ")) throw std::runtime_error("the capture server did not start");
    port = static_cast<std::uint16_t>(std::stoi(line->substr(10)));
  }
  bj::object seen(int n) const { return bj::parse(read_file(out / (std::to_string(n) + ".json"))).as_object(); }
};

// A model of 3 shards in one group (converter layout: sizes come from HEAD) and one shard alone
// in a second group (its size comes from the manifest), served by a scripted server that counts
// each method and path.
struct ShardedModel {
  std::string json =
      R"({"modelTopology":{"class_name":"Sequential","config":{}},"format":"layers-model","generatedBy":"test",)"
      R"("convertedBy":null,"weightsManifest":[)"
      R"({"paths":["g1-1.bin","g1-2.bin","g1-3.bin"],"weights":[{"name":"a","shape":[2500],"dtype":"float32"}]},)"
      R"({"paths":["g2-1.bin"],"weights":[{"name":"b","shape":[100],"dtype":"float32"}]}]})";
  std::map<std::string, std::string> shards;
  std::vector<std::string> order{"g1-1.bin", "g1-2.bin", "g1-3.bin", "g2-1.bin"};
  ShardedModel() {
    std::string all(10400, '\0');
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = static_cast<char>((i * 37 + 11) & 0xff);
    shards["g1-1.bin"] = all.substr(0, 4096);
    shards["g1-2.bin"] = all.substr(4096, 4096);
    shards["g1-3.bin"] = all.substr(8192, 1808);
    shards["g2-1.bin"] = all.substr(10000);
  }
};

const ShardedModel& sharded() {
  static ShardedModel m;
  return m;
}

// Serves ShardedModel under /m/; `broken` names shards that answer differently once `broken_now`
// is set: "404" a page, "short" a body cut off after 100 bytes, "long" a longer body.
struct ShardServer {
  std::atomic<bool> broken_now{false};
  std::atomic<bool> answered_503{false};
  std::map<std::string, std::string> broken;
  bool head_allowed = true;
  ScriptedServer server{[this](int fd, const Request& r) { return answer(fd, r); }};

  bool answer(int fd, const Request& r) {
    const std::string file = r.target.substr(r.target.rfind('/') + 1);
    if (r.target.starts_with("/elsewhere/") && sharded().shards.count(file)) {
      return respond(fd, 200, "OK", {{"Content-Type", "application/octet-stream"}}, sharded().shards.at(file));
    }
    if (file == "model.json") return respond(fd, 200, "OK", {{"Content-Type", "application/json"}}, sharded().json);
    auto it = sharded().shards.find(file);
    if (it == sharded().shards.end()) return respond(fd, 404, "Not Found", {{"Content-Type", "text/html"}}, "<html>404</html>");
    if (r.method == "HEAD") {
      if (!head_allowed) return respond(fd, 405, "Method Not Allowed", {{"Content-Length", "0"}}, "");
      return respond(fd, 200, "OK", {{"Content-Length", std::to_string(it->second.size())}}, "");
    }
    if (broken_now && broken.count(file)) {
      const std::string& how = broken.at(file);
      if (how == "404") return respond(fd, 404, "Not Found", {{"Content-Type", "text/html"}}, "<html>gone</html>");
      if (how == "short") {
        respond(fd, 200, "OK", {{"Content-Length", std::to_string(it->second.size())}}, it->second.substr(0, 100));
        return false;
      }
      if (how == "long") return respond(fd, 200, "OK", {}, it->second + "extra");
      if (how == "503 once" && !answered_503.exchange(true)) {
        return respond(fd, 503, "Service Unavailable", {{"Retry-After", "0"}}, "busy");
      }
      if (how == "redirect") return respond(fd, 302, "Found", {{"Location", "/elsewhere/" + file}}, "");
    }
    return respond(fd, 200, "OK", {{"Content-Type", "application/octet-stream"}}, it->second);
  }
  int gets(const std::string& file) const {
    int n = 0;
    for (const auto& r : server.requests()) n += r.method == "GET" && r.target == "/m/" + file;
    return n;
  }
  int all_gets() const {
    int n = 0;
    for (const auto& f : sharded().order) n += gets(f);
    return n;
  }
};

// A model whose weights are one shard ("weights.bin", the tfjs-node layout) of `bytes` bytes.
std::string one_shard_model_json(std::uint64_t bytes) {
  return R"({"modelTopology":{"class_name":"Sequential","config":{}},"format":"layers-model","generatedBy":"test",)"
         R"("convertedBy":null,"weightsManifest":[{"paths":["weights.bin"],)"
         R"("weights":[{"name":"a","shape":[)" +
         std::to_string(bytes / 4) + R"(],"dtype":"float32"}]}]})";
}

// Pseudo-random bytes: a window read from the wrong offset cannot match by accident.
std::string random_bytes(std::size_t n) {
  std::mt19937 gen(20261129);
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(gen() & 0xff);
  return out;
}

// Serves one_shard_model_json(shard.size()) and the shard under /big/. `ranges`:
//  "none": no Accept-Ranges anywhere, every GET answered 200 with the whole shard;
//  "ignored": HEAD advertises Accept-Ranges: bytes, but a Range GET still gets 200 and the shard;
//  "wrong total": Accept-Ranges: bytes, and a 206 for the bytes asked whose Content-Range gives
//  a total one byte larger (the shard grew since the load).
struct BigShardServer {
  std::string shard;
  std::string ranges;
  ScriptedServer server{[this](int fd, const Request& r) { return answer(fd, r); }};
  BigShardServer(std::string bytes, std::string how) : shard(std::move(bytes)), ranges(std::move(how)) {}

  bool answer(int fd, const Request& r) {
    if (r.target == "/big/model.json") {
      return respond(fd, 200, "OK", {{"Content-Type", "application/json"}}, one_shard_model_json(shard.size()));
    }
    if (r.target != "/big/weights.bin") return respond(fd, 404, "Not Found", {}, "no");
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/octet-stream"}};
    if (ranges != "none") headers.emplace_back("Accept-Ranges", "bytes");
    if (r.method == "HEAD") {
      headers.emplace_back("Content-Length", std::to_string(shard.size()));
      return respond(fd, 200, "OK", headers, "");
    }
    auto range = r.headers.find("range");
    if (ranges == "wrong total" && range != r.headers.end()) {
      const std::string spec = range->second.substr(6);  // "bytes=a-b"
      const std::uint64_t a = std::stoull(spec.substr(0, spec.find('-')));
      const std::uint64_t b = std::stoull(spec.substr(spec.find('-') + 1));
      headers.emplace_back("Content-Range", "bytes " + std::to_string(a) + "-" + std::to_string(b) + "/" +
                                                std::to_string(shard.size() + 1));
      return respond(fd, 206, "Partial Content", headers, std::string_view(shard).substr(a, b - a + 1));
    }
    return respond(fd, 200, "OK", headers, shard);
  }
  std::vector<std::string> ranges_asked() const {
    std::vector<std::string> out;
    for (const auto& r : server.requests()) {
      if (r.method == "GET" && r.target == "/big/weights.bin") {
        auto it = r.headers.find("range");
        out.push_back(it == r.headers.end() ? "" : it->second);
      }
    }
    return out;
  }
};

LoadOptions quick_retries() {
  LoadOptions o;
  o.plugin_options = {{"retries", "1"}, {"retry_delay_ms", "1"}};
  return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(streaming)

BOOST_AUTO_TEST_CASE(streamed_save_is_byte_identical_to_an_ordinary_save) {
  TempDir dir;
  CaptureServer server(dir.path() / "seen");
  const ModelArtifacts model = modelport::load("file://" + (kGoldenStore / "router/model.json").string(), {}, env().routers);
  const std::string weights = concatenated(model);
  BOOST_REQUIRE(weights.size() > 1000u);
  const std::string base = "http://127.0.0.1:" + std::to_string(server.port);
  modelport::save(base + "/upload/plain", model, {}, env().routers);

  ModelArtifacts meta = model;
  meta.weight_data.reset();
  const std::string stream_bytes = weights;
  test::PartsStream stream(stream_bytes, test::PartsStream::split(stream_bytes.size(), 5));
  SaveResult result = save_handler(base + "/upload/streamed")->save_streamed(meta, &stream);
  BOOST_TEST(stream.reads == 5u);
  BOOST_REQUIRE(result.responses);

  const bj::object plain = server.seen(0);
  const bj::object streamed = server.seen(1);
  BOOST_TEST(streamed.at("url") == "/upload/streamed");
  BOOST_TEST(streamed.at("body_bytes") == plain.at("body_bytes"));
  const auto& parts = streamed.at("multipart").at("parts").as_array();
  const auto& plain_parts = plain.at("multipart").at("parts").as_array();
  BOOST_REQUIRE(parts.size() == plain_parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    for (const char* key : {"name", "filename", "content_type", "raw_headers", "bytes"}) {
      BOOST_TEST(parts[i].at(key) == plain_parts[i].at(key), "part " << i << " " << key);
    }
  }
  for (const char* key : {"closed", "preamble_bytes", "epilogue_bytes"}) {
    BOOST_TEST(streamed.at("multipart").at(key) == plain.at("multipart").at(key), key);
  }
  BOOST_TEST(read_file(server.out / "1" / "model.json") == read_file(server.out / "0" / "model.json"));
  BOOST_TEST(read_file(server.out / "1" / "model.weights.bin") == weights);
  BOOST_TEST(read_file(server.out / "1" / "model.weights.bin") == read_file(kGoldenStore / "router/model.weights.bin"));
}

BOOST_AUTO_TEST_CASE(a_source_failing_mid_upload_fails_the_save_and_serve_keeps_the_old_model) {
  TempDir dir;
  const fs::path store = dir.path() / "store";
  fs::create_directories(store);
  Serve serve(store);
  // 8 MiB: part 0 is on the wire (past any socket buffer) before part 2 fails.
  const std::string json =
      R"({"modelTopology":{"class_name":"Sequential","config":{}},"format":"layers-model","generatedBy":"test",)"
      R"("convertedBy":null,"weightsManifest":[{"paths":["w.bin"],)"
      R"("weights":[{"name":"a","shape":[2097152],"dtype":"float32"}]}]})";
  const ModelArtifacts model = modelport::parse_model_json(json, "big").artifacts;
  std::string big(8u << 20, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 7 + 3) & 0xff);
  const std::string url = serve.base + "/models/m";

  // The model already there.
  ModelArtifacts first = model;
  WeightData data;
  data.append(Buffer::copy_of(std::string_view(big)));
  first.weight_data = data;
  modelport::save(url, first, {}, env().routers);
  const auto stored = files_under(store);
  BOOST_REQUIRE(!stored.empty());
  std::map<std::string, std::string> before;
  for (const auto& f : stored) before[f] = read_file(store / f);

  std::string other = big;
  for (auto& c : other) c = static_cast<char>(~c);
  ModelArtifacts meta = model;
  meta.weight_data.reset();
  const std::string failing_bytes = other;
  test::PartsStream failing(failing_bytes, test::PartsStream::split(failing_bytes.size(), 4), std::size_t{2});
  ErrorCode code{};
  std::string e = error_message_of([&] { save_handler(url)->save_streamed(meta, &failing); }, &code);
  BOOST_TEST(contains(e, "test source: part 3 is unreadable"));
  BOOST_TEST((code == ErrorCode::unavailable));
  BOOST_TEST(failing.reads == 3u);  // parts 0 and 1 went out, part 2 failed, part 3 was never read

  // Neither a half model nor a changed one.
  BOOST_TEST(files_under(store) == stored);
  for (const auto& f : stored) BOOST_TEST(read_file(store / f) == before[f], f);
  const ModelArtifacts back = modelport::load(url + "/model.json", {}, env().routers);
  BOOST_TEST((concatenated(back) == big));
  // serve splits it into two 4 MiB shards of one group: a streamed load learns their sizes with
  // HEAD and reads each when asked.
  StreamedModel streamed = load_handler(url + "/model.json")->load_streamed();
  BOOST_REQUIRE(streamed.weights);
  BOOST_TEST(streamed.weights->part_sizes() == (std::vector<std::uint64_t>{4u << 20, 4u << 20}));
  std::string joined;
  for (const auto& part : drain_parts(*streamed.weights)) joined += part;
  BOOST_TEST((joined == big));

  // The same failure on a name that did not exist leaves nothing behind.
  const std::string failing_again_bytes = other;
  test::PartsStream failing_again(failing_again_bytes, test::PartsStream::split(failing_again_bytes.size(), 4), std::size_t{2});
  e = error_message_of([&] { save_handler(serve.base + "/models/new")->save_streamed(meta, &failing_again); });
  BOOST_TEST(contains(e, "test source: part 3 is unreadable"));
  BOOST_TEST(files_under(store) == stored);
  e = error_message_of([&] { modelport::load(serve.base + "/models/new/model.json", {}, env().routers); });
  BOOST_TEST(contains(e, "404"));
}

BOOST_AUTO_TEST_CASE(a_streamed_upload_refused_by_serve_reports_its_status) {
  TempDir dir;
  const fs::path store = dir.path() / "store";
  fs::create_directories(store);
  Serve serve(store, {"--max-upload", "1M"});
  const std::string json =
      R"({"modelTopology":{"class_name":"Sequential","config":{}},"format":"layers-model","generatedBy":"test",)"
      R"("convertedBy":null,"weightsManifest":[{"paths":["w.bin"],)"
      R"("weights":[{"name":"a","shape":[1048576],"dtype":"float32"}]}]})";
  const ModelArtifacts meta = modelport::parse_model_json(json, "w").artifacts;
  const std::string stream_bytes = std::string(4u << 20, 'w');
  test::PartsStream stream(stream_bytes, test::PartsStream::split(stream_bytes.size(), 4));
  ErrorCode code{};
  const std::string e = error_message_of([&] { save_handler(serve.base + "/models/big")->save_streamed(meta, &stream); }, &code);
  BOOST_TEST(contains(e, "BrowserHTTPRequest.save() failed due to HTTP response status 413."));
  BOOST_TEST(contains(e, serve.base + "/models/big"));
  BOOST_TEST((code == ErrorCode::quota_exceeded));
  BOOST_TEST(files_under(store).empty());
}

BOOST_AUTO_TEST_CASE(each_part_is_on_the_wire_before_the_next_is_read) {
  CountingServer server;
  const std::string json =
      R"({"modelTopology":{"class_name":"Sequential","config":{}},"format":"layers-model","generatedBy":"test",)"
      R"("convertedBy":null,"weightsManifest":[{"paths":["w.bin"],)"
      R"("weights":[{"name":"a","shape":[1048576],"dtype":"float32"}]}]})";
  const ModelArtifacts meta = modelport::parse_model_json(json, "w").artifacts;
  const std::string weights(4u << 20, 'w');
  // Before reading part i, parts 0..i-1 (and the request head) must have reached the server.
  struct Watching final : WeightStream {
    Watching(const std::string& w, const CountingServer& s)
        : WeightStream({1u << 20, 1u << 20, 1u << 20, 1u << 20}), bytes(w), server(s) {}
    const std::string& bytes;
    const CountingServer& server;
    std::vector<bool> on_the_wire;
    Buffer read_part(std::size_t index) override {
      on_the_wire.push_back(server.wait_for(std::uint64_t(index) << 20));
      if (index == 3) throw Error(ErrorCode::unavailable, "the test source stops at part 3");
      return Buffer::copy_of(std::string_view(bytes).substr(index << 20, 1u << 20));
    }
  } stream(weights, server);
  const std::string e = error_message_of([&] { save_handler(server.url("/up"))->save_streamed(meta, &stream); });
  BOOST_TEST(contains(e, "the test source stops at part 3"));
  BOOST_TEST(stream.on_the_wire == (std::vector<bool>{true, true, true, true}), "a part was held back");
  // The connection was dropped mid-body: the server saw fewer bytes than the Content-Length.
  for (int i = 0; i < 500 && !server.closed_by_peer(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  BOOST_TEST(server.closed_by_peer());
  BOOST_TEST(server.received() < (4u << 20));
}

BOOST_AUTO_TEST_CASE(a_streamed_upload_is_not_sent_twice) {
  // 503 after the whole streamed body: an in-memory upload would be repeated, a streamed one
  // cannot be and reports the status; a 307 cannot be followed either.
  ScriptedServer server([](int fd, const Request& r) {
    if (r.target == "/busy") return respond(fd, 503, "Service Unavailable", {{"Content-Type", "text/plain"}}, "busy\n");
    if (r.target == "/moved") return respond(fd, 307, "Temporary Redirect", {{"Location", "/elsewhere"}}, "");
    return respond(fd, 200, "OK", {{"Content-Type", "application/json"}}, "{}");
  });
  ModelArtifacts meta = modelport::parse_model_json(sharded().json, "sharded").artifacts;
  std::string weights;
  for (const auto& f : sharded().order) weights += sharded().shards.at(f);
  SaveOptions o;
  o.plugin_options = {{"retries", "2"}, {"retry_delay_ms", "1"}};

  const std::string busy_bytes = weights;
  test::PartsStream busy(busy_bytes, test::PartsStream::split(busy_bytes.size(), 3));
  std::string e = error_message_of([&] { save_handler(server.url("/busy"), o)->save_streamed(meta, &busy); });
  BOOST_TEST(contains(e, "HTTP response status 503"));
  BOOST_TEST(server.hits("/busy") == 1);

  const std::string moved_bytes = weights;
  test::PartsStream moved(moved_bytes, test::PartsStream::split(moved_bytes.size(), 3));
  e = error_message_of([&] { save_handler(server.url("/moved"), o)->save_streamed(meta, &moved); });
  BOOST_TEST(contains(e, "redirects the upload to " + server.url("/elsewhere")));
  BOOST_TEST(contains(e, "cannot be sent again"));
  BOOST_TEST(server.hits("/elsewhere") == 0);

  // The same model with its weights in memory is retried after a 503 (the body can be resent).
  ModelArtifacts in_memory = meta;
  WeightData data;
  data.append(Buffer::copy_of(std::string_view(weights)));
  in_memory.weight_data = data;
  error_message_of([&] { modelport::save(server.url("/busy"), in_memory, o, env().routers); });
  BOOST_TEST(server.hits("/busy") == 1 + 3);

  // And a streamed save that succeeds carries every byte.
  const std::string fine_bytes = weights;
  test::PartsStream fine(fine_bytes, test::PartsStream::split(fine_bytes.size(), 4));
  save_handler(server.url("/ok"))->save_streamed(meta, &fine);
  const Request last = server.requests().back();
  BOOST_TEST(last.target == "/ok");
  BOOST_TEST(last.body.find(weights) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(load_streamed_fetches_each_shard_when_asked) {
  ShardServer s;
  StreamedModel model = load_handler(s.server.url("/m/model.json"))->load_streamed();
  BOOST_REQUIRE(model.weights);
  BOOST_TEST(!model.artifacts.weight_data.has_value());
  // Sizes known up front: the lone shard's from the manifest, the others' from HEAD.
  BOOST_TEST(model.weights->part_sizes() == (std::vector<std::uint64_t>{4096, 4096, 1808, 400}));
  BOOST_TEST(s.all_gets() == 0);
  for (std::size_t i = 0; i < sharded().order.size(); ++i) {
    auto part = model.weights->next();
    BOOST_REQUIRE(part.has_value());
    BOOST_TEST(std::string(part->view()) == sharded().shards.at(sharded().order[i]));
    // Only the shards asked for so far were fetched, each once.
    for (std::size_t j = 0; j < sharded().order.size(); ++j) {
      BOOST_TEST(s.gets(sharded().order[j]) == (j <= i ? 1 : 0), "after part " << i << ", shard " << j);
    }
  }
  BOOST_TEST(!model.weights->next().has_value());
}

BOOST_AUTO_TEST_CASE(fills_outlive_the_handler_and_reuse_one_connection) {
  ShardServer s;
  StreamedModel model;
  {
    HandlerPtr handler = load_handler(s.server.url("/m/model.json"));
    model = handler->load_streamed();
  }  // the handler (and its Context) are gone before any fill runs
  const int connections_before = s.server.connections();
  std::string all;
  for (const auto& part : drain_parts(*model.weights)) all += part;
  std::string expected;
  for (const auto& f : sharded().order) expected += sharded().shards.at(f);
  BOOST_TEST(all == expected);
  BOOST_TEST(s.server.connections() - connections_before == 1);  // one keep-alive connection for every fill
}

BOOST_AUTO_TEST_CASE(without_head_the_shards_load_in_parallel_instead) {
  ShardServer s;
  s.head_allowed = false;
  StreamedModel model = load_handler(s.server.url("/m/model.json"))->load_streamed();
  BOOST_TEST(s.all_gets() == 4);  // fetched during the load: sizes could not be known otherwise
  std::string all;
  for (const auto& part : drain_parts(*model.weights)) all += part;
  std::string expected;
  for (const auto& f : sharded().order) expected += sharded().shards.at(f);
  BOOST_TEST(all == expected);
  BOOST_TEST(s.all_gets() == 4);
}

BOOST_AUTO_TEST_CASE(a_failing_deferred_fill_names_the_shard_url) {
  for (const std::string how : {"404", "short", "long"}) {
    BOOST_TEST_CONTEXT(how) {
      ShardServer s;
      s.broken = {{"g1-2.bin", how}};
      StreamedModel model = load_handler(s.server.url("/m/model.json"), quick_retries())->load_streamed();
      s.broken_now = true;  // the shard changes after the load
      BOOST_REQUIRE(model.weights->next().has_value());
      ErrorCode code{};
      const std::string e = error_message_of([&] { model.weights->next(); }, &code);
      BOOST_TEST(contains(e, s.server.url("/m/g1-2.bin")));
      if (how == "404") {
        BOOST_TEST(contains(e, "404"));
        BOOST_TEST((code == ErrorCode::not_found));
        BOOST_TEST(s.gets("g1-2.bin") == 1);  // a 404 is not retried
      } else if (how == "short") {
        BOOST_TEST(contains(e, "truncated body"));
        BOOST_TEST(contains(e, "100 of 4096 bytes"));
        BOOST_TEST(s.gets("g1-2.bin") == 2);  // retried once, then named
      } else {
        BOOST_TEST(contains(e, "4101"));
        BOOST_TEST((code == ErrorCode::corrupt));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(deferred_fills_retry_and_follow_redirects) {
  ShardServer s;
  s.broken = {{"g1-2.bin", "503 once"}, {"g2-1.bin", "redirect"}};
  StreamedModel model = load_handler(s.server.url("/m/model.json"), quick_retries())->load_streamed();
  s.broken_now = true;
  std::string all;
  for (const auto& part : drain_parts(*model.weights)) all += part;
  std::string expected;
  for (const auto& f : sharded().order) expected += sharded().shards.at(f);
  BOOST_TEST(all == expected);
  BOOST_TEST(s.gets("g1-2.bin") == 2);  // the 503, then the shard
  BOOST_TEST(s.server.hits("/elsewhere/g2-1.bin") == 1);
}

BOOST_AUTO_TEST_CASE(load_streamed_from_nginx_gives_the_shard_files) {
  TempDir dir;
  Nginx nginx(dir.path() / "nginx", fixtures_dir());
  for (const std::string m : {"real/human-age/age.json", "synthetic/quantized-layers/model.json"}) {
    BOOST_TEST_CONTEXT(m) {
      const std::string url = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/" + m;
      StreamedModel model = load_handler(url)->load_streamed();
      BOOST_REQUIRE(model.weights);
      const bj::value json = bj::parse(read_file(fixtures_dir() / m));
      std::vector<std::string> files;
      for (const auto& group : json.at("weightsManifest").as_array()) {
        for (const auto& p : group.at("paths").as_array()) {
          files.push_back(read_file((fixtures_dir() / m).parent_path() / std::string(p.as_string())));
        }
      }
      BOOST_TEST(drain_parts(*model.weights) == files);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_shard_rewritten_after_the_load_is_not_mixed_in) {
  TempDir dir;
  const fs::path root = dir.path() / "www";
  fs::create_directories(root / "m");
  fs::copy(fixtures_dir() / "synthetic/quantized-layers", root / "m", fs::copy_options::recursive);
  Nginx nginx(dir.path() / "nginx", root);
  const std::string url = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/m/model.json";
  StreamedModel model = load_handler(url)->load_streamed();
  BOOST_REQUIRE(model.weights);
  BOOST_REQUIRE(model.weights->next().has_value());
  // The model is replaced: same sizes, other bytes, written after the load (a later mtime).
  const fs::path shard = root / "m/group1-shard2of3.bin";
  std::string other = read_file(shard);
  for (auto& c : other) c = static_cast<char>(~c);
  std::ofstream(shard, std::ios::binary | std::ios::trunc) << other;
  fs::last_write_time(shard, fs::file_time_type::clock::now() + std::chrono::seconds(5));
  const std::string e = error_message_of([&] { model.weights->next(); });
  BOOST_TEST(contains(e, "http://127.0.0.1:" + std::to_string(nginx.port()) + "/m/group1-shard2of3.bin"));
  BOOST_TEST(contains(e, "412"));
  BOOST_TEST(contains(e, "changed while it was being copied"));
}

BOOST_AUTO_TEST_CASE(a_big_shard_from_nginx_streams_in_windows_and_keeps_its_layout) {
  // 40 MiB in one weights.bin, served by nginx (Accept-Ranges: bytes): parts of 16 MiB read
  // with Range requests, and a copy that still sees (and writes) one shard.
  TempDir dir;
  const fs::path root = dir.path() / "www";
  fs::create_directories(root / "m");
  const std::string shard = random_bytes(40u << 20);
  std::ofstream(root / "m/model.json", std::ios::binary) << one_shard_model_json(shard.size());
  std::ofstream(root / "m/weights.bin", std::ios::binary) << shard;
  Nginx nginx(dir.path() / "nginx", root);
  const std::string url = "http://127.0.0.1:" + std::to_string(nginx.port()) + "/m/model.json";

  StreamedModel model = load_handler(url)->load_streamed();
  BOOST_REQUIRE(model.weights);
  BOOST_TEST((model.weights->part_sizes() == std::vector<std::uint64_t>{16u << 20, 16u << 20, 8u << 20}));
  BOOST_TEST((model.weights->shard_sizes() == std::vector<std::uint64_t>{40u << 20}));
  std::string joined;
  for (const auto& part : drain_parts(*model.weights)) joined += part;
  BOOST_TEST((joined == shard));

  // A copy keeping the layout writes one weights.bin with the same bytes, not 16 MiB shards.
  SaveOptions keep;
  keep.keep_shard_layout = true;
  const fs::path copy = dir.path() / "copy";
  copy_model(url, "file://" + copy.string(), {}, keep, env().routers);
  const auto files = files_under(copy);
  BOOST_TEST((files == std::vector<std::string>{"model.json", "weights.bin"}));
  BOOST_TEST((read_file(copy / "weights.bin") == shard));
}

BOOST_AUTO_TEST_CASE(a_big_shard_without_accept_ranges_stays_one_part) {
  BigShardServer s(random_bytes(20u << 20), "none");
  StreamedModel model = load_handler(s.server.url("/big/model.json"))->load_streamed();
  BOOST_REQUIRE(model.weights);
  BOOST_TEST((model.weights->part_sizes() == std::vector<std::uint64_t>{20u << 20}));
  BOOST_TEST((model.weights->shard_sizes() == std::vector<std::uint64_t>{20u << 20}));
  const auto parts = drain_parts(*model.weights);
  BOOST_REQUIRE(parts.size() == 1u);
  BOOST_TEST((parts[0] == s.shard));
  BOOST_TEST((s.ranges_asked() == std::vector<std::string>{""}));  // one plain GET
}

BOOST_AUTO_TEST_CASE(a_200_to_a_range_request_fails_the_fill_naming_the_url) {
  BigShardServer s(random_bytes(20u << 20), "ignored");
  StreamedModel model = load_handler(s.server.url("/big/model.json"), quick_retries())->load_streamed();
  BOOST_REQUIRE(model.weights);
  BOOST_TEST((model.weights->part_sizes() == std::vector<std::uint64_t>{16u << 20, 4u << 20}));
  ErrorCode code{};
  const std::string e = error_message_of([&] { model.weights->next(); }, &code);
  BOOST_TEST(contains(e, s.server.url("/big/weights.bin")));
  BOOST_TEST(contains(e, "bytes=0-16777215"));
  BOOST_TEST(contains(e, "answered 200 instead of 206"));
  BOOST_TEST((code == ErrorCode::unavailable));
  BOOST_TEST((s.ranges_asked() == std::vector<std::string>{"bytes=0-16777215"}));  // not retried
}

BOOST_AUTO_TEST_CASE(a_206_for_a_shard_of_another_size_fails_the_fill) {
  BigShardServer s(random_bytes(20u << 20), "wrong total");
  StreamedModel model = load_handler(s.server.url("/big/model.json"), quick_retries())->load_streamed();
  BOOST_REQUIRE(model.weights);
  ErrorCode code{};
  const std::string e = error_message_of([&] { model.weights->next(); }, &code);
  BOOST_TEST(contains(e, s.server.url("/big/weights.bin")));
  BOOST_TEST(contains(e, "bytes 0-16777215/20971521"));
  BOOST_TEST(contains(e, "changed while it was being copied"));
  BOOST_TEST((code == ErrorCode::corrupt));
}

BOOST_AUTO_TEST_CASE(https_streamed_save_and_load) {
  TempDir dir;
  const TestCerts certs = make_test_certs(dir.path() / "certs");
  CaptureServer capture(dir.path() / "seen", &certs);
  const ModelArtifacts model = modelport::load("file://" + (kGoldenStore / "router/model.json").string(), {}, env().routers);
  ModelArtifacts meta = model;
  meta.weight_data.reset();
  const std::string stream_bytes = concatenated(model);
  test::PartsStream stream(stream_bytes, test::PartsStream::split(stream_bytes.size(), 3));
  SaveOptions save_options;
  save_options.plugin_options = {{"ca_file", certs.ca.string()}};
  save_handler("https://localhost:" + std::to_string(capture.port) + "/upload/tls", save_options)->save_streamed(meta, &stream);
  BOOST_TEST(read_file(capture.out / "0" / "model.weights.bin") == read_file(kGoldenStore / "router/model.weights.bin"));
  BOOST_TEST(read_file(capture.out / "0" / "model.json") == read_file(kGoldenStore / "router/model.json"));

  Nginx nginx(dir.path() / "nginx", fixtures_dir(), &certs);
  LoadOptions load_options;
  load_options.plugin_options = {{"ca_file", certs.ca.string()}};
  const std::string m = "synthetic/quantized-layers/model.json";
  StreamedModel streamed =
      load_handler("https://localhost:" + std::to_string(nginx.tls_port()) + "/" + m, load_options)->load_streamed();
  BOOST_REQUIRE(streamed.weights);
  std::string joined;
  for (const auto& part : drain_parts(*streamed.weights)) joined += part;
  BOOST_TEST(joined == concatenated(modelport::load("file://" + (fixtures_dir() / m).string(), {}, env().routers)));
}

BOOST_AUTO_TEST_SUITE_END()
