#include <modelport/error.hpp>
#include <modelport/json.hpp>

#include <boost/test/unit_test.hpp>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <string_view>

// Lets BOOST_TEST print an ErrorCode on failure (found by ADL).
namespace modelport {
inline std::ostream& boost_test_print_type(std::ostream& os, ErrorCode code) {
  return os << to_string(code);
}
}  // namespace modelport

namespace json = modelport::json;
using modelport::Error;
using modelport::ErrorCode;

namespace {

std::uint64_t bits(double d) { return std::bit_cast<std::uint64_t>(d); }

// What a JS number the value stands for would be: parse keeps integral literals as integers.
double as_js_number(const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::int64: return static_cast<double>(v.get_int64());
    case boost::json::kind::uint64: return static_cast<double>(v.get_uint64());
    case boost::json::kind::double_: return v.get_double();
    default: BOOST_FAIL("not a number: " << json::stringify(v)); return 0;
  }
}

// Parses `text` expecting failure; returns the error for further checks.
Error parse_error(std::string_view text, std::string_view source) {
  try {
    json::parse(text, source);
  } catch (const Error& e) {
    return e;
  }
  BOOST_FAIL("parse accepted: " << text);
  return Error(ErrorCode::internal, "unreachable");
}

bool contains(std::string_view haystack, std::string_view needle) {
  return haystack.find(needle) != std::string_view::npos;
}

std::string round_trip(std::string_view text) { return json::stringify(json::parse(text)); }

