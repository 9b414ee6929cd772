// model.json codec: parsing per spec §1.2, writer key orders (§1.2, §3.1, §3.2.2) compared byte
// for byte with what TensorFlow.js 4.22 wrote, and the info byte counts of §1.6.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>

#include "test_support.hpp"

namespace bj = boost::json;
using namespace modelport;
using modelport::test::fixtures_dir;
using modelport::test::read_file;

namespace {

ModelArtifacts golden_demo_artifacts() {
  auto dir = fixtures_dir() / "golden/file-save/tfjs-node";
  ModelJson parsed = parse_model_json(read_file(dir / "model.json"), "model.json");
  parsed.artifacts.weight_data = WeightData(Buffer::copy_of(read_file(dir / "weights.bin")));
  return parsed.artifacts;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_json_codec)

BOOST_AUTO_TEST_CASE(node_file_layout_is_byte_identical_to_tfjs_node) {
  ModelArtifacts a = golden_demo_artifacts();
  std::string text = serialize_model_json(a, single_group_manifest({"weights.bin"}, a.weight_specs),
                                          ModelJsonLayout::node_file);
  BOOST_TEST(text == read_file(fixtures_dir() / "golden/file-save/tfjs-node/model.json"));
}

BOOST_AUTO_TEST_CASE(browser_layout_is_byte_identical_to_tfjs_http_upload) {
  ModelArtifacts a = golden_demo_artifacts();
  std::string text = serialize_model_json(a, single_group_manifest({"./model.weights.bin"}, a.weight_specs),
                                          ModelJsonLayout::browser);
  for (const char* variant : {"router", "http-default", "http-put"}) {
    auto path = fixtures_dir() / "golden/http-save/store/upload" / variant / "model.json";
    BOOST_TEST(text == read_file(path), variant);
  }
}

BOOST_AUTO_TEST_CASE(info_byte_counts_match_tfjs) {
  // capture.json: modelTopologyBytes 1785, weightSpecsBytes 332, weightDataBytes 1452.
  ModelArtifactsInfo info = get_model_artifacts_info(golden_demo_artifacts());
  BOOST_TEST(info.model_topology_type == "JSON");
  BOOST_TEST(*info.model_topology_bytes == 1785u);
  BOOST_TEST(*info.weight_specs_bytes == 332u);
  BOOST_TEST(*info.weight_data_bytes == 1452u);
}

BOOST_AUTO_TEST_CASE(null_and_absent_fields_follow_getModelArtifactsForJSON) {
  std::string text = R"({"modelTopology":{"a":1},"format":null,"convertedBy":null,"signature":null,
    "userDefinedMetadata":{"k":"v"},"trainingConfig":null,"modelInitializer":{},"initializerSignature":null})";
  ModelArtifacts a = parse_model_json(text, "m.json").artifacts;
  BOOST_TEST_REQUIRE(a.format.has_value());
  BOOST_TEST(a.format->is_null());  // copied as is
  BOOST_TEST(!a.generated_by.has_value());  // absent stays absent
  BOOST_TEST(a.converted_by->is_null());
  BOOST_TEST(!a.signature.has_value());  // null-ish: not copied
  BOOST_TEST(!a.training_config.has_value());
  BOOST_TEST(!a.initializer_signature.has_value());
  BOOST_TEST(a.model_initializer->is_object());
  BOOST_TEST(!a.weight_specs.has_value());
  BOOST_TEST(!a.weight_data.has_value());

  std::string out = serialize_model_json(a, single_group_manifest({"./w.bin"}, std::nullopt), ModelJsonLayout::browser);
  BOOST_TEST(out == R"({"modelTopology":{"a":1},"format":null,"convertedBy":null,"weightsManifest":[{"paths":["./w.bin"]}],"userDefinedMetadata":{"k":"v"},"modelInitializer":{}})");
}

