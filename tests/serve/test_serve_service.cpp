// The HTTP-free parts of `modelport serve`: model paths, Range and If-None-Match, the token
// check, uploads to artifacts, and the served form of a model.
#include <model_service.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using namespace modelport;
using namespace modelport::serve;

namespace {

int status_of(const std::function<void()>& fn, std::string* code = nullptr) {
  try {
    fn();
  } catch (const ServeError& e) {
    if (code) *code = e.code();
    return e.status();
  }
  return 0;
}

std::string upload_body(const std::string& json, const std::optional<std::string>& weights, const std::string& extra = {}) {
  std::string body = "--XyZ\r\nContent-Disposition: form-data; name=\"model.json\"; filename=\"model.json\"\r\n"
                     "Content-Type: application/json\r\n\r\n" + json + "\r\n";
  if (weights) {
    body += "--XyZ\r\nContent-Disposition: form-data; name=\"model.weights.bin\"; filename=\"model.weights.bin\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n" + *weights + "\r\n";
  }
  return body + extra + "--XyZ--\r\n";
}

const std::string kModelJson =
    R"({"modelTopology":{"class_name":"Sequential"},"format":"layers-model","generatedBy":"TensorFlow.js tfjs-layers v4.22.0",)"
    R"("convertedBy":null,"weightsManifest":[{"paths":["./model.weights.bin"],"weights":[{"name":"w","shape":[2],"dtype":"float32"}]}]})";
const std::string kType = "multipart/form-data; boundary=XyZ";

}  // namespace

BOOST_AUTO_TEST_CASE(model_paths) {
  BOOST_TEST(parse_model_path("/models").segments.empty());
  BOOST_TEST(parse_model_path("/models/").segments.empty());
  BOOST_TEST(parse_model_path("/models/a/b/model.json?x=1").segments == (std::vector<std::string>{"a", "b", "model.json"}));
  BOOST_TEST(parse_model_path("/models/caf%C3%A9%20x").segments == (std::vector<std::string>{"caf\xc3\xa9 x"}));
  BOOST_TEST(join_segments(parse_model_path("/models/a/b").segments) == "a/b");
  for (const char* bad : {"/models/..", "/models/a/../b", "/models/%2e%2e/x", "/models/%2E%2e", "/models/.", "/models/a//b",
                          "/models/a/", "/models/a%2fb", "/models/a%2Fb", "/models/a%5cb", "/models/a\\b", "/models/a%00b",
                          "/models/a%0ab", "/models/%zz", "models/a", "http://h/models/a"}) {
    std::string code;
    int status = status_of([&] { parse_model_path(bad); }, &code);
    BOOST_TEST((status == 400), bad << " gave status " << status);
  }
  BOOST_TEST(status_of([] { parse_model_path("/other/a"); }) == 404);
  BOOST_TEST(status_of([] { parse_model_path("/models/" + std::string(256, 'a')); }) == 400);
}

BOOST_AUTO_TEST_CASE(ranges) {
  auto r = parse_range("bytes=0-9", 100);
  BOOST_TEST((r.kind == RangeRequest::partial && r.offset == 0 && r.length == 10));
  r = parse_range("bytes=90-", 100);
  BOOST_TEST((r.kind == RangeRequest::partial && r.offset == 90 && r.length == 10));
  r = parse_range("bytes=-5", 100);
  BOOST_TEST((r.kind == RangeRequest::partial && r.offset == 95 && r.length == 5));
  r = parse_range("bytes=-500", 100);
  BOOST_TEST((r.kind == RangeRequest::partial && r.offset == 0 && r.length == 100));
  r = parse_range("bytes=50-1000", 100);
  BOOST_TEST((r.kind == RangeRequest::partial && r.offset == 50 && r.length == 50));
  BOOST_TEST(parse_range("bytes=0-1,5-6", 100).kind == RangeRequest::whole);
  BOOST_TEST(parse_range("items=0-1", 100).kind == RangeRequest::whole);
  for (const char* bad : {"bytes=100-", "bytes=5-2", "bytes=-0", "bytes=a-b", "bytes=", "bytes=1", "bytes=--1", "bytes=99999999999999999999-"}) {
    BOOST_TEST((parse_range(bad, 100).kind == RangeRequest::unsatisfiable), bad);
  }
  BOOST_TEST(parse_range("bytes=0-0", 0).kind == RangeRequest::unsatisfiable);
}

BOOST_AUTO_TEST_CASE(etags_and_tokens) {
  BOOST_TEST(etag_matches("\"abc\"", "\"abc\""));
  BOOST_TEST(etag_matches("\"x\", W/\"abc\"", "\"abc\""));
  BOOST_TEST(etag_matches("*", "\"abc\""));
  BOOST_TEST(!etag_matches("\"abd\"", "\"abc\""));
  BOOST_TEST(bearer_token_matches("Bearer s3cret", "s3cret"));
  BOOST_TEST(bearer_token_matches("bearer s3cret", "s3cret"));
  BOOST_TEST(!bearer_token_matches("Bearer s3cre", "s3cret"));
  BOOST_TEST(!bearer_token_matches("Bearer s3crett", "s3cret"));
  BOOST_TEST(!bearer_token_matches("Basic s3cret", "s3cret"));
  BOOST_TEST(!bearer_token_matches("", "s3cret"));
}