// Built by appending: `"k" + std::to_string(i)` trips GCC 12's false -Wrestrict (PR 105329).
std::string key_name(int i) {
  std::string key = "k";
  key += std::to_string(i);
  return key;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(json_format_number)

BOOST_AUTO_TEST_CASE(matches_ecmascript_number_to_string) {
  const struct {
    double value;
    const char* expected;
  } cases[] = {
      {1, "1"},
      {1.5, "1.5"},
      {0.1, "0.1"},
      {1e21, "1e+21"},
      {1e20, "100000000000000000000"},
      {123456789012345680000.0, "123456789012345680000"},
      {1.5e-7, "1.5e-7"},
      {0.000001, "0.000001"},
      {1e-7, "1e-7"},
      {-2.5, "-2.5"},
      {5e-324, "5e-324"},
      {1.7976931348623157e308, "1.7976931348623157e+308"},
      {0.00392156862745098, "0.00392156862745098"},
      {0.000015195411321381422, "0.000015195411321381422"},
      {-0.49999886751174927, "-0.49999886751174927"},
      {100, "100"},
      {4294967339, "4294967339"},
      {-1e21, "-1e+21"},
      {1.25e21, "1.25e+21"},
      {-1.5e-7, "-1.5e-7"},
      {123.456, "123.456"},
      {0.5, "0.5"},
      {2.2250738585072014e-308, "2.2250738585072014e-308"},
      {9007199254740992.0, "9007199254740992"},
      {18446744073709551616.0, "18446744073709552000"},
      {-0.49299305677413940, "-0.4929930567741394"},
  };
  for (const auto& c : cases) {
    BOOST_TEST(json::format_number(c.value) == c.expected);
  }
}

BOOST_AUTO_TEST_CASE(special_values) {
  BOOST_TEST(json::format_number(0.0) == "0");
  BOOST_TEST(json::format_number(-0.0) == "0");
  BOOST_TEST(json::format_number(std::numeric_limits<double>::quiet_NaN()) == "null");
  BOOST_TEST(json::format_number(std::numeric_limits<double>::infinity()) == "null");
  BOOST_TEST(json::format_number(-std::numeric_limits<double>::infinity()) == "null");
  BOOST_TEST(json::stringify(boost::json::value(-0.0)) == "0");
}

BOOST_AUTO_TEST_CASE(append_keeps_existing_text) {
  std::string out = "[";
  json::format_number_append(out, 0.25);
  json::format_number_append(out, -1e-9);
  BOOST_TEST(out == "[0.25-1e-9");
}

BOOST_AUTO_TEST_CASE(random_doubles_round_trip_bit_exactly) {
  std::mt19937_64 rng(20240601);
  std::uniform_real_distribution<double> unit(-1.0, 1.0);
  for (int i = 0; i < 200000; ++i) {
    // Alternate raw bit patterns (every exponent, subnormals) with "ordinary" weights.
    double x = (i % 2 == 0) ? std::bit_cast<double>(rng()) : unit(rng);
    if (!std::isfinite(x)) continue;
    if (x == 0.0) x = 0.0;  // -0 prints as "0" by design
    const std::string text = json::format_number(x);
    const double back = as_js_number(json::parse(text));
    if (bits(back) != bits(x)) {
      BOOST_ERROR("round trip failed for " << text);
      break;
    }
    BOOST_TEST(json::stringified_size(boost::json::value(x)) == text.size());
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_stringify)

BOOST_AUTO_TEST_CASE(integers_print_as_js_doubles) {
  using boost::json::value;
  const std::int64_t two53 = std::int64_t{1} << 53;
  BOOST_TEST(json::stringify(value(two53)) == "9007199254740992");
  BOOST_TEST(json::stringify(value(-two53)) == "-9007199254740992");
  // 2^53 + 1 is not a double; JS would hold 2^53.
  BOOST_TEST(json::stringify(value(two53 + 1)) == "9007199254740992");
  BOOST_TEST(json::stringify(value(two53 + 3)) == "9007199254740996");
  BOOST_TEST(json::stringify(value(std::numeric_limits<std::uint64_t>::max())) ==
             "18446744073709552000");
  BOOST_TEST(json::stringify(value(std::numeric_limits<std::int64_t>::min())) ==
             "-9223372036854776000");
  BOOST_TEST(json::stringify(value(std::numeric_limits<std::int64_t>::max())) ==
             "9223372036854776000");
  BOOST_TEST(json::stringify(value(std::uint64_t{12345})) == "12345");
  BOOST_TEST(json::stringify(value(std::int64_t{-7})) == "-7");
  BOOST_TEST(json::stringify(value(std::int64_t{0})) == "0");
  for (const auto& v : {value(two53 + 1), value(std::numeric_limits<std::uint64_t>::max()),
                        value(std::numeric_limits<std::int64_t>::min()), value(-7)}) {
    BOOST_TEST(json::stringified_size(v) == json::stringify(v).size());
  }
}

BOOST_AUTO_TEST_CASE(string_escapes_follow_quote_json_string) {
  using boost::json::value;
  BOOST_TEST(json::stringify(value("a\"b\\c")) == R"("a\"b\\c")");
  BOOST_TEST(json::stringify(value("\b\f\n\r\t")) == R"("\b\f\n\r\t")");
  BOOST_TEST(json::stringify(value(std::string_view("\0\x01\x1f\x0b", 4))) ==
             R"("\u0000\u0001\u001f\u000b")");
  // Not escaped by JS: '/', DEL, non-ASCII (kept as raw UTF-8, not \u escapes).
  BOOST_TEST(json::stringify(value("a/b\x7f")) == "\"a/b\x7f\"");
  BOOST_TEST(json::stringify(value("здраво 正常 😀")) == "\"здраво 正常 😀\"");
  BOOST_TEST(json::stringify(value("")) == "\"\"");
  // Keys go through the same escaping.
  boost::json::object o;
  o["k\"\n\x1e"] = "v";
  BOOST_TEST(json::stringify(o) == R"({"k\"\n\u001e":"v"})");

  std::string all;
  for (int c = 0; c < 128; ++c) all.push_back(static_cast<char>(c));
  const std::string quoted = json::stringify(value(all));
  BOOST_TEST(quoted.size() == json::stringified_size(value(all)));
  BOOST_TEST(json::parse(quoted).get_string() == all);
  BOOST_TEST(contains(quoted, R"(\u001a)"));
  BOOST_TEST(!contains(quoted, R"(\u001A)"));
}

BOOST_AUTO_TEST_CASE(compact_structure) {
  boost::json::object o;
  o["z"] = 1;
  o["a"] = boost::json::array{nullptr, true, false, boost::json::object{}, boost::json::array{}};
  o["m"] = 0.5;
  BOOST_TEST(json::stringify(o) == R"({"z":1,"a":[null,true,false,{},[]],"m":0.5})");
  BOOST_TEST(json::stringified_size(o) == json::stringify(o).size());

  std::string out = "prefix";
  json::stringify_append(out, boost::json::value(boost::json::array{1, 2}));
  BOOST_TEST(out == "prefix[1,2]");
}

BOOST_AUTO_TEST_CASE(stringified_size_of_a_sizable_document) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> weight(-1.0, 1.0);
  boost::json::object root;
  boost::json::array layers;
  for (int i = 0; i < 300; ++i) {
    boost::json::object layer;
    layer["class_name"] = i % 2 ? "Dense" : "Conv2D";
    layer["name"] = "layer_" + std::to_string(i) + "\t\"q\"\x01 ü";
    layer["units"] = i * 7;
    layer["big"] = std::uint64_t{1} << (10 + i % 54);
    layer["negative"] = -static_cast<std::int64_t>(i) * 1'000'000'000'000LL;
    layer["scale"] = weight(rng) * std::pow(10.0, i % 40 - 20);
    layer["nested"] = boost::json::array{boost::json::array{i, nullptr}, boost::json::object{}};
    layer["flag"] = i % 3 == 0;
    layers.push_back(std::move(layer));
  }
  root["layers"] = std::move(layers);
  root["format"] = "layers-model";

  const std::string text = json::stringify(root);
  BOOST_TEST(text.size() > 50000u);
  BOOST_TEST(json::stringified_size(root) == text.size());
  // And it survives a round trip unchanged.
  const boost::json::value reparsed = json::parse(text, "generated.json");
  BOOST_TEST(json::stringify(reparsed) == text);
  BOOST_TEST(json::stringified_size(reparsed) == text.size());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(json_parse)

BOOST_AUTO_TEST_CASE(js_produced_text_round_trips_byte_identically) {
  const std::string text =
      R"({"modelTopology":{"class_name":"Sequential","config":{"name":"x","layers":[{"seed":null,)"
      R"("scale":1,"dilation_rate":[1,1],"trainable":true}]}},"format":"layers-model",)"
      R"("convertedBy":null,"w":[{"min":-0.4929930567741394,"scale":0.003893898748884014}],)"
      R"("u":"здраво 正常"})";
  const boost::json::value v = json::parse(text, "model.json");
  BOOST_TEST(json::stringify(v) == text);
  BOOST_TEST(json::stringified_size(v) == text.size());
}

BOOST_AUTO_TEST_CASE(key_order_is_kept) {
  BOOST_TEST(round_trip(R"({"z":1,"b":2,"a":{"y":1,"x":2},"c":3})") ==
             R"({"z":1,"b":2,"a":{"y":1,"x":2},"c":3})");
  // Past Boost's linear-search size (18) objects are hashed; order must still be insertion.
  std::string big = "{";
  for (int i = 40; i > 0; --i) {
    big += '"' + key_name(i) + "\":" + std::to_string(i) + (i > 1 ? "," : "}");
  }
  BOOST_TEST(round_trip(big) == big);
}

BOOST_AUTO_TEST_CASE(duplicate_keys_last_value_wins_at_first_position) {
  // JSON.parse('{"a":1,"b":2,"a":3}') is {a: 3, b: 2}.
  BOOST_TEST(round_trip(R"({"a":1,"b":2,"a":3})") == R"({"a":3,"b":2})");
  BOOST_TEST(round_trip(R"({"a":{"x":1,"x":[2]},"a":{"y":1,"y":2,"y":3}})") ==
             R"({"a":{"y":3}})");

  // Hashed (large) object: every key must still be findable after duplicates were folded.
  std::string text = "{";
  for (int i = 0; i < 30; ++i) text += '"' + key_name(i) + "\":" + std::to_string(i) + ",";
  for (int i = 0; i < 30; i += 3) text += '"' + key_name(i) + "\":\"again\",";
  text += "\"last\":true}";
  const boost::json::value v = json::parse(text);
  const auto& o = v.get_object();
  BOOST_TEST(o.size() == 31u);
  for (int i = 0; i < 30; ++i) {
    const std::string key = key_name(i);
    const auto* found = o.if_contains(key);
    BOOST_TEST_REQUIRE(found != nullptr);
    if (i % 3 == 0) {
      BOOST_TEST(found->as_string() == "again");
    } else {
      BOOST_TEST(found->as_int64() == i);
    }
    BOOST_TEST((o.begin() + i)->key() == key);
  }
  BOOST_TEST((o.begin() + 30)->key() == "last");
}

BOOST_AUTO_TEST_CASE(numbers_are_correctly_rounded) {
  // Boost.JSON 1.81 alone gets these wrong (verified against Python float / from_chars).
  BOOST_TEST(bits(json::parse("2.2250738585072011e-308").as_double()) == 0x000fffffffffffffu);
  BOOST_TEST(bits(json::parse("0.37877497003578644e-9").as_double()) == 0x3dfa077ad05c6f3cu);
  BOOST_TEST(bits(json::parse("0.048479699021827475e251").as_double()) == 0x73c5aaf09aceeab8u);
  BOOST_TEST(bits(json::parse("2.4703282292062328e-324").as_double()) == 0x1u);
  // Exactly halfway between 1 and the next double: ties to even.
  BOOST_TEST(json::parse("1.00000000000000011102230246251565404236316680908203125").as_double() ==
             1.0);
  BOOST_TEST(bits(json::parse("1.0000000000000002220446049250313080847263336181640625001")
                      .as_double()) == 0x3ff0000000000001u);
  BOOST_TEST(json::parse("0.1").as_double() == 0.1);
  BOOST_TEST(json::parse("[0.00392156862745098]").as_array()[0].as_double() ==
             0.00392156862745098);
  BOOST_TEST(json::parse("1E2").as_double() == 100.0);
  BOOST_TEST(json::parse("-1.5e-7").as_double() == -1.5e-7);
  // Numbers inside structures go through the same path.
  const auto v = json::parse(R"({"a":[2.2250738585072011e-308]})");
  BOOST_TEST(bits(v.at("a").at(0).as_double()) == 0x000fffffffffffffu);
}

BOOST_AUTO_TEST_CASE(out_of_range_literals_become_infinity_or_zero) {
  BOOST_TEST(json::parse("1e400").as_double() == std::numeric_limits<double>::infinity());
  BOOST_TEST(json::parse("-123.4e999").as_double() == -std::numeric_limits<double>::infinity());
  BOOST_TEST(json::parse("1.7976931348623159e308").as_double() ==
             std::numeric_limits<double>::infinity());
  const double tiny = json::parse("1e-400").as_double();
  BOOST_TEST(bits(tiny) == 0u);
  const double negative_tiny = json::parse("-0.000001e-330").as_double();
  BOOST_TEST(bits(negative_tiny) == bits(-0.0));
  BOOST_TEST(bits(json::parse("2.4703282292062327e-324").as_double()) == 0u);
  BOOST_TEST(json::parse("0.00000000001e330").as_double() ==
             std::numeric_limits<double>::infinity());
  BOOST_TEST(json::parse("100000e-330").as_double() == 0.0);
  // JSON.stringify(Infinity) is null.
  BOOST_TEST(round_trip("[1e400,-1e400,1e-400]") == "[null,null,0]");
}

BOOST_AUTO_TEST_CASE(integers_stay_integers) {
  const auto v = json::parse(
      "[0,-0,42,-42,9007199254740993,9223372036854775807,-9223372036854775808,"
      "9223372036854775808,18446744073709551615,18446744073709551616,-9223372036854775809]");
  const auto& a = v.as_array();
  BOOST_TEST(a[0].as_int64() == 0);
  BOOST_TEST(a[1].as_int64() == 0);
  BOOST_TEST(a[2].as_int64() == 42);
  BOOST_TEST(a[3].as_int64() == -42);
  BOOST_TEST(a[4].as_int64() == 9007199254740993);
  BOOST_TEST(a[5].as_int64() == std::numeric_limits<std::int64_t>::max());
  BOOST_TEST(a[6].as_int64() == std::numeric_limits<std::int64_t>::min());
  BOOST_TEST(a[7].as_uint64() == 9223372036854775808u);
  BOOST_TEST(a[8].as_uint64() == std::numeric_limits<std::uint64_t>::max());
  BOOST_TEST(a[9].as_double() == 18446744073709551616.0);
  BOOST_TEST(a[10].as_double() == -9223372036854775808.0);
  // What JSON.stringify(JSON.parse(same text)) prints.
  BOOST_TEST(json::stringify(v) ==
             "[0,0,42,-42,9007199254740992,9223372036854776000,-9223372036854776000,"
             "9223372036854776000,18446744073709552000,18446744073709552000,"
             "-9223372036854776000]");
  // Beyond uint64 the literal is rounded once, from its text.
  BOOST_TEST(json::parse("123456789012345678901234567890").as_double() ==
             123456789012345678901234567890.0);
}

BOOST_AUTO_TEST_CASE(nested_arrays) {
  BOOST_TEST(round_trip("[[[[]]],[1,[2,[3,[]]]],{\"a\":[[{}]]}]") ==
             "[[[[]]],[1,[2,[3,[]]]],{\"a\":[[{}]]}]");
  BOOST_TEST(round_trip(" [ 1 , [ 2 ] ]\n\t ") == "[1,[2]]");

  // Real Keras topologies nest deeper than Boost's default limit of 32; ours is 1000.
  const auto nested = [](int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
  };
  BOOST_TEST(round_trip(nested(1000)) == nested(1000));
  const Error e = parse_error(nested(1001), "deep.json");
  BOOST_TEST(e.code() == ErrorCode::corrupt);
  BOOST_TEST(contains(e.what(), "deep.json"));
}

BOOST_AUTO_TEST_CASE(scalars_and_strings) {
  BOOST_TEST(json::parse("null").is_null());
  BOOST_TEST(json::parse(" true ").as_bool() == true);
  BOOST_TEST(json::parse("\"\\u00e9\\ud83d\\ude00\\/\"").as_string() == "é😀/");
  BOOST_TEST(round_trip(R"("\u001F\u0020\/")") == R"("\u001f /")");
}

BOOST_AUTO_TEST_CASE(large_documents_parse_in_linear_time) {
  // A quadratic parser would take minutes on this (~2.5 MB, 100k keys); it should be instant.
  std::string text = "{";
  for (int i = 0; i < 100000; ++i) {
    if (i) text += ',';
    text += "\"key" + std::to_string(i) + "\":[" + std::to_string(i) + ".5,\"v\"]";
  }
  text += '}';
  const auto v = json::parse(text);
  BOOST_TEST(v.as_object().size() == 100000u);
  BOOST_TEST(v.at("key99999").at(0).as_double() == 99999.5);
  BOOST_TEST(json::stringify(v) == text);
}

BOOST_AUTO_TEST_CASE(errors_name_source_offset_and_code) {
  {
    const Error e = parse_error(R"({"a":[1,2)", "model.json");
    BOOST_TEST(e.code() == ErrorCode::corrupt);
    BOOST_TEST(contains(e.what(), "'model.json'"));
    BOOST_TEST(contains(e.what(), "at byte 9"));
  }
  {
    const Error e = parse_error("[1,2,]", "http://host/model.json");
    BOOST_TEST(e.code() == ErrorCode::corrupt);
    BOOST_TEST(contains(e.what(), "'http://host/model.json'"));
    BOOST_TEST(contains(e.what(), "at byte 5"));
  }
  {
    const Error e = parse_error(R"({"a":1,})", "m.json");
    BOOST_TEST(e.code() == ErrorCode::corrupt);
    BOOST_TEST(contains(e.what(), "at byte 7"));
  }
  {
    const Error e = parse_error("{} x", "weights.json");
    BOOST_TEST(e.code() == ErrorCode::corrupt);
    BOOST_TEST(contains(e.what(), "'weights.json'"));
    BOOST_TEST(contains(e.what(), "at byte 3"));
  }
  {
    const Error e = parse_error("{}{}", "");
    BOOST_TEST(e.code() == ErrorCode::corrupt);
    // No source: no empty quotes either.
    BOOST_TEST(std::string_view(e.what()).starts_with("invalid JSON at byte 2: "));
  }
  // Comments, invalid UTF-8, empty input, JS-only literals: all rejected as corrupt.
  for (const std::string_view bad :
       {std::string_view("[1] // c"), std::string_view("/* c */ [1]"),
        std::string_view("\"\xff\""), std::string_view("\"\xc0\xaf\""), std::string_view(""),
        std::string_view("   "), std::string_view("NaN"), std::string_view("[Infinity]"),
        std::string_view("{'a':1}"), std::string_view("01"), std::string_view("1."),
        std::string_view("\"a\nb\""), std::string_view("[1e]")}) {
    const Error e = parse_error(bad, "x.json");
    BOOST_TEST(e.code() == ErrorCode::corrupt, "for input: " << bad);
    BOOST_TEST(contains(e.what(), "'x.json' at byte "), e.what());
  }
}

BOOST_AUTO_TEST_SUITE_END()

// JSON.stringify writes a lone UTF-16 surrogate (half an emoji) as an escape, and JSON.parse takes
// it back; TensorFlow.js model files can contain one.
BOOST_AUTO_TEST_SUITE(lone_surrogates)

BOOST_AUTO_TEST_CASE(round_trip_as_escapes_like_javascript) {
  for (const std::string text : {R"({"name":"lone_\ud800_surrogate"})", R"(["\udc00"])", R"(["\ud800\ud800x"])",
                                  R"(["a\udbffb\udfff"])"}) {
    boost::json::value v = modelport::json::parse(text, "m.json");
    BOOST_TEST(modelport::json::stringify(v) == text);
    BOOST_TEST(modelport::json::stringified_size(v) == text.size());
  }
  // A proper pair is one code point: it comes back as raw UTF-8, as JSON.stringify writes it.
  BOOST_TEST(modelport::json::stringify(modelport::json::parse(R"(["\ud83d\ude00"])")) == "[\"\xF0\x9F\x98\x80\"]");
  // An escaped backslash followed by "ud800" is plain text, not an escape.
  BOOST_TEST(modelport::json::stringify(modelport::json::parse(R"(["\\ud800"])")) == R"(["\\ud800"])");
  // Upper-case hex is read; the output uses lower case, as JSON.stringify does.
  BOOST_TEST(modelport::json::stringify(modelport::json::parse(R"(["\uD800"])")) == R"(["\ud800"])");
}

BOOST_AUTO_TEST_CASE(real_utf8_errors_are_still_refused) {
  std::string bad = "[\"\\ud800\", \"\xFF\"]";
  BOOST_CHECK_THROW(modelport::json::parse(bad, "m.json"), modelport::Error);
  std::string raw_surrogate = "[\"\xED\xA0\x80\"]";  // a surrogate as raw bytes is not UTF-8
  BOOST_CHECK_THROW(modelport::json::parse(raw_surrogate, "m.json"), modelport::Error);
  BOOST_CHECK_THROW(modelport::json::parse(raw_surrogate + "[\"\\ud800\"]", "m.json"), modelport::Error);
}

BOOST_AUTO_TEST_SUITE_END()
