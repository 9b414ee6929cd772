// Weights codec: the io_utils encode/decode checklist items (§6 84–97), layouts from
// weights_loader_test (§6 113–128) on the decode side, validation before decoding, zero-copy
// decoding, and every real and synthetic fixture against the values TensorFlow.js computed.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/weight_stats.hpp>
#include <modelport/weights_codec.hpp>

#include "test_support.hpp"

#include <bit>
#include <cstring>

namespace bj = boost::json;
using namespace modelport;
using modelport::test::fixtures_dir;
using modelport::test::read_file;

namespace {

template <class T>
Buffer buffer_of(std::initializer_list<T> values) {
  std::vector<std::byte> bytes(values.size() * sizeof(T));
  std::size_t i = 0;
  for (T v : values) std::memcpy(bytes.data() + sizeof(T) * i++, &v, sizeof(T));
  return Buffer::adopt(std::move(bytes));
}

WeightSpec spec(std::string name, std::vector<std::int64_t> shape, std::string dtype) {
  WeightSpec s;
  s.name = std::move(name);
  s.shape = std::move(shape);
  s.dtype = std::move(dtype);
  return s;
}

WeightSpec quantized(WeightSpec s, std::string qdtype, std::optional<double> min = std::nullopt,
                     std::optional<double> scale = std::nullopt) {
  Quantization q;
  q.dtype = std::move(qdtype);
  q.min = min;
  q.scale = scale;
  s.quantization = q;
  return s;
}

template <class T>
std::vector<T> values_of(const Tensor& t) {
  std::vector<T> out;
  for (std::size_t i = 0; i < t.elements * (t.dtype == DType::complex64 ? 2 : 1); ++i) out.push_back(t.at<T>(i));
  return out;
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TensorInput float_input(std::string name, std::vector<std::int64_t> shape, std::initializer_list<float> v) {
  return TensorInput{std::move(name), std::move(shape), DType::float32, buffer_of<float>(v), {}};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(encode)

BOOST_AUTO_TEST_CASE(float32_map_layout_and_specs) {  // §6 84, 85
  std::vector<TensorInput> in = {float_input("x1234", {2, 2}, {10, 20, 30, 40}), float_input("a42", {}, {42}),
                                 float_input("b41", {4}, {-1.3f, -3.7f, 1.3f, 3.7f})};
  EncodedWeights e = encode_weights(in);
  BOOST_TEST(e.data.size() == 36u);
  BOOST_TEST(json::stringify(to_json(e.specs)) ==
             R"([{"name":"x1234","shape":[2,2],"dtype":"float32"},{"name":"a42","shape":[],"dtype":"float32"},{"name":"b41","shape":[4],"dtype":"float32"}])");
  auto t = decode_weights(e.specs, e.data);
  BOOST_TEST(values_of<float>(t[0]) == (std::vector<float>{10, 20, 30, 40}), boost::test_tools::per_element());
  BOOST_TEST(values_of<float>(t[1]) == std::vector<float>{42}, boost::test_tools::per_element());
  BOOST_TEST(values_of<float>(t[2]) == (std::vector<float>{-1.3f, -3.7f, 1.3f, 3.7f}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(empty_list) {  // §6 86
  EncodedWeights e = encode_weights({});
  BOOST_TEST(e.data.size() == 0u);
  BOOST_TEST(e.specs.empty());
}

BOOST_AUTO_TEST_CASE(bool_bytes) {  // §6 88
  std::vector<TensorInput> in = {
      {"x1", {2, 2}, DType::boolean, buffer_of<std::uint8_t>({1, 0, 0, 1}), {}},
      {"x2", {}, DType::boolean, buffer_of<std::uint8_t>({0}), {}},
      {"x3", {4}, DType::boolean, buffer_of<std::uint8_t>({0, 1, 1, 0}), {}}};
  EncodedWeights e = encode_weights(in);
  Buffer joined = e.data.join();
  std::vector<int> bytes(joined.size());
  for (std::size_t i = 0; i < joined.size(); ++i) bytes[i] = static_cast<int>(joined.data()[i]);
  BOOST_TEST(bytes == (std::vector<int>{1, 0, 0, 1, 0, 0, 1, 1, 0}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(complex64_interleaved) {  // §6 89
  std::vector<TensorInput> in = {{"c1", {2}, DType::complex64, buffer_of<float>({1, 1, 2, 2}), {}},
                                 {"c2", {}, DType::complex64, buffer_of<float>({1, 2}), {}},
                                 {"c3", {1, 1}, DType::complex64, buffer_of<float>({1, 2}), {}}};
  EncodedWeights e = encode_weights(in);
  BOOST_TEST(e.data.size() == 32u);
  auto t = decode_weights(e.specs, e.data);
  BOOST_TEST(values_of<float>(t[0]) == (std::vector<float>{1, 1, 2, 2}), boost::test_tools::per_element());
  BOOST_TEST(values_of<float>(t[2]) == (std::vector<float>{1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(strings_layout) {  // §6 90
  std::vector<TensorInput> in = {{"x1", {2, 2}, DType::string, {}, {"a", "bc", "def", "g"}},
                                 {"x2", {}, DType::string, {}, {""}},
                                 {"x3", {2}, DType::string, {}, {"здраво", "поздрав"}},
                                 {"x4", {}, DType::string, {}, {"正常"}},
                                 {"x5", {}, DType::string, {}, {"hello"}}};
  EncodedWeights e = encode_weights(in);
  BOOST_TEST(e.data.size() == std::uint64_t((7 + 16) + 4 + (26 + 8) + (6 + 4) + (5 + 4)));
  Buffer b = e.data.join();
  auto u32 = [&](std::size_t at) {
    std::uint32_t v;
    std::memcpy(&v, b.data() + at, 4);
    return v;
  };
  BOOST_TEST(u32(0) == 1u);
  BOOST_TEST(u32(5) == 2u);
  BOOST_TEST(u32(11) == 3u);
  BOOST_TEST(u32(18) == 1u);
  BOOST_TEST(u32(23) == 0u);
  BOOST_TEST(u32(27) == 12u);
  BOOST_TEST(u32(43) == 14u);
  BOOST_TEST(u32(61) == 6u);
  BOOST_TEST(u32(71) == 5u);
  BOOST_TEST(std::string(b.view().substr(75, 5)) == "hello");
  auto t = decode_weights(e.specs, e.data);
  BOOST_TEST(t[2].strings[1].view() == "поздрав");
  BOOST_TEST(t[1].strings.size() == 1u);
  BOOST_TEST(t[1].strings[0].size() == 0u);
}

BOOST_AUTO_TEST_CASE(mixed_dtypes_and_group) {  // §6 91 and the group argument
  std::vector<TensorInput> in = {{"i", {2, 2}, DType::int32, buffer_of<std::int32_t>({1, 2, 3, 4}), {}},
                                 float_input("f", {}, {13.37f}),
                                 {"b", {4}, DType::boolean, buffer_of<std::uint8_t>({1, 0, 0, 1}), {}},
                                 {"c", {2}, DType::complex64, buffer_of<float>({1, 2, 1, 2}), {}}};
  EncodeOptions options;
  options.group = "optimizer";
  EncodedWeights e = encode_weights(in, options);
  BOOST_TEST(e.data.size() == 40u);
  BOOST_TEST(json::stringify(to_json(e.specs[0])) == R"({"name":"i","shape":[2,2],"dtype":"int32","group":"optimizer"})");
  auto t = decode_weights(e.specs, e.data);
  BOOST_TEST(values_of<float>(t[3]) == (std::vector<float>{1, 2, 1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(size_mismatch_is_refused) {
  std::vector<TensorInput> in = {float_input("short", {3}, {1, 2})};
  BOOST_TEST(error_of([&] { encode_weights(in); }).find("'short'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(quantize_on_encode_round_trips_within_half_a_step) {
  std::vector<TensorInput> in = {float_input("u8", {5}, {-1.0f, -0.5f, 0.0f, 0.25f, 2.0f}),
                                 float_input("u16", {3}, {0.1f, 0.2f, 0.3f}), float_input("f16", {3}, {0.25f, 0.5f, 1e-3f}),
                                 float_input("plain", {1}, {7})};
  EncodeOptions options;
  options.quantize = [](const TensorInput& t) -> std::optional<QuantDType> {
    if (t.name == "u8") return QuantDType::uint8;
    if (t.name == "u16") return QuantDType::uint16;
    if (t.name == "f16") return QuantDType::float16;
    return std::nullopt;
  };
  EncodedWeights e = encode_weights(in, options);
  BOOST_TEST(e.data.size() == 5u + 6u + 6u + 4u);
  BOOST_TEST(json::stringify(to_json(e.specs[2])) ==
             R"({"name":"f16","shape":[3],"dtype":"float32","quantization":{"dtype":"float16","original_dtype":"float32"}})");
  BOOST_TEST(e.specs[0].quantization->key_order.empty());
  auto t = decode_weights(e.specs, e.data);
  const double step = *e.specs[0].quantization->scale;
  std::vector<float> original = {-1.0f, -0.5f, 0.0f, 0.25f, 2.0f};
  for (std::size_t i = 0; i < original.size(); ++i) BOOST_TEST(std::fabs(t[0].at<float>(i) - original[i]) <= step / 2 + 1e-7);
  BOOST_TEST(t[0].at<float>(2) == 0.0f);  // zero nudged onto the grid
  BOOST_TEST(t[2].at<float>(0) == 0.25f);
  BOOST_TEST(t[3].at<float>(0) == 7.0f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(decode)

BOOST_AUTO_TEST_CASE(unknown_dtype) {  // §6 93, 124
  std::vector<WeightSpec> specs = {spec("x", {1}, "int16")};
  BOOST_TEST(error_of([&] { decode_weights(specs, WeightData(buffer_of<std::int16_t>({1}))); }).find("Unsupported dtype in weight 'x': int16") == 0u);
  specs = {spec("x", {1}, "null")};
  BOOST_TEST(error_of([&] { decode_weights(specs, WeightData(buffer_of<std::int16_t>({1}))); }).find("Unsupported dtype") == 0u);
}

BOOST_AUTO_TEST_CASE(uint8_and_uint16_dequantization) {  // §6 94, 95, 126, 127
  for (const char* q : {"uint8", "uint16"}) {
    bool wide = std::string(q) == "uint16";
    std::vector<WeightSpec> specs = {quantized(spec("f", {3}, "float32"), q, -1, 0.1),
                                     quantized(spec("i", {3}, "int32"), q, -1, 0.1)};
    Buffer data = wide ? buffer_of<std::uint16_t>({0, 48, 255, 0, 48, 255}) : buffer_of<std::uint8_t>({0, 48, 255, 0, 48, 255});
    auto t = decode_weights(specs, WeightData(data));
    BOOST_TEST((t[0].dtype == DType::float32));
    BOOST_TEST(t[0].at<float>(0) == -1.0f);
    BOOST_TEST(t[0].at<float>(1) == static_cast<float>(48 * 0.1 - 1));  // double arithmetic, one rounding
    BOOST_TEST(t[0].at<float>(2) == static_cast<float>(255 * 0.1 - 1));
    BOOST_TEST(values_of<std::int32_t>(t[1]) == (std::vector<std::int32_t>{-1, 4, 25}), boost::test_tools::per_element());
    BOOST_TEST(t[1].shape == std::vector<std::int64_t>{3}, boost::test_tools::per_element());
  }
}

BOOST_AUTO_TEST_CASE(int32_dequantization_rounds_halves_up_like_js) {
  // q*scale+min = -2.5 and 24.5: JS Math.round gives -2 and 25 (std::round would give -3).
  std::vector<WeightSpec> specs = {quantized(spec("i", {2}, "int32"), "uint8", -2.5, 27.0)};
  auto t = decode_weights(specs, WeightData(buffer_of<std::uint8_t>({0, 1})));
  BOOST_TEST(t[0].at<std::int32_t>(0) == -2);
  BOOST_TEST(t[0].at<std::int32_t>(1) == 25);
}

BOOST_AUTO_TEST_CASE(float16_dequantization) {  // §6 96, 112
  std::vector<WeightSpec> specs = {quantized(spec("h", {4}, "float32"), "float16")};
  auto t = decode_weights(specs, WeightData(buffer_of<std::uint16_t>({13312, 14336, 14848, 0x3555})));
  BOOST_TEST(t[0].at<float>(0) == 0.25f);
  BOOST_TEST(t[0].at<float>(1) == 0.5f);
  BOOST_TEST(t[0].at<float>(2) == 0.75f);
  BOOST_TEST(std::fabs(t[0].at<float>(3) - 0.333f) < 1e-3);
}

BOOST_AUTO_TEST_CASE(quantization_checks_in_reference_order) {  // §1.5 checks 1–4
  auto msg = [](WeightSpec s) {
    std::vector<WeightSpec> specs = {std::move(s)};
    return error_of([&] { decode_weights(specs, WeightData(buffer_of<std::uint8_t>({0, 0, 0, 0}))); });
  };
  BOOST_TEST(msg(quantized(spec("w", {1}, "float32"), "uint8", -1)).find(
                 "Weight w with quantization uint8 doesn't have corresponding metadata min and scale.") == 0u);
  BOOST_TEST(msg(quantized(spec("w", {1}, "int32"), "float16")).find(
                 "Weight w is quantized with float16 which only supports weights of type float32 not int32.") == 0u);
  BOOST_TEST(msg(quantized(spec("w", {1}, "float32"), "int4")).find(
                 "Weight w has unknown quantization dtype int4. Supported quantization dtypes are: 'uint8', 'uint16', and 'float16'.") == 0u);
  BOOST_TEST(msg(quantized(spec("w", {1}, "bool"), "uint8", 0, 1)).find("Unsupported dtype in weight 'w': bool") == 0u);
}

BOOST_AUTO_TEST_CASE(unaligned_mixed_weights_in_one_buffer) {  // §6 117
  std::vector<std::byte> bytes(21);
  std::int32_t ints[2] = {1, 2};
  float floats[3] = {3, 4, 5};
  std::memcpy(bytes.data(), ints, 8);
  bytes[8] = std::byte{1};
  std::memcpy(bytes.data() + 9, floats, 12);
  std::vector<WeightSpec> specs = {spec("i", {2}, "int32"), spec("b", {}, "bool"), spec("f", {3}, "float32")};
  auto t = decode_weights(specs, WeightData(Buffer::adopt(std::move(bytes))));
  BOOST_TEST(values_of<std::int32_t>(t[0]) == (std::vector<std::int32_t>{1, 2}), boost::test_tools::per_element());
  BOOST_TEST(t[1].at<std::uint8_t>(0) == 1);
  BOOST_TEST(values_of<float>(t[2]) == (std::vector<float>{3, 4, 5}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(weights_across_shard_boundaries) {  // §6 118, 119
  // int32 [7,1] across files 0 and 1, f32 [3,2] across files 1 and 2.
  std::vector<Buffer> shards = {buffer_of<std::int32_t>({1, 2, 3, 4, 5}), buffer_of<std::int32_t>({10, 20}),
                                buffer_of<float>({3, 4, 5, 10, 20, 30})};
  // Reinterpret: first 7 int32 = 1,2,3,4,5,10,20, then 6 floats.
  std::vector<WeightSpec> specs = {spec("i", {7, 1}, "int32"), spec("f", {3, 2}, "float32")};
  auto t = decode_weights(specs, WeightData(shards));
  BOOST_TEST(values_of<std::int32_t>(t[0]) == (std::vector<std::int32_t>{1, 2, 3, 4, 5, 10, 20}), boost::test_tools::per_element());
  BOOST_TEST(values_of<float>(t[1]) == (std::vector<float>{3, 4, 5, 10, 20, 30}), boost::test_tools::per_element());
  // A weight inside one shard is a view of that shard; one that crosses a boundary is a copy of
  // its own bytes only.
  BOOST_TEST(t[1].data.shares_memory_with(shards[2]));
  BOOST_TEST(!t[0].data.shares_memory_with(shards[0]));
  BOOST_TEST(t[0].data.size() == 28u);
}

BOOST_AUTO_TEST_CASE(string_prefix_split_across_shards) {
  std::vector<TensorInput> in = {{"s", {3}, DType::string, {}, {"alpha", "", "gamma-ray"}}};
  Buffer joined = encode_weights(in).data.join();
  // Cut every way possible into three shards: prefixes and bodies land on every boundary.
  for (std::size_t a = 0; a <= joined.size(); ++a) {
    for (std::size_t b = a; b <= joined.size(); b += 3) {
      WeightData data(std::vector<Buffer>{joined.slice(0, a), joined.slice(a, b - a), joined.slice(b, joined.size() - b)});
      auto t = decode_weights(encode_weights(in).specs, data);
      BOOST_TEST_REQUIRE(t[0].strings.size() == 3u);
      BOOST_TEST(t[0].strings[0].view() == "alpha");
      BOOST_TEST(t[0].strings[2].view() == "gamma-ray");
    }
  }
}

BOOST_AUTO_TEST_CASE(plain_weights_are_decoded_without_copying) {
  Buffer shard = buffer_of<float>({1, 2, 3, 4});
  std::vector<WeightSpec> specs = {spec("a", {2}, "float32"), spec("b", {2}, "float32")};
  auto t = decode_weights(specs, WeightData(shard));
  BOOST_TEST(t[0].data.data() == shard.data());
  BOOST_TEST(t[1].data.data() == shard.data() + 8);
}

BOOST_AUTO_TEST_CASE(validation_names_weight_and_byte_counts) {
  std::vector<WeightSpec> specs = {spec("dense/kernel", {3, 1}, "float32"), spec("dense/bias", {1}, "float32")};
  std::string short_data = error_of([&] { plan_weights(specs, WeightData(buffer_of<float>({1, 2, 3})), "http://h/m/model.json"); });
  BOOST_TEST(short_data.find("weight 'dense/bias' needs 4 bytes at offset 12 but the weight data has only 0 bytes left (12 in total)") == 0u, short_data);
  BOOST_TEST(short_data.find("http://h/m/model.json") != std::string::npos);
  std::string trailing = error_of([&] { plan_weights(specs, WeightData(buffer_of<float>({1, 2, 3, 4, 5}))); });
  BOOST_TEST(trailing.find("describe 16 bytes but the weight data has 20 bytes") != std::string::npos, trailing);
  BOOST_TEST(trailing.find("dense/bias") != std::string::npos);

  // A string whose length prefix points past the end.
  std::vector<WeightSpec> s = {spec("s", {1}, "string")};
  std::string bad_string = error_of([&] { plan_weights(s, WeightData(buffer_of<std::uint32_t>({1000}))); });
  BOOST_TEST(bad_string.find("weight 's' (string) element 0 needs 1000 bytes") == 0u, bad_string);
  std::string no_prefix = error_of([&] { plan_weights(s, WeightData(buffer_of<std::uint8_t>({1, 2}))); });
  BOOST_TEST(no_prefix.find("4-byte length") != std::string::npos, no_prefix);

  // Overflowing shapes.
  std::vector<WeightSpec> huge = {spec("h", {INT64_MAX, INT64_MAX}, "float32")};
  std::string overflow = error_of([&] { plan_weights(huge, WeightData()); });
  BOOST_TEST(overflow.find("weight 'h'") != std::string::npos, overflow);
  BOOST_TEST(overflow.find("overflows") != std::string::npos, overflow);
  std::vector<WeightSpec> big = {spec("big", {1 << 26, 1 << 26}, "complex64")};  // 2^52 elements * 8 bytes
  BOOST_TEST(error_of([&] { plan_weights(big, WeightData()); }).find("needs 36028797018963968 bytes") != std::string::npos);
  // A zero dimension means zero bytes, even next to huge ones.
  std::vector<WeightSpec> zero = {spec("z", {0, INT64_MAX}, "float32")};
  BOOST_TEST(plan_weights(zero, WeightData()).at(0).byte_length == 0u);
}

BOOST_AUTO_TEST_CASE(group_sizes_are_checked_against_their_shards) {
  WeightsManifest manifest(2);
  manifest[0].paths = {"group1-shard1of2.bin", "group1-shard2of2.bin"};
  manifest[0].weights = {spec("a", {3}, "float32"), quantized(spec("b", {2}, "float32"), "uint16", 0, 1)};
  manifest[1].paths = {"group2-shard1of1.bin"};
  manifest[1].weights = {spec("s", {1}, "string")};  // size known only by decoding: not checked here
  std::vector<Buffer> shards = {buffer_of<std::uint8_t>({1, 2, 3, 4, 5, 6, 7, 8}), buffer_of<std::uint8_t>({1, 2, 3, 4, 5, 6, 7, 8}),
                                buffer_of<std::uint8_t>({9})};
  BOOST_CHECK_NO_THROW(check_group_sizes(manifest, shards, "m.json"));
  shards[1] = buffer_of<std::uint8_t>({1, 2, 3});
  std::string message = error_of([&] { check_group_sizes(manifest, shards, "/srv/m/model.json"); });
  BOOST_TEST(message.find("weight group 1 needs 16 bytes but its shards hold 11: group1-shard1of2.bin (8 bytes), "
                          "group1-shard2of2.bin (3 bytes)") == 0u, message);
  BOOST_TEST(message.find("/srv/m/model.json") != std::string::npos);
  // A different number of buffers than paths cannot be matched: left to decoding.
  BOOST_CHECK_NO_THROW(check_group_sizes(manifest, std::span<const Buffer>(shards.data(), 2), "m.json"));
  BOOST_TEST(fixed_group_bytes(manifest[0].weights).value() == 16u);
  BOOST_TEST(!fixed_group_bytes(manifest[1].weights).has_value());
}

BOOST_AUTO_TEST_SUITE_END()

// Every fixture decodes to the stats TensorFlow.js 4.22 computed for it (reference.json).
BOOST_AUTO_TEST_SUITE(fixtures)

namespace {

void check_against_reference(const std::string& set, const std::string& model, const std::string& entry) {
  bj::value reference = json::parse(read_file(fixtures_dir() / set / "reference.json"));
  const bj::object& ref = reference.at("models").at(model).as_object();
  auto entry_path = fixtures_dir() / set / entry;
  ModelJson m = parse_model_json(read_file(entry_path), entry_path.string());
  WeightData data;
  for (const auto& group : *m.weights_manifest) {
    for (const auto& p : group.paths) data.append(Buffer::copy_of(read_file(entry_path.parent_path() / p)));
  }
  const auto& specs = *m.artifacts.weight_specs;
  auto plan = plan_weights(specs, data, entry_path.string());
  const bj::array& weights = ref.at("weights").as_array();
  BOOST_TEST_REQUIRE(weights.size() == specs.size());
  BOOST_TEST(data.size() == static_cast<std::uint64_t>(ref.at("weight_bytes").to_number<double>()));
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const bj::object& w = weights[i].as_object();
    std::string label = model + ": " + specs[i].name;
    BOOST_TEST(w.at("name").as_string() == specs[i].name);
    BOOST_TEST(plan[i].offset == static_cast<std::uint64_t>(w.at("offset").to_number<double>()), label);
    BOOST_TEST(plan[i].byte_length == static_cast<std::uint64_t>(w.at("byte_length").to_number<double>()), label);
    BOOST_TEST(sha256_hex(data, plan[i].offset, plan[i].byte_length) == std::string(w.at("raw_sha256").as_string()), label);
    Tensor t = decode_weight(specs[i], plan[i], data);
    WeightStats s = compute_stats(t);
    if (t.dtype == DType::string) {
      BOOST_TEST(s.string_count == static_cast<std::uint64_t>(w.at("count").to_number<double>()), label);
      BOOST_TEST(s.string_bytes == static_cast<std::uint64_t>(w.at("string_bytes").to_number<double>()), label);
      continue;
    }
    double abs_sum = w.at("abs_sum").to_number<double>();
    BOOST_TEST(test::close_to_reference(s.sum, w.at("sum").to_number<double>(), abs_sum), label << " sum " << s.sum);
    BOOST_TEST(test::close_to_reference(s.abs_sum, abs_sum, abs_sum), label << " abs_sum " << s.abs_sum);
    if (w.at("min").is_null()) {
      BOOST_TEST(!s.min.has_value(), label);
    } else {
      BOOST_TEST(test::close_to_reference(*s.min, w.at("min").to_number<double>(), std::fabs(*s.min)), label << " min " << *s.min);
      BOOST_TEST(test::close_to_reference(*s.max, w.at("max").to_number<double>(), std::fabs(*s.max)), label << " max " << *s.max);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(human_age) { check_against_reference("real", "human-age", "human-age/age.json"); }
BOOST_AUTO_TEST_CASE(human_antispoof) { check_against_reference("real", "human-antispoof", "human-antispoof/antispoof.json"); }
BOOST_AUTO_TEST_CASE(face_api_tiny_face_detector) {
  check_against_reference("real", "face-api-tiny-face-detector",
                          "face-api-tiny-face-detector/tiny_face_detector_model-weights_manifest.json");
}
BOOST_AUTO_TEST_CASE(synthetic_dtypes) { check_against_reference("synthetic", "dtypes", "dtypes/weights_manifest.json"); }
BOOST_AUTO_TEST_CASE(synthetic_quantized_layers) {
  check_against_reference("synthetic", "quantized-layers", "quantized-layers/model.json");
}

BOOST_AUTO_TEST_SUITE_END()
