// Regressions found by fuzzing the JSON readers (tests/fuzz, docs/hardening.md).
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>

#include <cmath>
#include <string>

using namespace modelport;

BOOST_AUTO_TEST_SUITE(json_hardening)

// JSON.parse reads any exponent: 1e99999999999 is Infinity and 1e-99999999999 is 0 (found by
// fuzz_localstorage: the plugin's reader accepted what the core refused with "exponent overflow").
BOOST_AUTO_TEST_CASE(exponents_beyond_32_bits) {
  const auto v = json::parse("[1e99999999999,-1e30866666666866666,1e-99999999999,-0.5E-000000000000000000000000009999999999,"
                             "666666666661e30866666666866666,1e0000000000000000000001,\"1e99999999999\"]",
                             "test.json");
  const auto& a = v.as_array();
  BOOST_TEST((std::isinf(a[0].as_double()) && a[0].as_double() > 0));
  BOOST_TEST((std::isinf(a[1].as_double()) && a[1].as_double() < 0));
  BOOST_TEST(a[2].as_double() == 0.0);
  BOOST_TEST((a[3].as_double() == 0.0 && std::signbit(a[3].as_double())));
  BOOST_TEST(std::isinf(a[4].as_double()));
  BOOST_TEST(a[5].as_double() == 10.0);
  BOOST_TEST(a[6].as_string() == "1e99999999999");  // strings are never rewritten
  // As JSON.stringify prints them.
  BOOST_TEST(json::stringify(v) == "[null,null,0,0,null,10,\"1e99999999999\"]");
  // A syntax error after a long exponent is still one, naming the file.
  try {
    json::parse("[1e99999999999x]", "bad.json");
    BOOST_FAIL("no error");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("bad.json") != std::string::npos, e.what());
  }
  BOOST_TEST(parse_model_json(R"({"modelTopology":{"x":1e99999999999}})", "m.json").artifacts.topology_json() != nullptr);
}

// A quantization min or scale beyond the double range reads as an infinity, which decoding
// cannot use and a saved copy would write as null (found by fuzz_model_json: the copy then
// failed to parse with another error). Refused when the manifest is read, naming weight and file.
BOOST_AUTO_TEST_CASE(infinite_quantization_parameters) {
  for (const char* field : {R"("min":-1e999,"scale":0.5)", R"("min":0,"scale":1e400)"}) {
    const std::string text = std::string(R"({"modelTopology":{},"weightsManifest":[{"paths":["a.bin"],"weights":[)") +
                             R"({"name":"q","shape":[2],"dtype":"float32","quantization":{"dtype":"uint8",)" + field + "}}]}]}";
    try {
      parse_model_json(text, "m.json");
      BOOST_FAIL("no error for " << field);
    } catch (const Error& e) {
      const std::string what = e.what();
      BOOST_TEST((e.code() == ErrorCode::corrupt));
      BOOST_TEST(what.find("weight 'q' has a quantization") != std::string::npos, what);
      BOOST_TEST(what.find("not finite in 'm.json'") != std::string::npos, what);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
