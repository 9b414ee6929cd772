// The multipart/form-data parser: what tfjs (undici's FormData) sends, other valid shapes, and
// every way a body can be malformed.
#include <multipart.hpp>

#include <boost/test/unit_test.hpp>

#include <string>

using modelport::multipart::boundary_from_content_type;
using modelport::multipart::MultipartError;
using modelport::multipart::parse;
using modelport::multipart::Part;

namespace {

std::string content(const std::string& body, const Part& p) { return body.substr(p.offset, p.size); }

// What undici's FormData writes for tfjs's upload (see tests/fixtures/golden/http-save/capture.json).
const std::string kBoundary = "----formdata-undici-064918541778";
std::string tfjs_body(const std::string& json, const std::string& weights) {
  return "--" + kBoundary + "\r\n" +
         "Content-Disposition: form-data; name=\"model.json\"; filename=\"model.json\"\r\n"
         "Content-Type: application/json\r\n\r\n" + json + "\r\n" +
         "--" + kBoundary + "\r\n" +
         "Content-Disposition: form-data; name=\"model.weights.bin\"; filename=\"model.weights.bin\"\r\n"
         "Content-Type: application/octet-stream\r\n\r\n" + weights + "\r\n" +
         "--" + kBoundary + "--\r\n";
}

void expect_error(const std::string& body, const std::string& boundary, const std::string& fragment) {
  try {
    parse(body, boundary);
    BOOST_ERROR("no error for a body that should fail with '" << fragment << "'");
  } catch (const MultipartError& e) {
    BOOST_TEST(std::string(e.what()).find(fragment) != std::string::npos, "message '" << e.what() << "' lacks '" << fragment << "'");
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(content_type)

BOOST_AUTO_TEST_CASE(boundary_forms) {
  BOOST_TEST(boundary_from_content_type("multipart/form-data; boundary=" + kBoundary) == kBoundary);
  BOOST_TEST(boundary_from_content_type("Multipart/Form-Data;boundary=abc") == "abc");
  BOOST_TEST(boundary_from_content_type("multipart/form-data; charset=utf-8; boundary=\"a b:c\"") == "a b:c");
  BOOST_TEST(boundary_from_content_type("multipart/form-data; BOUNDARY=x;") == "x");
}

BOOST_AUTO_TEST_CASE(bad_content_types) {
  for (const char* bad : {"application/json", "multipart/mixed; boundary=a", "multipart/form-data",
                          "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
                          "multipart/form-data; boundary=a; boundary=b", "multipart/form-data; boundary=\"abc",
                          "multipart/form-data; boundary=\"trailing \"", "multipart/form-data; boundary=\"a\\\"b\"",
                          "multipart/form-data boundary=a"}) {
    BOOST_CHECK_THROW(boundary_from_content_type(bad), MultipartError);
  }
  BOOST_CHECK_THROW(boundary_from_content_type("multipart/form-data; boundary=" + std::string(71, 'a')), MultipartError);
  BOOST_TEST(boundary_from_content_type("multipart/form-data; boundary=" + std::string(70, 'a')).size() == 70u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bodies)

BOOST_AUTO_TEST_CASE(tfjs_upload) {
  const std::string weights("\x00\x01\r\n--not-the-boundary\r\n\xff", 26);
  const std::string body = tfjs_body("{\"modelTopology\":{}}", weights);
  auto parts = parse(body, kBoundary);
  BOOST_REQUIRE_EQUAL(parts.size(), 2u);
  BOOST_TEST(parts[0].name == "model.json");
  BOOST_TEST(parts[0].filename.value_or("") == "model.json");
  BOOST_TEST(parts[0].content_type == "application/json");
  BOOST_TEST(content(body, parts[0]) == "{\"modelTopology\":{}}");
  BOOST_TEST(parts[1].name == "model.weights.bin");
  BOOST_TEST(parts[1].content_type == "application/octet-stream");
  BOOST_TEST(content(body, parts[1]) == weights);
}

BOOST_AUTO_TEST_CASE(preamble_epilogue_padding_order_and_empty_parts) {
  const std::string body =
      "ignored preamble\r\n--b\t \r\n"
      "content-disposition: FORM-DATA; filename=w.bin; name=model.weights.bin\r\n"
      "X-Other: kept out\r\n\r\n"
      "\r\n--b\r\n"
      "Content-Disposition: form-data;name=\"model.json\"\r\n\r\n"
      "{}\r\n--b--epilogue without CRLF";
  auto parts = parse(body, "b");
  BOOST_REQUIRE_EQUAL(parts.size(), 2u);
  BOOST_TEST(parts[0].name == "model.weights.bin");
  BOOST_TEST(parts[0].filename.value_or("") == "w.bin");
  BOOST_TEST(parts[0].size == 0u);
  BOOST_TEST(parts[1].name == "model.json");
  BOOST_TEST(!parts[1].filename.has_value());
  BOOST_TEST(parts[1].content_type == "");
  BOOST_TEST(content(body, parts[1]) == "{}");
}

BOOST_AUTO_TEST_CASE(quoted_names_with_escapes) {
  const std::string body = "--b\r\nContent-Disposition: form-data; name=\"a\\\"b;c\"\r\n\r\nx\r\n--b--";
  auto parts = parse(body, "b");
  BOOST_REQUIRE_EQUAL(parts.size(), 1u);
  BOOST_TEST(parts[0].name == "a\"b;c");
}

BOOST_AUTO_TEST_CASE(malformed_bodies) {
  expect_error("", "b", "does not contain the boundary");
  expect_error("no boundary here", "b", "does not contain the boundary");
  expect_error("--b--\r\n", "b", "no parts");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nabc", "b", "truncated");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\n\r\nabc\r\n--b", "b", "truncated");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\n", "b", "not terminated");
  expect_error("--bX\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--b--", "b", "not followed by CRLF");
  expect_error("--b\nContent-Disposition: form-data; name=a\n\nx\n--b--", "b", "not followed by CRLF");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nx\r\n--b--", "b", "bare CR, LF or NUL");
  expect_error("--b\r\n\r\nx\r\n--b--", "b", "no Content-Disposition");
  expect_error("--b\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--b--", "b", "must be 'form-data'");
  expect_error("--b\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--b--", "b", "no name parameter");
  expect_error("--b\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--b--", "b", "appears twice");
  expect_error("--b\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--b--", "b", "unterminated");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n\r\nx\r\n--b--", "b",
               "appears twice");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\n folded\r\n\r\nx\r\n--b--", "b", "folded");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\nno colon\r\n\r\nx\r\n--b--", "b", "malformed header");
  expect_error("--b\r\nContent-Disposition: form-data; name=a\r\nContent-Transfer-Encoding: base64\r\n\r\nx\r\n--b--", "b",
               "not supported");
  expect_error("--b\r\nContent-Disposition: form-data; name=a; =x\r\n\r\nx\r\n--b--", "b", "bad parameter");
  expect_error("--b\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--b--", "b", "has no value");
}

BOOST_AUTO_TEST_CASE(limits) {
  std::string body;
  for (int i = 0; i < 17; ++i) body += "--b\r\nContent-Disposition: form-data; name=p" + std::to_string(i) + "\r\n\r\nx\r\n";
  body += "--b--";
  expect_error(body, "b", "more than 16 parts");
  std::string big_header = "--b\r\nContent-Disposition: form-data; name=a\r\nX: " + std::string(9000, 'y') + "\r\n\r\nx\r\n--b--";
  expect_error(big_header, "b", "headers longer than");
}

BOOST_AUTO_TEST_CASE(large_content_is_found_without_copies) {
  std::string weights(3 * 1024 * 1024, '\0');
  for (std::size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<char>((i * 131) & 0xff);
  const std::string body = tfjs_body("{}", weights);
  auto parts = parse(body, kBoundary);
  BOOST_REQUIRE_EQUAL(parts.size(), 2u);
  BOOST_TEST(parts[1].size == weights.size());
  BOOST_TEST((content(body, parts[1]) == weights));
}

BOOST_AUTO_TEST_SUITE_END()
