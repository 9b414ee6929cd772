// The http plugin's socket-free logic: URLs (tfjs's parseUrl and shard URL rules), options,
// manifest sizes, response classification and checks, and the multipart layout of a save.
#include <boost/test/unit_test.hpp>

#include "http_logic.hpp"
#include "response_parse.hpp"

#include <modelport/plugin.hpp>

#include <map>

using namespace modelport::http_plugin;
namespace sdk = modelport::sdk;

namespace {

std::string error_text(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const sdk::Error& e) {
    return e.what();
  }
  return "(no error)";
}

Settings settings_from(std::map<std::string, std::string> options) {
  return parse_settings([&](std::string_view key) -> std::optional<std::string_view> {
    auto it = options.find(std::string(key));
    if (it == options.end()) return std::nullopt;
    return std::string_view(it->second);
  });
}

}  // namespace

BOOST_AUTO_TEST_SUITE(urls)

BOOST_AUTO_TEST_CASE(parse_url_matches_the_spec_examples) {
  using P = std::pair<std::string, std::string>;
  BOOST_TEST((split_prefix_suffix("http://google.com/file") == P{"http://google.com/", ""}));
  BOOST_TEST((split_prefix_suffix("http://google.com/file?param=1") == P{"http://google.com/", "?param=1"}));
  BOOST_TEST((split_prefix_suffix("http://google.com/a?x=1/file?param=1") == P{"http://google.com/a?x=1/", "?param=1"}));
  BOOST_TEST((split_prefix_suffix("./model.json") == P{"./", ""}));
  BOOST_TEST((split_prefix_suffix("path1/model.json") == P{"path1/", ""}));
  BOOST_TEST((split_prefix_suffix("model.json") == P{"/", ""}));
}

BOOST_AUTO_TEST_CASE(shard_urls_concatenate_without_normalizing) {
  auto urls = shard_urls("http://h/dir/model.json?v=2", {"./model.weights.bin", "g1-shard2of2.bin"}, std::nullopt);
  BOOST_TEST(urls.at(0) == "http://h/dir/./model.weights.bin?v=2");
  BOOST_TEST(urls.at(1) == "http://h/dir/g1-shard2of2.bin?v=2");
  // A weight path prefix replaces the folder, with no slash inserted; the query still follows.
  urls = shard_urls("http://h/dir/model.json?v=2", {"a.bin"}, std::string_view("https://cdn/w"));
  BOOST_TEST(urls.at(0) == "https://cdn/wa.bin?v=2");
  // An empty prefix counts as none.
  urls = shard_urls("http://h/dir/model.json", {"a.bin"}, std::string_view(""));
  BOOST_TEST(urls.at(0) == "http://h/dir/a.bin");
}

BOOST_AUTO_TEST_CASE(endpoints) {
  Endpoint e = parse_endpoint("http://Example.COM/a/b.json?x=1#frag");
  BOOST_TEST(!e.tls);
  BOOST_TEST(e.host == "example.com");
  BOOST_TEST(e.port == 80);
  BOOST_TEST(e.target == "/a/b.json?x=1");
  BOOST_TEST(e.host_header == "example.com");
  e = parse_endpoint("https://127.0.0.1:8443");
  BOOST_TEST(e.tls);
  BOOST_TEST(e.port == 8443);
  BOOST_TEST(e.target == "/");
  BOOST_TEST(e.host_header == "127.0.0.1:8443");
  e = parse_endpoint("http://[::1]:81/m.json");
  BOOST_TEST(e.host == "::1");
  BOOST_TEST(e.host_header == "[::1]:81");
  // Characters fetch would encode are encoded, not rejected.
  e = parse_endpoint("http://h/my dir/shard \"1\".bin");
  BOOST_TEST(e.target == "/my%20dir/shard%20%221%22.bin");
  BOOST_TEST(parse_endpoint("https://h:443/x").connection_key() == parse_endpoint("https://h/y").connection_key());
  BOOST_TEST(parse_endpoint("http://h/x").connection_key() != parse_endpoint("https://h/x").connection_key());
}