BOOST_AUTO_TEST_CASE(every_field_in_each_writer_order) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(bj::value{{"t", 1}});
  a.format = bj::value("layers-model");
  a.generated_by = bj::value("g");
  a.converted_by = bj::value(nullptr);
  a.signature = bj::value{{"s", 1}};
  a.user_defined_metadata = bj::value{{"u", 1}};
  a.model_initializer = bj::value{{"i", 1}};
  a.initializer_signature = bj::value{{"is", 1}};
  a.training_config = bj::value{{"loss", "mse"}};
  a.extra_fields["x-extension"] = 7;
  bj::array manifest = single_group_manifest({"p"}, std::vector<WeightSpec>{});

  BOOST_TEST(serialize_model_json(a, manifest, ModelJsonLayout::browser) ==
             R"({"modelTopology":{"t":1},"format":"layers-model","generatedBy":"g","convertedBy":null,)"
             R"("weightsManifest":[{"paths":["p"],"weights":[]}],"signature":{"s":1},"userDefinedMetadata":{"u":1},)"
             R"("modelInitializer":{"i":1},"initializerSignature":{"is":1},"trainingConfig":{"loss":"mse"},"x-extension":7})");
  BOOST_TEST(serialize_model_json(a, manifest, ModelJsonLayout::node_file) ==
             R"({"modelTopology":{"t":1},"weightsManifest":[{"paths":["p"],"weights":[]}],"format":"layers-model",)"
             R"("generatedBy":"g","convertedBy":null,"trainingConfig":{"loss":"mse"},"signature":{"s":1},)"
             R"("userDefinedMetadata":{"u":1},"modelInitializer":{"i":1},"initializerSignature":{"is":1},"x-extension":7})");
}

BOOST_AUTO_TEST_CASE(unknown_keys_survive_a_round_trip) {
  std::string text = R"({"modelTopology":{},"weightsManifest":[{"paths":["a.bin"],"sha256":["00"],)"
                     R"("weights":[{"name":"w","dtype":"float32","shape":[1],"note":"x"}]}],"producer":{"v":2}})";
  ModelJson m = parse_model_json(text, "m.json");
  BOOST_TEST(m.artifacts.extra_fields.at("producer").at("v").as_int64() == 2);
  BOOST_TEST_REQUIRE(m.weights_manifest.has_value());
  BOOST_TEST(json::stringify(to_json(*m.weights_manifest)) ==
             R"([{"paths":["a.bin"],"sha256":["00"],"weights":[{"name":"w","dtype":"float32","shape":[1],"note":"x"}]}])");
}

BOOST_AUTO_TEST_CASE(quantization_key_order_is_kept) {
  // face-api writes scale before min; re-serializing must not reorder (byte-identical stores).
  auto dir = fixtures_dir() / "real/face-api-tiny-face-detector";
  std::string text = read_file(dir / "tiny_face_detector_model-weights_manifest.json");
  ModelJson m = parse_model_json(text, "manifest.json");
  BOOST_TEST(m.bare_manifest);
  BOOST_TEST(m.artifacts.weight_specs->size() == 19u);
  BOOST_TEST(json::stringify(to_json(*m.weights_manifest)) == json::stringify(json::parse(text)));
}

BOOST_AUTO_TEST_CASE(real_and_synthetic_model_json_round_trip_their_manifests) {
  for (const char* rel : {"real/human-age/age.json", "real/human-antispoof/antispoof.json",
                          "synthetic/quantized-layers/model.json", "synthetic/dtypes/weights_manifest.json"}) {
    std::string text = read_file(fixtures_dir() / rel);
    bj::value original = json::parse(text);
    ModelJson m = parse_model_json(text, rel);
    const bj::value& manifest = original.is_array() ? original : original.at("weightsManifest");
    BOOST_TEST(json::stringify(to_json(*m.weights_manifest)) == json::stringify(manifest), rel);
  }
}

