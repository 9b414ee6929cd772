// The caps of modelport/limits.hpp (docs/limits.md): each one refuses input just over it with
// Error(corrupt) naming the file or URL, what was found and the cap, and accepts input at it.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/limits.hpp>
#include <modelport/model_json.hpp>
#include <modelport/weight_spec.hpp>
#include <modelport/weights_codec.hpp>

#include "test_errors.hpp"

#include <cstring>
#include <string>

using namespace modelport;
namespace bj = boost::json;
using modelport::test::error_of;

namespace {

const std::string kUrl = "https://models.example/m/model.json";

// The error names the URL, the cap's value and its name in limits.hpp.
void check_limit_error(const Error& e, std::uint64_t cap, const std::string& name) {
  const std::string what = e.what();
  BOOST_TEST((e.code() == ErrorCode::corrupt), what);
  BOOST_TEST(what.find(kUrl) != std::string::npos, what);
  BOOST_TEST(what.find(std::to_string(cap)) != std::string::npos, what);
  BOOST_TEST(what.find("limits::" + name) != std::string::npos, what);
}

std::string model_with_weights(const std::string& weights_json, const std::string& paths_json = "[\"a.bin\"]") {
  return R"({"modelTopology":{},"weightsManifest":[{"paths":)" + paths_json + R"(,"weights":)" + weights_json + "}]}";
}

std::string spec_json(const std::string& name, const std::string& shape, const std::string& dtype = "float32") {
  return R"({"name":")" + name + R"(","shape":)" + shape + R"(,"dtype":")" + dtype + "\"}";
}

std::string dims(std::size_t rank) {
  std::string out = "[";
  for (std::size_t i = 0; i < rank; ++i) out += i ? ",1" : "1";
  return out + "]";
}

WeightSpec make_spec(std::string name, std::vector<std::int64_t> shape, std::string dtype) {
  WeightSpec spec;
  spec.name = std::move(name);
  spec.shape = std::move(shape);
  spec.dtype = std::move(dtype);
  return spec;
}