BOOST_AUTO_TEST_CASE(bad_endpoints_name_the_url) {
  BOOST_TEST(error_text([] { parse_endpoint("ftp://h/x"); }).find("'ftp://h/x' is not an http") != std::string::npos);
  BOOST_TEST(error_text([] { parse_endpoint("http:///x"); }).find("has no host") != std::string::npos);
  BOOST_TEST(error_text([] { parse_endpoint("http://h:99999/x"); }).find("invalid port") != std::string::npos);
  BOOST_TEST(error_text([] { parse_endpoint("http://u:p@h/x"); }).find("Authorization header") != std::string::npos);
  BOOST_TEST(error_text([] { parse_endpoint("http://h:0/x"); }).find("invalid port") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(redirect_locations_resolve_against_the_request) {
  BOOST_TEST(resolve_location("http://h/a/b/model.json", "../c/x.bin") == "http://h/a/c/x.bin");
  BOOST_TEST(resolve_location("http://h/a/model.json", "/root.bin") == "http://h/root.bin");
  BOOST_TEST(resolve_location("http://h/a/model.json", "https://o:1/z#f") == "https://o:1/z");
  BOOST_TEST(resolve_location("http://h/a/model.json?q=1", "?q=2") == "http://h/a/model.json?q=2");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(options)

BOOST_AUTO_TEST_CASE(defaults_and_values) {
  Settings d = settings_from({});
  BOOST_TEST(d.connections == 8u);
  BOOST_TEST(d.retries == 3u);
  BOOST_TEST(d.timeout.count() == 30000);
  BOOST_TEST(d.max_redirects == 5u);
  BOOST_TEST(!d.insecure);
  Settings s = settings_from({{"connections", "1"}, {"timeout_ms", "250"}, {"retries", "0"}, {"insecure", "1"},
                              {"ca_file", "/x/ca.pem"}, {"max_redirects", "2"}, {"retry_delay_ms", "5"}});
  BOOST_TEST(s.connections == 1u);
  BOOST_TEST(s.timeout.count() == 250);
  BOOST_TEST(s.retries == 0u);
  BOOST_TEST(s.insecure);
  BOOST_TEST(s.ca_file == "/x/ca.pem");
  BOOST_TEST(s.max_redirects == 2u);
  BOOST_TEST(s.retry_delay.count() == 5);
}

BOOST_AUTO_TEST_CASE(bad_values_are_named) {
  BOOST_TEST(error_text([] { settings_from({{"connections", "0"}}); }).find("connections='0'") != std::string::npos);
  BOOST_TEST(error_text([] { settings_from({{"connections", "65"}}); }).find("from 1 to 64") != std::string::npos);
  BOOST_TEST(error_text([] { settings_from({{"timeout_ms", "12x"}}); }).find("timeout_ms='12x'") != std::string::npos);
  BOOST_TEST(error_text([] { settings_from({{"retries", "-1"}}); }).find("retries") != std::string::npos);
  BOOST_TEST(error_text([] { settings_from({{"insecure", "yes"}}); }).find("insecure='yes'") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(manifest)

BOOST_AUTO_TEST_CASE(group_sizes_from_specs) {
  const std::string json = R"({"modelTopology":{},"weightsManifest":[
    {"paths":["a1","a2"],"weights":[{"name":"k","shape":[10,3],"dtype":"float32"},{"name":"b","shape":[3],"dtype":"int32"}]},
    {"paths":["b1"],"weights":[{"name":"q","shape":[5],"dtype":"float32","quantization":{"dtype":"uint8","scale":1,"min":0}},
                               {"name":"h","shape":[2,2],"dtype":"float32","quantization":{"dtype":"float16"}},
                               {"name":"f","shape":[],"dtype":"bool"},{"name":"c","shape":[2],"dtype":"complex64"}]},
    {"paths":["c1"],"weights":[{"name":"s","shape":[2],"dtype":"string"}]}]})";
  ManifestLayout m = manifest_layout(json);
  BOOST_TEST((m.group_of_shard == std::vector<std::size_t>{0, 0, 1, 2}));
  BOOST_REQUIRE(m.group_bytes.size() == 3u);
  BOOST_TEST(*m.group_bytes[0] == 132u);
  BOOST_TEST(*m.group_bytes[1] == 5u + 8u + 1u + 16u);
  BOOST_TEST(!m.group_bytes[2].has_value());  // strings have no fixed size
  // A bare manifest array works too, and junk yields nothing rather than throwing.
  BOOST_TEST(manifest_layout(R"([{"paths":["x"],"weights":[]}])").group_of_shard.size() == 1u);
  BOOST_TEST(manifest_layout("not json").group_of_shard.empty());
  BOOST_TEST(manifest_layout(R"({"weightsManifest":[{"paths":"x"}]})").group_of_shard.empty());
  BOOST_TEST(!manifest_layout(R"({"weightsManifest":[{"paths":["x"],"weights":[{"shape":[-1],"dtype":"float32"}]}]})")
                  .group_bytes.at(0)
                  .has_value());
}

BOOST_AUTO_TEST_CASE(group_size_problems_name_the_shards) {
  ManifestLayout m;
  m.group_of_shard = {0, 0, 1};
  m.group_bytes = {std::uint64_t(100), std::nullopt};
  std::vector<std::string> urls{"http://h/a", "http://h/b", "http://h/c"};
  BOOST_TEST(!group_size_problem(m, urls, {60, 40, 7}));
  auto p = group_size_problem(m, urls, {60, 39, 7});
  BOOST_REQUIRE(p);
  BOOST_TEST(p->find("hold 99 bytes") != std::string::npos);
  BOOST_TEST(p->find("need 100") != std::string::npos);
  BOOST_TEST(p->find("http://h/b (39 bytes)") != std::string::npos);
  BOOST_TEST(p->find("http://h/c") == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(responses)

BOOST_AUTO_TEST_CASE(classification) {
  BOOST_TEST((classify(200) == Disposition::success));
  BOOST_TEST((classify(206) == Disposition::success));
  for (unsigned s : {301u, 302u, 303u, 307u, 308u}) BOOST_TEST((classify(s) == Disposition::redirect));
  for (unsigned s : {500u, 502u, 503u, 504u, 429u}) BOOST_TEST((classify(s) == Disposition::retry));
  for (unsigned s : {400u, 401u, 403u, 404u, 410u, 304u, 300u, 100u}) BOOST_TEST((classify(s) == Disposition::fail));
}

BOOST_AUTO_TEST_CASE(failure_messages_carry_status_url_and_snippet) {
  ResponseHead h;
  h.status = 404;
  h.reason = "Not Found";
  std::string m = describe_status_failure("GET", "http://h/x.bin", h, "<html>\r\n<body>nothing\there</body>\x01</html>");
  BOOST_TEST(m == "HTTP 404 Not Found from GET http://h/x.bin: <html> <body>nothing here</body>?</html>");
  BOOST_TEST(body_snippet(std::string(500, 'a'), 10) == "aaaaaaaaaa...");
}

BOOST_AUTO_TEST_CASE(shard_heads) {
  ResponseHead h;
  h.status = 200;
  h.content_type = "text/html; charset=utf-8";
  BOOST_TEST(shard_head_problem(h, std::nullopt)->find("HTML page") != std::string::npos);
  h.content_type = "application/octet-stream";
  h.content_length = 101;
  BOOST_TEST(shard_head_problem(h, std::uint64_t(100))->find("declares 101 bytes") != std::string::npos);
  BOOST_TEST(!shard_head_problem(h, std::uint64_t(101)));
  BOOST_TEST(!shard_head_problem(h, std::nullopt));
}

BOOST_AUTO_TEST_CASE(backoff) {
  Settings s;
  s.retry_delay = std::chrono::milliseconds(100);
  BOOST_TEST(backoff_delay(s, 1, "").count() == 100);
  BOOST_TEST(backoff_delay(s, 3, "").count() == 400);
  BOOST_TEST(backoff_delay(s, 20, "").count() == 10000);
  BOOST_TEST(backoff_delay(s, 1, "2").count() == 2000);
  BOOST_TEST(backoff_delay(s, 1, "3600").count() == 100);  // an hour is not worth waiting for
}

BOOST_AUTO_TEST_CASE(parsed_responses_content_length_and_chunked) {
  ParsedResponse r = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Type: application/octet-stream\r\n\r\nhello", 100);
  BOOST_TEST(r.complete);
  BOOST_TEST(r.body == "hello");
  BOOST_TEST(*r.head.content_length == 5u);
  BOOST_TEST(!shard_response_problem("http://h/s", r, std::uint64_t(5)));
  BOOST_TEST(shard_response_problem("http://h/s", r, std::uint64_t(4))->find("http://h/s") != std::string::npos);

  r = parse_response("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n", 100);
  BOOST_TEST(r.complete);
  BOOST_TEST(r.head.chunked);
  BOOST_TEST(r.body == "abcde");

  r = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", 100);
  BOOST_TEST(!r.complete);
  BOOST_TEST(shard_response_problem("http://h/s", r, std::nullopt)->find("truncated") != std::string::npos);

  r = parse_response("HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<h1>x</h1", 100);
  BOOST_TEST(r.complete);
  BOOST_TEST(shard_response_problem("http://h/s", r, std::nullopt)->find("HTTP 404 Not Found from GET http://h/s") !=
             std::string::npos);

  r = parse_response("HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n" + std::string(200, 'x'), 100);
  BOOST_TEST(!r.complete);  // over the body limit
  r = parse_response("garbage", 100);
  BOOST_TEST(!r.complete);
  BOOST_TEST(!r.error.empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(multipart)

BOOST_AUTO_TEST_CASE(layout_like_undici) {
  MultipartLayout m = multipart_layout(R"({"a":1})", true, 4, "----B");
  BOOST_TEST(m.content_type == "multipart/form-data; boundary=----B");
  const std::string whole = m.head + "WXYZ" + m.tail;
  BOOST_TEST(whole ==
             "------B\r\nContent-Disposition: form-data; name=\"model.json\"; filename=\"model.json\"\r\n"
             "Content-Type: application/json\r\n\r\n{\"a\":1}\r\n"
             "------B\r\nContent-Disposition: form-data; name=\"model.weights.bin\"; filename=\"model.weights.bin\"\r\n"
             "Content-Type: application/octet-stream\r\n\r\nWXYZ\r\n------B--\r\n");
  BOOST_TEST(m.content_length == whole.size());

  MultipartLayout t = multipart_layout("{}", false, 0, "----B");
  BOOST_TEST(t.head + t.tail ==
             "------B\r\nContent-Disposition: form-data; name=\"model.json\"; filename=\"model.json\"\r\n"
             "Content-Type: application/json\r\n\r\n{}\r\n------B--\r\n");
  BOOST_TEST(t.content_length == (t.head + t.tail).size());
}

BOOST_AUTO_TEST_CASE(byte_ranges_are_offered_and_checked_exactly) {
  BOOST_TEST(offers_byte_ranges("bytes"));
  BOOST_TEST(offers_byte_ranges(" Bytes "));
  BOOST_TEST(offers_byte_ranges("other, bytes"));
  BOOST_TEST(!offers_byte_ranges("none"));
  BOOST_TEST(!offers_byte_ranges(""));
  BOOST_TEST(!offers_byte_ranges("bytesx"));
  BOOST_TEST(byte_range_request(16, 31) == "bytes=16-31");

  BOOST_TEST(!content_range_problem("bytes 16-31/40", 16, 31, 40));
  BOOST_TEST(!content_range_problem("BYTES  16-31/40 ", 16, 31, 40));
  for (const char* bad : {"bytes 16-31/41", "bytes 15-31/40", "bytes 16-30/40", "bytes 16-31/*", "bytes */40",
                          "items 16-31/40", "bytes 16-31", "bytes=16-31/40"}) {
    auto problem = content_range_problem(bad, 16, 31, 40);
    BOOST_REQUIRE_MESSAGE(problem.has_value(), bad);
    BOOST_TEST(problem->find("bytes 16-31/40") != std::string::npos, *problem);
  }
  BOOST_TEST(content_range_problem("", 16, 31, 40)->find("no Content-Range") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(boundaries_are_random) {
  const std::string a = random_boundary(), b = random_boundary();
  BOOST_TEST(a != b);
  BOOST_TEST(a.size() == std::string("----modelport-formdata-").size() + 24);
}

BOOST_AUTO_TEST_SUITE_END()