BOOST_AUTO_TEST_CASE(upload_to_artifacts_keeps_weights_in_the_body) {
  const std::string weights("\x00\x00\x80\x3f\x00\x00\x00\x40", 8);
  Buffer body = Buffer::copy_of(upload_body(kModelJson, weights));
  ModelArtifacts a = artifacts_from_upload(body, kType, "test");
  BOOST_REQUIRE(a.weight_data.has_value());
  BOOST_REQUIRE_EQUAL(a.weight_data->buffers().size(), 1u);
  BOOST_TEST(a.weight_data->buffers()[0].view() == weights);
  BOOST_TEST(a.weight_data->buffers()[0].shares_memory_with(body));
  BOOST_REQUIRE(a.weight_specs.has_value());
  BOOST_TEST(a.weight_specs->at(0).name == "w");
  BOOST_TEST(json::stringify(*a.format) == "\"layers-model\"");
}

BOOST_AUTO_TEST_CASE(bad_uploads) {
  const std::string weights(8, '\0');
  auto code_of = [&](const std::string& body, const std::string& type = kType) {
    std::string code;
    int status = status_of([&] { artifacts_from_upload(Buffer::copy_of(body), type, "test"); }, &code);
    BOOST_TEST(status == 400);
    return code;
  };
  BOOST_TEST(code_of(upload_body(kModelJson, std::nullopt)) == "missing_part");
  BOOST_TEST(code_of("--XyZ\r\nContent-Disposition: form-data; name=\"model.weights.bin\"\r\n\r\n" + weights + "\r\n--XyZ--") ==
             "missing_part");
  BOOST_TEST(code_of(upload_body(kModelJson, weights, "--XyZ\r\nContent-Disposition: form-data; name=\"model.json\"\r\n\r\n{}\r\n")) ==
             "duplicate_part");
  BOOST_TEST(code_of(upload_body(kModelJson, weights, "--XyZ\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n{}\r\n")) ==
             "unexpected_part");
  BOOST_TEST(code_of(upload_body(kModelJson, std::string(7, '\0'))) == "bad_weights");
  BOOST_TEST(code_of(upload_body("{not json", weights)) == "bad_model_json");
  BOOST_TEST(code_of(upload_body("[]", weights)) == "bad_model_json");
  BOOST_TEST(code_of(upload_body(R"({"format":"x"})", weights)) == "bad_model_json");
  BOOST_TEST(code_of(upload_body(kModelJson, weights).substr(0, 100)) == "bad_multipart");
  BOOST_TEST(code_of(upload_body(kModelJson, weights), "multipart/form-data; boundary=other") == "bad_multipart");
}

BOOST_AUTO_TEST_CASE(served_model_shards_and_model_json) {
  // 9 MiB of weights in one buffer are served as 4 + 4 + 1 MiB slices of that buffer.
  const std::uint64_t n = 9 * 1024 * 1024;
  std::string json = R"({"modelTopology":{},"weightsManifest":[{"paths":["x"],"weights":[{"name":"w","shape":[)" +
                     std::to_string(n / 4) + R"(],"dtype":"float32"}]}]})";
  ModelJson parsed = parse_model_json(json, "test");
  ModelArtifacts a = std::move(parsed.artifacts);
  std::string bytes(n, '\x01');
  Buffer data = Buffer::copy_of(bytes);
  a.weight_data = WeightData(data);
  ServedModel served(a, "test");
  BOOST_TEST(served.shard_count() == 3u);
  BOOST_REQUIRE(served.shard("group1-shard1of3.bin"));
  BOOST_TEST(served.shard("group1-shard1of3.bin")->size() == 4u * 1024 * 1024);
  BOOST_TEST(served.shard("group1-shard3of3.bin")->size() == 1u * 1024 * 1024);
  BOOST_TEST(served.shard("group1-shard3of3.bin")->shares_memory_with(data));
  BOOST_TEST(!served.shard("model.weights.bin"));
  BOOST_TEST(served.model_json().find(R"("paths":["group1-shard1of3.bin","group1-shard2of3.bin","group1-shard3of3.bin"])") !=
             std::string::npos);
  BOOST_TEST(served.shard_etag("group1-shard1of3.bin") == served.shard_etag("group1-shard2of3.bin"));  // same bytes
  BOOST_TEST(served.shard_etag("group1-shard1of3.bin") != served.shard_etag("group1-shard3of3.bin"));
  BOOST_TEST(served.model_json_etag().size() == 42u);
}

BOOST_AUTO_TEST_CASE(error_bodies_are_json) {
  auto v = json::parse(error_json("bad \"thing\"\n", "bad_name"));
  BOOST_TEST(v.at("error").as_string() == "bad \"thing\"\n");
  BOOST_TEST(v.at("code").as_string() == "bad_name");
}