WeightData little_endian_u32(std::uint32_t value) {
  BufferBuilder b(4);
  const unsigned char bytes[4] = {static_cast<unsigned char>(value), static_cast<unsigned char>(value >> 8),
                                  static_cast<unsigned char>(value >> 16), static_cast<unsigned char>(value >> 24)};
  std::memcpy(b.data().data(), bytes, 4);
  return WeightData(std::move(b).finish());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(input_limits)

BOOST_AUTO_TEST_CASE(model_json_size) {
  // Refused before parsing: the text need not even be JSON.
  const std::string too_big(limits::max_model_json_bytes + 1, ' ');
  check_limit_error(error_of([&] { parse_model_json(too_big, kUrl); }), limits::max_model_json_bytes, "max_model_json_bytes");
  BOOST_TEST(parse_model_json(R"({"modelTopology":{}})", kUrl).artifacts.topology_json() != nullptr);
}

BOOST_AUTO_TEST_CASE(json_depth) {
  const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  BOOST_TEST(json::parse(nested(limits::max_json_depth), kUrl).is_array());
  const Error e = error_of([&] { json::parse(nested(limits::max_json_depth + 1), kUrl); });
  BOOST_TEST(std::string(e.what()).find(kUrl) != std::string::npos, e.what());
  BOOST_TEST(std::string(e.what()).find("too deep") != std::string::npos, e.what());
}

BOOST_AUTO_TEST_CASE(weight_count) {
  // One spec list over the cap: refused before its entries are read (nulls would be errors).
  bj::array nulls(limits::max_weights + 1);
  check_limit_error(error_of([&] { weight_specs_from_json(nulls, kUrl); }), limits::max_weights, "max_weights");
  // Two groups under the cap each, over it together: refused before either is read.
  bj::array half(limits::max_weights / 2 + 1);
  bj::array manifest;
  for (int g = 0; g < 2; ++g) manifest.push_back(bj::object{{"paths", bj::array{}}, {"weights", half}});
  check_limit_error(error_of([&] { weights_manifest_from_json(manifest, kUrl); }), limits::max_weights, "max_weights");
  // plan_weights checks specs that came from anywhere.
  std::vector<WeightSpec> specs(limits::max_weights + 1);
  check_limit_error(error_of([&] { plan_weights(specs, WeightData(), kUrl); }), limits::max_weights, "max_weights");
}

BOOST_AUTO_TEST_CASE(shape_rank) {
  const auto at_cap = parse_model_json(model_with_weights("[" + spec_json("r", dims(limits::max_rank)) + "]"), kUrl);
  BOOST_TEST(at_cap.artifacts.weight_specs->at(0).shape.size() == limits::max_rank);
  const Error e = error_of([&] { parse_model_json(model_with_weights("[" + spec_json("r", dims(limits::max_rank + 1)) + "]"), kUrl); });
  check_limit_error(e, limits::max_rank, "max_rank");
  BOOST_TEST(std::string(e.what()).find("weight 'r'") != std::string::npos, e.what());
  // Specs built in code are checked when they are planned.
  const WeightSpec spec = make_spec("r", std::vector<std::int64_t>(limits::max_rank + 1, 1), "float32");
  check_limit_error(error_of([&] { plan_weights({spec}, WeightData(), kUrl); }), limits::max_rank, "max_rank");
}

BOOST_AUTO_TEST_CASE(element_count_and_weight_bytes) {
  // 2^90 elements: over the element cap (the largest count a JS number holds exactly).
  const auto over_elements = parse_model_json(model_with_weights("[" + spec_json("e", "[1073741824,1073741824,1073741824]") + "]"), kUrl);
  const Error e = error_of([&] { plan_weights(*over_elements.artifacts.weight_specs, WeightData(), kUrl); });
  check_limit_error(e, limits::max_weight_elements, "max_weight_elements");
  BOOST_TEST(std::string(e.what()).find("weight 'e'") != std::string::npos, e.what());
  // 2^35 float32 elements = 128 GiB: under the element cap, over the byte cap.
  const auto over_bytes = parse_model_json(model_with_weights("[" + spec_json("b", "[34359738368]") + "]"), kUrl);
  const Error b = error_of([&] { plan_weights(*over_bytes.artifacts.weight_specs, WeightData(), kUrl); });
  check_limit_error(b, limits::max_weight_bytes, "max_weight_bytes");
  BOOST_TEST(std::string(b.what()).find("weight 'b' needs 137438953472 bytes") != std::string::npos, b.what());
  // At the byte cap the error is the ordinary one: the data is too short, not the weight too big.
  const auto at_cap = parse_model_json(model_with_weights("[" + spec_json("c", "[17179869184]") + "]"), kUrl);
  const Error c = error_of([&] { plan_weights(*at_cap.artifacts.weight_specs, WeightData(), kUrl); });
  BOOST_TEST(std::string(c.what()).find("limits::") == std::string::npos, c.what());
  // The per-group size check does not add past the cap (it leaves such groups to decoding).
  BOOST_TEST(!fixed_group_bytes(*over_bytes.artifacts.weight_specs).has_value());
}

BOOST_AUTO_TEST_CASE(string_element_length) {
  const std::vector<WeightSpec> specs = {make_spec("s", {1}, "string")};
  // The length prefix alone is refused: the data need not be there.
  const auto over = static_cast<std::uint32_t>(limits::max_string_bytes + 1);
  const Error e = error_of([&] { plan_weights(specs, little_endian_u32(over), kUrl); });
  check_limit_error(e, limits::max_string_bytes, "max_string_bytes");
  BOOST_TEST(std::string(e.what()).find("weight 's' (string) element 0") != std::string::npos, e.what());
  // At the cap: the ordinary "not enough data" error.
  const Error at = error_of([&] { plan_weights(specs, little_endian_u32(static_cast<std::uint32_t>(limits::max_string_bytes)), kUrl); });
  BOOST_TEST(std::string(at.what()).find("limits::") == std::string::npos, at.what());
}

BOOST_AUTO_TEST_CASE(weight_name_length) {
  const std::string at_cap(limits::max_weight_name_bytes, 'n');
  BOOST_TEST(parse_model_json(model_with_weights("[" + spec_json(at_cap, "[1]") + "]"), kUrl).artifacts.weight_specs->at(0).name == at_cap);
  const std::string over(limits::max_weight_name_bytes + 1, 'n');
  check_limit_error(error_of([&] { parse_model_json(model_with_weights("[" + spec_json(over, "[1]") + "]"), kUrl); }),
                    limits::max_weight_name_bytes, "max_weight_name_bytes");
}

BOOST_AUTO_TEST_CASE(shard_path_length_and_count) {
  const std::string weights = "[" + spec_json("w", "[1]") + "]";
  const std::string at_cap(limits::max_shard_path_bytes, 'p');
  BOOST_TEST(parse_model_json(model_with_weights(weights, "[\"" + at_cap + "\"]"), kUrl).weights_manifest->at(0).paths.at(0) == at_cap);
  const std::string long_path(limits::max_shard_path_bytes + 1, 'p');
  check_limit_error(error_of([&] { parse_model_json(model_with_weights(weights, "[\"" + long_path + "\"]"), kUrl); }),
                    limits::max_shard_path_bytes, "max_shard_path_bytes");

  std::string many = "[";
  for (std::size_t i = 0; i <= limits::max_shard_paths; ++i) many += i ? ",\"s\"" : "\"s\"";
  many += "]";
  check_limit_error(error_of([&] { parse_model_json(model_with_weights(weights, many), kUrl); }), limits::max_shard_paths,
                    "max_shard_paths");
}

BOOST_AUTO_TEST_SUITE_END()