BOOST_AUTO_TEST_CASE(bad_model_json_gives_clear_errors) {
  auto expect_corrupt = [](const std::string& text, const std::string& needle) {
    try {
      parse_model_json(text, "/models/x/model.json");
      BOOST_ERROR("no error for " + text);
    } catch (const Error& e) {
      BOOST_TEST((e.code() == ErrorCode::corrupt));
      std::string message = e.what();
      BOOST_TEST(message.find("/models/x/model.json") != std::string::npos, message);
      BOOST_TEST(message.find(needle) != std::string::npos, message);
    }
  };
  expect_corrupt("not json", "JSON");
  expect_corrupt("42", "neither an object");
  expect_corrupt(R"({"weightsManifest":{}})", "not an array");
  expect_corrupt(R"({"weightsManifest":[{"paths":"a"}]})", "paths");
  expect_corrupt(R"({"weightsManifest":[{"paths":["a"],"weights":[{"shape":[1],"dtype":"float32"}]}]})", "name");
  expect_corrupt(R"({"weightsManifest":[{"paths":["a"],"weights":[{"name":"w","shape":[-1],"dtype":"float32"}]}]})",
                 "weight 'w'");
  expect_corrupt(R"({"weightsManifest":[{"paths":["a"],"weights":[{"name":"w","shape":[1.5],"dtype":"float32"}]}]})",
                 "non-negative integer");
  expect_corrupt(R"({"weightsManifest":[{"paths":["a"],"weights":[{"name":"w","shape":[1],"dtype":"float32","quantization":null}]}]})",
                 "quantization");
}

BOOST_AUTO_TEST_CASE(topology_only_manifests_mean_no_weights) {
  // What tfjs writes for a model without weights: the group has no "weights" key.
  ModelJson m = parse_model_json(R"({"modelTopology":{},"weightsManifest":[{"paths":[]}]})", "m.json");
  BOOST_TEST(m.weights_manifest.has_value());
  BOOST_TEST(!m.artifacts.weight_specs.has_value());
  ModelJson named = parse_model_json(R"({"weightsManifest":[{"paths":["w.bin"]}]})", "m.json");
  BOOST_TEST(named.artifacts.weight_specs.has_value());
  BOOST_TEST(named.artifacts.weight_specs->empty());
  BOOST_CHECK_THROW(parse_model_json(R"({"weightsManifest":[{}]})", "m.json"), Error);
}

BOOST_AUTO_TEST_CASE(binary_topology_is_refused_by_writers_and_info) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(Buffer::copy_of(std::string_view("\x01\x02\x03", 3)));
  BOOST_CHECK_THROW(serialize_model_json(a, bj::array(), ModelJsonLayout::browser), Error);
  BOOST_CHECK_EXCEPTION(get_model_artifacts_info(a), Error, [](const Error& e) {
    return std::string(e.what()) == "Expected JSON model topology, received ArrayBuffer.";
  });
}

BOOST_AUTO_TEST_CASE(info_of_empty_artifacts_and_json_form) {
  ModelArtifacts empty;
  auto when = *parse_iso8601("2024-05-01T12:34:56.789Z");
  ModelArtifactsInfo info = get_model_artifacts_info(empty, when);
  BOOST_TEST(*info.model_topology_bytes == 0u);
  BOOST_TEST(*info.weight_specs_bytes == 0u);
  BOOST_TEST(*info.weight_data_bytes == 0u);
  // An empty buffer list counts 0 (tfjs: undefined, a documented fix).
  empty.weight_data = WeightData(std::vector<Buffer>{});
  BOOST_TEST(*get_model_artifacts_info(empty, when).weight_data_bytes == 0u);
  BOOST_TEST(json::stringify(to_json(info)) ==
             R"({"dateSaved":"2024-05-01T12:34:56.789Z","modelTopologyType":"JSON","modelTopologyBytes":0,"weightSpecsBytes":0,"weightDataBytes":0})");
  ModelArtifactsInfo back = model_artifacts_info_from_json(to_json(info), "info");
  BOOST_TEST((back == info));
  BOOST_TEST(!parse_iso8601("2024-13-01T00:00:00.000Z").has_value());
  BOOST_TEST(!parse_iso8601("yesterday").has_value());
  BOOST_TEST(format_iso8601(*parse_iso8601("1999-12-31T23:59:59Z")) == "1999-12-31T23:59:59.000Z");
}

BOOST_AUTO_TEST_CASE(weight_specs_bytes_counts_utf8_bytes) {
  ModelArtifacts a;
  WeightSpec s;
  s.name = "ж";  // 2 bytes of UTF-8
  s.shape = {1};
  s.dtype = "float32";
  a.weight_specs = std::vector<WeightSpec>{s};
  // [{"name":"ж","shape":[1],"dtype":"float32"}]
  BOOST_TEST(*get_model_artifacts_info(a).weight_specs_bytes == std::string(R"([{"name":"ж","shape":[1],"dtype":"float32"}])").size());
}

BOOST_AUTO_TEST_SUITE_END()
