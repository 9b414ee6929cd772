// localstorage:// through the production loader (spec §3.3, §4, §6 items 29–42 and 129–143):
// TensorFlow.js's keys and values byte for byte, the golden browser dump, the quota with a
// rollback that keeps the previous model, bad stored values, several processes at once, and the
// `modelport localstorage` command (export / import / purge / usage).
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/weight_stats.hpp>

#include "plugin_env.hpp"
#include "test_errors.hpp"
#include "base64.hpp"
#include "cli_runner.hpp"
#include "test_support.hpp"
#include "tfjs_layout.hpp"
#include "web_storage.hpp"

#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

namespace bj = boost::json;
namespace fs = std::filesystem;
namespace ls = modelport::localstorage;
using namespace modelport;
using modelport::test::error_message_of;
using modelport::test::fixtures_dir;
using modelport::test::quote;
using modelport::test::read_file;
using modelport::test::RunResult;
using modelport::test::TempDir;

namespace {

// One manager with the localstorage and memstore plugins, loaded the production way (memstore
// stands in for indexeddb:// as the second medium of the model-management items).
test::PluginEnv& env() {
  static auto* e = new test::PluginEnv{MODELPORT_LOCALSTORAGE_PLUGIN, MODELPORT_MEMSTORE_PLUGIN};
  return *e;
}

// A fresh data folder and one origin in it; every call passes them as plugin options.
struct Origin {
  TempDir tmp;
  std::string name = "test-origin";
  std::optional<std::string> quota;

  template <class Options>
  Options options() const {
    Options o;
    o.plugin_options["data_dir"] = tmp.path().string();
    o.plugin_options["origin"] = name;
    if (quota) o.plugin_options["quota"] = *quota;
    return o;
  }
  SaveResult save(const std::string& url, const ModelArtifacts& a) const {
    return modelport::save(url, a, options<SaveOptions>(), env().routers);
  }
  ModelArtifacts load(const std::string& url) const { return modelport::load(url, options<LoadOptions>(), env().routers); }
  std::vector<ListedModel> list(const std::string& url = "localstorage://") const {
    return modelport::list_models(url, options<CommonOptions>(), env().stores);
  }
  ModelArtifactsInfo remove(const std::string& url) const { return modelport::remove_model(url, options<CommonOptions>(), env().stores); }
  fs::path file() const { return tmp.path() / "localstorage" / (name + ".sqlite"); }
  // The store itself, to look at or tamper with what the plugin wrote.
  ls::WebStorage store() const {
    ls::WebStorage::Options o;
    o.quota = ls::kUnlimitedQuota;
    return ls::WebStorage(file(), o);
  }
  std::string item(const std::string& key) const { return store().get_item(key).value_or("(absent)"); }
  std::string cli_options() const { return "--data-dir " + quote(tmp.path().string()) + " --origin " + quote(name); }
};


RunResult run_cli(const std::string& args) { return modelport::test::run_program(MODELPORT_CLI, args); }

// T: a Keras Sequential topology with one Dense layer; S: its two weights; D: 16 zero bytes.
constexpr const char* kTopology =
    R"({"class_name":"Sequential","keras_version":"tfjs-layers 1.0","config":{"layers":[{"class_name":"Dense",)"
    R"("config":{"units":1,"batch_input_shape":[null,3],"use_bias":true,"kernel_initializer":"Ones",)"
    R"("name":"dense"}}]},"backend":"tensor_flow.js"})";
constexpr const char* kSpecs =
    R"([{"name":"dense/kernel","shape":[3,1],"dtype":"float32"},{"name":"dense/bias","shape":[1],"dtype":"float32"}])";
constexpr const char* kTrainingConfig =
    R"({"loss":"categorical_crossentropy","metrics":["accuracy"],"optimizer_config":{"class_name":"SGD","config":{"learningRate":0.1}}})";

ModelArtifacts model_tsd(std::size_t data_bytes = 16) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(json::parse(kTopology));
  a.weight_specs = weight_specs_from_json(json::parse(kSpecs), "S");
  a.weight_data = WeightData(Buffer::adopt(std::vector<std::byte>(data_bytes)));
  return a;
}

// A1 of local_storage_test.
ModelArtifacts model_a1() {
  ModelArtifacts a = model_tsd();
  a.format = bj::value("layers-model");
  a.generated_by = bj::value("TensorFlow.js v0.0.0");
  a.converted_by = bj::value("1.13.1");
  a.signature = bj::value(nullptr);
  a.user_defined_metadata = bj::object();
  a.model_initializer = bj::object();
  a.initializer_signature = bj::value(nullptr);
  a.training_config = json::parse(kTrainingConfig);
  return a;
}

// A model of `bytes` pseudo-random weight bytes (one float32 weight when bytes % 4 == 0).
ModelArtifacts model_of_bytes(std::size_t bytes, unsigned seed) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(json::parse(kTopology));
  a.weight_specs = weight_specs_from_json(
      json::parse(R"([{"name":"w","shape":[)" + std::to_string(bytes) + R"(],"dtype":"bool"}])"), "S");
  std::vector<std::byte> data(bytes);
  for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<std::byte>((i * 2654435761u + seed) >> 13);
  a.weight_data = WeightData(Buffer::adopt(std::move(data)));
  a.format = bj::value("layers-model");
  return a;
}

const fs::path kGoldenDir = fixtures_dir() / "golden/file-save/tfjs-node";

// The model of browser-schemes.json, read from the tfjs-node files of the same save.
ModelArtifacts golden_model() {
  ModelArtifacts a = parse_model_json(read_file(kGoldenDir / "model.json"), "model.json").artifacts;
  a.weight_data = WeightData(Buffer::copy_of(std::string_view(read_file(kGoldenDir / "weights.bin"))));
  return a;
}

// The compact topology text inside the golden model.json (it starts at byte 17, after
// {"modelTopology":) — what tfjs wrote under model_topology (browser-schemes.json keeps only
// its first 600 characters).
std::string golden_topology_text() {
  const std::string json = read_file(kGoldenDir / "model.json");
  const std::string key = "{\"modelTopology\":";
  const std::size_t end = json.find(",\"weightsManifest\":");
  return json.substr(key.size(), end - key.size());
}

const bj::array& golden_keys() {
  static const bj::value golden = json::parse(read_file(fixtures_dir() / "golden/browser-schemes.json"));
  return golden.at("with_fake_browser_globals").at("localstorage").at("keys").as_array();
}

// The localStorage of the browser run as a dump (JSON.stringify({...localStorage})), rebuilt from
// browser-schemes.json: the values it keeps whole, the topology and the weights (kept only as a
// head, a length and a digest there) from the same model's tfjs-node files, checked against them.
std::string golden_dump() {
  bj::object dump;
  for (const auto& entry : golden_keys()) {
    const std::string key(entry.at("key").as_string());
    std::string value;
    if (key.ends_with("/model_topology")) {
      value = golden_topology_text();
      const std::string shown(entry.at("value").as_string());
      BOOST_TEST_REQUIRE(shown.ends_with("..."));
      BOOST_TEST_REQUIRE(value.starts_with(shown.substr(0, shown.size() - 3)));
    } else if (key.ends_with("/weight_data")) {
      const std::string bin = read_file(kGoldenDir / "weights.bin");
      value = ls::base64_encode(std::as_bytes(std::span(bin.data(), bin.size())));
      BOOST_TEST_REQUIRE(sha256_hex(std::as_bytes(std::span(bin.data(), bin.size()))) ==
                         std::string(entry.at("decoded_sha256").as_string()));
      BOOST_TEST_REQUIRE(value.starts_with(std::string(entry.at("value_head").as_string())));
    } else {
      value = std::string(entry.at("value").as_string());
    }
    BOOST_TEST_REQUIRE(value.size() == static_cast<std::size_t>(entry.at("chars").as_int64()), key);
    dump[key] = value;
  }
  return json::stringify(dump);
}

std::string without_date(std::string info) {
  const std::string key = "\"dateSaved\":\"";
  const auto at = info.find(key);
  if (at == std::string::npos) return info;
  return info.erase(at + key.size(), info.find('"', at + key.size()) - at - key.size());
}

void write(const fs::path& p, const std::string& content) { std::ofstream(p, std::ios::binary) << content; }

std::int64_t ms_of(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

BOOST_AUTO_TEST_SUITE(local_storage)

// §6 item 29.
BOOST_AUTO_TEST_CASE(save_writes_tfjs_keys_and_values) {
  Origin o;
  const auto before = std::chrono::system_clock::now();
  SaveResult r = o.save("localstorage://foo/FooModel", model_a1());
  const ModelArtifactsInfo& info = r.model_artifacts_info;
  BOOST_TEST(ms_of(info.date_saved) >= ms_of(before) - 1);
  BOOST_TEST(info.model_topology_type == "JSON");
  BOOST_TEST(*info.model_topology_bytes == std::string(kTopology).size());
  BOOST_TEST(*info.weight_specs_bytes == std::string(kSpecs).size());
  BOOST_TEST(*info.weight_data_bytes == 16u);

  const ls::ModelKeys keys("foo/FooModel");
  ls::WebStorage store = o.store();
  BOOST_TEST(store.keys() == (std::vector<std::string>{keys.info, keys.topology, keys.weight_specs, keys.weight_data, keys.model_metadata}),
             boost::test_tools::per_element());
  const bj::value stored_info = json::parse(*store.get_item(keys.info));
  BOOST_TEST(ms_of(*parse_iso8601(stored_info.at("dateSaved").as_string())) == ms_of(info.date_saved));
  BOOST_TEST(*store.get_item(keys.info) == "{\"dateSaved\":\"" + format_iso8601(info.date_saved) +
                                               "\",\"modelTopologyType\":\"JSON\",\"modelTopologyBytes\":" +
                                               std::to_string(*info.model_topology_bytes) + ",\"weightSpecsBytes\":" +
                                               std::to_string(*info.weight_specs_bytes) + ",\"weightDataBytes\":16}");
  BOOST_TEST(*store.get_item(keys.topology) == kTopology);
  BOOST_TEST(*store.get_item(keys.weight_specs) == kSpecs);
  BOOST_TEST(*store.get_item(keys.weight_data) == "AAAAAAAAAAAAAAAAAAAAAA==");
  // Key order of §3.3; signature and initializerSignature are null, so they are not written.
  BOOST_TEST(*store.get_item(keys.model_metadata) ==
             std::string(R"({"format":"layers-model","generatedBy":"TensorFlow.js v0.0.0","convertedBy":"1.13.1",)") +
                 R"("userDefinedMetadata":{},"modelInitializer":{},"trainingConfig":)" + kTrainingConfig + "}");
}

// §6 item 30.
BOOST_AUTO_TEST_CASE(round_trip_keeps_every_field) {
  Origin o;
  const ModelArtifacts a1 = model_a1();
  o.save("localstorage://FooModel", a1);
  const ModelArtifacts back = o.load("localstorage://FooModel");
  BOOST_TEST(same_model(a1, back));
  BOOST_TEST(json::stringify(std::get<bj::value>(*back.model_topology)) == kTopology);
  BOOST_TEST(json::stringify(to_json(*back.weight_specs)) == kSpecs);
  BOOST_TEST(back.weight_data->size() == 16u);
  BOOST_TEST(back.weight_data->buffers().size() == 1u);  // decoded into one buffer
  BOOST_TEST(*back.format == "layers-model");
  BOOST_TEST(*back.generated_by == "TensorFlow.js v0.0.0");
  BOOST_TEST(*back.converted_by == "1.13.1");
  BOOST_TEST(json::stringify(*back.user_defined_metadata) == "{}");
  BOOST_TEST(json::stringify(*back.model_initializer) == "{}");
  BOOST_TEST(!back.initializer_signature.has_value());  // null was not stored
  BOOST_TEST(!back.signature.has_value());
  BOOST_TEST(json::stringify(*back.training_config) == kTrainingConfig);
}

// §6 item 31, and the "v0" layout (no model_metadata key) that older tfjs versions wrote.
BOOST_AUTO_TEST_CASE(v0_models_have_no_metadata) {
  Origin o;
  o.save("localstorage://FooModel", model_tsd());
  BOOST_TEST(o.item("tensorflowjs_models/FooModel/model_metadata") == "{}");
  o.store().remove_item("tensorflowjs_models/FooModel/model_metadata");
  const ModelArtifacts back = o.load("localstorage://FooModel");
  BOOST_TEST(same_model(model_tsd(), back));
  for (const JsonField* f : {&back.format, &back.generated_by, &back.converted_by, &back.user_defined_metadata,
                             &back.training_config, &back.model_initializer, &back.initializer_signature, &back.signature}) {
    BOOST_TEST(!f->has_value());
  }
}

// §6 items 32–35: the load errors, in tfjs's order, with tfjs's words.
BOOST_AUTO_TEST_CASE(missing_model_and_missing_keys) {
  Origin o;
  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { o.load("localstorage://NonexistentModel"); }, &code) ==
             "In local storage, there is no model with name 'NonexistentModel'");
  BOOST_TEST((code == ErrorCode::not_found));
  const std::pair<const char*, const char*> cases[] = {
      {"model_topology", "In local storage, the topology of model 'FooModel' is missing."},
      {"weight_specs", "In local storage, the weight specs of model 'FooModel' are missing."},
      {"weight_data", "In local storage, the binary weight values of model 'FooModel' are missing."},
  };
  for (auto [key, message] : cases) {
    o.save("localstorage://FooModel", model_a1());
    o.store().remove_item(std::string("tensorflowjs_models/FooModel/") + key);
    code = ErrorCode::internal;
    BOOST_TEST(error_message_of([&] { o.load("localstorage://FooModel"); }, &code) == message);
    BOOST_TEST((code == ErrorCode::not_found));
  }
  // Info gone: the model is gone, whatever else is left.
  o.save("localstorage://FooModel", model_a1());
  o.store().remove_item("tensorflowjs_models/FooModel/info");
  BOOST_TEST(error_message_of([&] { o.load("localstorage://FooModel"); }) == "In local storage, there is no model with name 'FooModel'");
  // A topology stored as null is "missing" too (JSON.parse gives null).
  o.save("localstorage://FooModel", model_a1());
  o.store().set_item("tensorflowjs_models/FooModel/model_topology", "null");
  BOOST_TEST(error_message_of([&] { o.load("localstorage://FooModel"); }) == "In local storage, the topology of model 'FooModel' is missing.");
  // A non-JSON topology type.
  o.save("localstorage://FooModel", model_a1());
  o.store().set_item("tensorflowjs_models/FooModel/info", R"({"dateSaved":"2024-01-01T00:00:00.000Z","modelTopologyType":"GraphDef"})");
  BOOST_TEST(error_message_of([&] { o.load("localstorage://FooModel"); }, &code) ==
             "BrowserLocalStorage does not support loading non-JSON model topology yet.");
  BOOST_TEST((code == ErrorCode::unimplemented));
}

// §6 item 36, and the fix of tfjs's rollback: a failed save leaves the previous model intact.
BOOST_AUTO_TEST_CASE(quota_overflow_fails_and_keeps_the_previous_model) {
  Origin o;
  o.quota = "2500";
  const ModelArtifacts small = model_of_bytes(300, 1);  // 400 base64 characters: about 1650 units in all
  o.save("localstorage://FooModel", small);
  o.save("localstorage://Other", model_of_bytes(3, 2));
  std::map<std::string, std::string> before;
  o.store().for_each([&](std::string_view k, std::string_view v) { before[std::string(k)] = v; });

  const ModelArtifacts big = model_of_bytes(1500, 3);  // 2000 characters: does not fit beside the rest
  ErrorCode code{};
  const std::string message = error_message_of([&] { o.save("localstorage://FooModel", big); }, &code);
  BOOST_TEST((code == ErrorCode::quota_exceeded));
  BOOST_TEST(message.find("Failed to save model 'FooModel' to local storage") == 0u, message);
  BOOST_TEST(message == "Failed to save model 'FooModel' to local storage: size quota being exceeded is a possible cause of this "
                        "failure: modelTopologyBytes=" + std::to_string(std::string(kTopology).size()) +
                        ", weightSpecsBytes=44, weightDataBytes=1500.");
  std::map<std::string, std::string> after;
  o.store().for_each([&](std::string_view k, std::string_view v) { after[std::string(k)] = v; });
  BOOST_TEST((after == before));  // every key and value as it was, the old model included
  BOOST_TEST(same_model(o.load("localstorage://FooModel"), small));

  // A new path that does not fit leaves no key behind.
  BOOST_TEST(error_message_of([&] { o.save("localstorage://NewModel", big); }, &code).starts_with("Failed to save model 'NewModel'"));
  BOOST_TEST(o.store().keys_with_prefix("tensorflowjs_models/NewModel/").empty());
  // The quota comes from MODELPORT_LOCALSTORAGE_QUOTA too, and "unlimited" lifts it.
  o.quota = "unlimited";
  o.save("localstorage://NewModel", big);
  BOOST_TEST(same_model(o.load("localstorage://NewModel"), big));
}

// §6 items 37 and 38.
BOOST_AUTO_TEST_CASE(empty_paths_and_routing) {
  Origin o;
  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { o.save("localstorage://", model_a1()); }, &code) ==
             "For local storage, modelPath must not be null, undefined or empty.");
  BOOST_TEST((code == ErrorCode::invalid_argument));
  BOOST_TEST(error_message_of([&] { o.load("localstorage://"); }).find("local storage, modelPath must not be null, undefined or empty") !=
             std::string::npos);
  BOOST_TEST(env().routers.get_save_handlers("localstorage://bar").size() == 1u);
  BOOST_TEST(env().routers.get_load_handlers("localstorage://bar").size() == 1u);
  BOOST_TEST(env().routers.get_save_handlers("indexeddb://bar").empty());
  BOOST_TEST(env().routers.get_load_handlers("qux").empty());
  BOOST_TEST(env().routers.get_load_handlers("LOCALSTORAGE://bar").empty());
}

// §6 items 39–42: the manager.
BOOST_AUTO_TEST_CASE(list_and_remove) {
  Origin o;
  BOOST_TEST(o.list().empty());  // nothing saved, not even a store file
  BOOST_TEST(!fs::exists(o.file()));
  SaveResult r = o.save("localstorage://baz/QuxModel", model_a1());
  auto listed = o.list();
  BOOST_TEST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].url == "localstorage://baz/QuxModel");
  BOOST_TEST(listed[0].info.model_topology_type == r.model_artifacts_info.model_topology_type);
  BOOST_TEST(*listed[0].info.model_topology_bytes == *r.model_artifacts_info.model_topology_bytes);
  BOOST_TEST(*listed[0].info.weight_specs_bytes == *r.model_artifacts_info.weight_specs_bytes);
  BOOST_TEST(*listed[0].info.weight_data_bytes == *r.model_artifacts_info.weight_data_bytes);
  BOOST_TEST(ms_of(listed[0].info.date_saved) == ms_of(r.model_artifacts_info.date_saved));  // parsed from the ISO text

  Origin p;
  SaveResult r1 = p.save("localstorage://QuxModel", model_tsd(16));
  SaveResult r2 = p.save("localstorage://repeat/QuxModel", model_tsd(24));
  listed = p.list();
  BOOST_TEST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].url == "localstorage://QuxModel");
  BOOST_TEST(listed[1].url == "localstorage://repeat/QuxModel");
  BOOST_TEST(*listed[0].info.weight_data_bytes == 16u);
  BOOST_TEST(*listed[1].info.weight_data_bytes == 24u);
  // Listing below a path.
  BOOST_TEST(p.list("localstorage://repeat").size() == 1u);
  BOOST_TEST(p.list("localstorage://repeat/").size() == 1u);
  BOOST_TEST(p.list("localstorage://rep").empty());

  ModelArtifactsInfo removed = p.remove("localstorage://QuxModel");
  BOOST_TEST(*removed.weight_data_bytes == 16u);
  BOOST_TEST(ms_of(removed.date_saved) == ms_of(r1.model_artifacts_info.date_saved));
  listed = p.list();
  BOOST_TEST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].url == "localstorage://repeat/QuxModel");
  BOOST_TEST(p.store().keys_with_prefix("tensorflowjs_models/QuxModel/").empty());
  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { p.remove("localstorage://QuxModel"); }, &code) == "Cannot find model at path 'QuxModel'");
  BOOST_TEST((code == ErrorCode::not_found));
  BOOST_TEST(error_message_of([&] { o.remove("localstorage://nonexistent"); }) == "Cannot find model at path 'nonexistent'");
  (void)r2;
}

// tfjs's listModels: every key ending in /info counts; a key of fewer than 3 segments is an error.
BOOST_AUTO_TEST_CASE(listing_reads_only_info_keys) {
  Origin o;
  o.save("localstorage://a", model_tsd());
  ls::WebStorage s = o.store();
  s.set_item("tensorflowjs_models/hand/made/info", R"({"dateSaved":"2020-05-06T07:08:09.010Z","modelTopologyType":"JSON"})");
  s.set_item("tensorflowjs_models/broken/info", "not json");
  s.set_item("unrelated/x/info", "{}");
  auto listed = o.list();
  BOOST_TEST_REQUIRE(listed.size() == 3u);
  BOOST_TEST(listed[1].url == "localstorage://hand/made");
  BOOST_TEST(format_iso8601(listed[1].info.date_saved) == "2020-05-06T07:08:09.010Z");
  BOOST_TEST(!listed[1].info.weight_data_bytes.has_value());
  BOOST_TEST(listed[2].url == "localstorage://broken");  // listed (so it can be removed), with what can be read
  BOOST_TEST(!listed[2].info.model_topology_bytes.has_value());
  o.remove("localstorage://broken");
  s.set_item("tensorflowjs_models/info", "{}");
  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { o.list(); }, &code).starts_with("Invalid key format: tensorflowjs_models/info"));
  BOOST_TEST((code == ErrorCode::corrupt));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(golden)

// The same artifacts give the values tfjs 4.22 wrote (browser-schemes.json), dateSaved aside.
BOOST_AUTO_TEST_CASE(values_are_byte_identical_to_tfjs) {
  Origin o;
  const ModelArtifacts model = golden_model();
  SaveResult r = o.save("localstorage://demo/model-1", model);
  BOOST_TEST(*r.model_artifacts_info.model_topology_bytes == 1785u);
  BOOST_TEST(*r.model_artifacts_info.weight_specs_bytes == 332u);
  BOOST_TEST(*r.model_artifacts_info.weight_data_bytes == 1452u);
  const bj::object expected = json::parse(golden_dump()).as_object();
  std::vector<std::string> golden_order, our_order;
  for (const auto& kv : expected) golden_order.emplace_back(kv.key());
  ls::WebStorage s = o.store();
  our_order = s.keys();
  BOOST_TEST(our_order == golden_order, boost::test_tools::per_element());
  for (const auto& kv : expected) {
    const std::string key(kv.key());
    const std::string want(kv.value().as_string());
    const std::string got = s.get_item(key).value_or("(absent)");
    if (key.ends_with("/info")) {
      BOOST_TEST(without_date(got) == without_date(want), key);
      BOOST_TEST(got.size() == want.size(), key);  // an ISO date has a fixed length
    } else {
      BOOST_TEST(got == want, key);
    }
  }
}

// Import the browser's localStorage (as a dump) with the CLI, then load the model: the golden one.
BOOST_AUTO_TEST_CASE(browser_dump_imports_and_loads) {
  Origin o;
  write(o.tmp.path() / "dump.json", golden_dump());
  RunResult r = run_cli("localstorage import " + o.cli_options() + " " + quote((o.tmp.path() / "dump.json").string()));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(r.out.find("imported 5 keys") != std::string::npos, r.out);
  const ModelArtifacts back = o.load("localstorage://demo/model-1");
  BOOST_TEST(same_model(back, golden_model()));
  BOOST_TEST(json::stringify(std::get<bj::value>(*back.model_topology)) == golden_topology_text());
  BOOST_TEST(*back.generated_by == "TensorFlow.js tfjs-layers v4.22.0");
  BOOST_TEST(back.converted_by->is_null());
  const auto listed = o.list();
  BOOST_TEST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(format_iso8601(listed[0].info.date_saved) == "2026-11-29T11:59:34.389Z");
  BOOST_TEST(*listed[0].info.weight_data_bytes == 1452u);
  // And out again: the export is the dump, key for key and byte for byte.
  r = run_cli("-q localstorage export " + o.cli_options() + " " + quote((o.tmp.path() / "again.json").string()));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(read_file(o.tmp.path() / "again.json") == golden_dump());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(model_management)

// §6 items 129–137, with memstore:// in place of indexeddb://.
BOOST_AUTO_TEST_CASE(copy_move_remove_errors) {
  Origin o;
  auto copy = [&](const std::string& from, const std::string& to) {
    return copy_model(from, to, o.options<LoadOptions>(), o.options<SaveOptions>(), env().routers);
  };
  auto move = [&](const std::string& from, const std::string& to) {
    return move_model(from, to, o.options<LoadOptions>(), o.options<SaveOptions>(), env().routers, env().stores);
  };
  BOOST_TEST(error_message_of([&] { copy("invalidurl", "localstorage://a1/FooModel"); }) ==
             "Copying failed because no load handler is found for source URL invalidurl.");
  o.save("localstorage://a1/FooModel", model_a1());
  BOOST_TEST(error_message_of([&] { copy("localstorage://a1/FooModel", "invalidurl"); }) ==
             "Copying failed because no save handler is found for destination URL invalidurl.");
  BOOST_TEST(error_message_of([&] { move("localstorage://a1/FooModel", "invalidurl"); }) ==
             "Copying failed because no save handler is found for destination URL invalidurl.");
  auto listed = o.list();
  BOOST_TEST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].url == "localstorage://a1/FooModel");
  const std::string no_scheme = error_message_of([&] { o.remove("foo"); });
  BOOST_TEST(no_scheme.find("The url string provided does not contain a scheme") != std::string::npos, no_scheme);
  BOOST_TEST(no_scheme.find("localstorage") != std::string::npos, no_scheme);
  BOOST_TEST(no_scheme.find("memstore") != std::string::npos, no_scheme);
  BOOST_TEST(error_message_of([&] { o.remove("invalidscheme://foo"); }) == "Cannot find model manager for scheme 'invalidscheme'");
  BOOST_TEST(error_message_of([&] { copy("memstore://nonexistent", "memstore://destination"); }).find("nonexistent") != std::string::npos);
  BOOST_TEST(error_message_of([&] { copy("a/1", "a/1"); }) == "Old path and new path are the same: 'a/1'");
  BOOST_TEST(error_message_of([&] { move("a/1", "a/1"); }) == "Old path and new path are the same: 'a/1'");
}

// §6 items 138–143 (disabled in tfjs, the intended behaviour), with memstore:// for indexeddb://.
BOOST_AUTO_TEST_CASE(copy_and_move_across_media) {
  Origin o;
  const ModelArtifacts a1 = model_a1();
  SaveResult saved = o.save("localstorage://a1/FooModel", a1);
  ModelArtifactsInfo copied = copy_model("localstorage://a1/FooModel", "memstore://a1/FooModel", o.options<LoadOptions>(),
                                         o.options<SaveOptions>(), env().routers);
  BOOST_TEST(*copied.weight_data_bytes == *saved.model_artifacts_info.weight_data_bytes);
  BOOST_TEST(*copied.model_topology_bytes == *saved.model_artifacts_info.model_topology_bytes);
  BOOST_TEST(same_model(modelport::load("memstore://a1/FooModel", {}, env().routers), a1));
  BOOST_TEST(o.list().size() == 1u);

  // Move back under another path: the source goes only after the copy is verified.
  move_model("memstore://a1/FooModel", "localstorage://moved/FooModel", o.options<LoadOptions>(), o.options<SaveOptions>(),
             env().routers, env().stores);
  BOOST_TEST(modelport::list_models("memstore://", {}, env().stores).empty());
  auto listed = o.list();
  BOOST_TEST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[1].url == "localstorage://moved/FooModel");
  BOOST_TEST(same_model(o.load("localstorage://moved/FooModel"), a1));

  // Between two origins of localstorage (each a browser origin of its own).
  Origin other;
  other.name = "https://example.com";
  LoadOptions from = o.options<LoadOptions>();
  SaveOptions to = other.options<SaveOptions>();
  copy_model("localstorage://a1/FooModel", "localstorage://a1/FooModel2", from, to, env().routers);
  BOOST_TEST(other.list().size() == 1u);
  BOOST_TEST(fs::exists(other.tmp.path() / "localstorage" / "https%3A%2F%2Fexample.com.sqlite"));
  BOOST_TEST(o.list().size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bad_input)

BOOST_AUTO_TEST_CASE(values_that_do_not_parse_are_corrupt_and_name_their_key) {
  Origin o;
  struct Case {
    const char* key;
    std::string value;
    const char* expected;  // a part of the message
  };
  const Case cases[] = {
      {"info", "{\"dateSaved\":", "In local storage, the info of model 'M' (key 'tensorflowjs_models/M/info') is not a JSON object"},
      {"info", "[]", "the info of model 'M'"},
      {"model_topology", "{\"class_name\":", "tensorflowjs_models/M/model_topology"},
      {"weight_specs", "[{\"name\":\"w\",", "tensorflowjs_models/M/weight_specs"},
      {"weight_specs", "{\"not\":\"a list\"}", "tensorflowjs_models/M/weight_specs"},
      {"model_metadata", "{\"format\":\"layers-model\",}",
       "In local storage, the metadata of model 'M' (key 'tensorflowjs_models/M/model_metadata') is not a JSON object"},
      {"model_metadata", "null", "the metadata of model 'M'"},
      {"weight_data", "AAAA!AAA",
       "In local storage, the binary weight values of model 'M' (key 'tensorflowjs_models/M/weight_data') are not valid base64: "
       "invalid base64: '!' at offset 4"},
      {"weight_data", "AAAAA", "4n+1"},
      {"weight_data", "AA==AAAA", "'=' at offset 2 (padding is allowed only at the end)"},
  };
  for (const Case& c : cases) {
    BOOST_TEST_CONTEXT(c.key << " = " << c.value) {
      o.save("localstorage://M", model_a1());
      o.store().set_item(std::string("tensorflowjs_models/M/") + c.key, c.value);
      ErrorCode code{};
      const std::string message = error_message_of([&] { o.load("localstorage://M"); }, &code);
      BOOST_TEST(message.find(c.expected) != std::string::npos, message);
      BOOST_TEST((code == ErrorCode::corrupt), to_string(code));
    }
  }
  // Nothing is lost: fixing the value makes the model load again.
  o.save("localstorage://M", model_a1());
  BOOST_TEST(same_model(o.load("localstorage://M"), model_a1()));
}

BOOST_AUTO_TEST_CASE(values_tfjs_would_read_load_here_too) {
  Origin o;
  o.save("localstorage://M", model_a1());
  ls::WebStorage s = o.store();
  // atob() skips ASCII whitespace and does not need padding.
  s.set_item("tensorflowjs_models/M/weight_data", "AAAAAAAA\nAAAAAAAA AAAAAA");
  BOOST_TEST(o.load("localstorage://M").weight_data->size() == 16u);
  // What tfjs stores for a model without weights: "undefined" specs and no weight bytes.
  s.set_item("tensorflowjs_models/M/weight_specs", "undefined");
  s.set_item("tensorflowjs_models/M/weight_data", "");
  ModelArtifacts back = o.load("localstorage://M");
  BOOST_TEST(!back.weight_specs.has_value());
  BOOST_TEST(!back.weight_data.has_value());
  // Duplicate metadata keys: the last wins, as with JSON.parse; unknown keys ride along.
  s.set_item("tensorflowjs_models/M/model_metadata", R"({"format":"a","format":"b","x-extra":[1,2]})");
  back = o.load("localstorage://M");
  BOOST_TEST(*back.format == "b");
  BOOST_TEST(json::stringify(back.extra_fields) == R"({"x-extra":[1,2]})");
}

BOOST_AUTO_TEST_CASE(topology_only_weights_only_and_empty_models) {
  Origin o;
  ModelArtifacts topology_only;
  topology_only.model_topology = ModelTopology(json::parse(kTopology));
  o.save("localstorage://t", topology_only);
  // Stored as tfjs stores it...
  BOOST_TEST(o.item("tensorflowjs_models/t/weight_specs") == "undefined");
  BOOST_TEST(o.item("tensorflowjs_models/t/weight_data") == "");
  BOOST_TEST(o.item("tensorflowjs_models/t/info").find(R"("weightSpecsBytes":0,"weightDataBytes":0})") != std::string::npos);
  // ...and, unlike tfjs (JSON.parse("undefined") throws), it loads.
  ModelArtifacts back = o.load("localstorage://t");
  BOOST_TEST(same_model(back, topology_only));
  BOOST_TEST(!back.weight_data.has_value());

  ModelArtifacts weights_only = model_tsd();
  weights_only.model_topology.reset();
  o.save("localstorage://w", weights_only);
  BOOST_TEST(o.item("tensorflowjs_models/w/model_topology") == "undefined");
  BOOST_TEST(same_model(o.load("localstorage://w"), weights_only));

  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { o.save("localstorage://e", ModelArtifacts{}); }, &code).find("neither a model topology nor weights") !=
             std::string::npos);
  BOOST_TEST((code == ErrorCode::invalid_argument));
  ModelArtifacts binary = model_tsd();
  binary.model_topology = ModelTopology(Buffer::copy_of(std::string_view("\x01\x02", 2)));
  BOOST_TEST(error_message_of([&] { o.save("localstorage://b", binary); }) ==
             "BrowserLocalStorage.save() does not support saving model topology in binary formats yet.");
  BOOST_TEST(o.store().keys_with_prefix("tensorflowjs_models/e/").empty());
  BOOST_TEST(o.store().keys_with_prefix("tensorflowjs_models/b/").empty());
}

BOOST_AUTO_TEST_CASE(an_unreadable_store_file_is_corrupt_and_named) {
  Origin o;
  fs::create_directories(o.file().parent_path());
  std::string junk(8192, 'J');
  write(o.file(), junk);
  for (const auto& call : std::vector<std::function<void()>>{[&] { o.load("localstorage://m"); },
                                                             [&] { o.save("localstorage://m", model_a1()); },
                                                             [&] { o.list(); },
                                                             [&] { o.remove("localstorage://m"); }}) {
    ErrorCode code{};
    const std::string message = error_message_of(call, &code);
    BOOST_TEST((code == ErrorCode::corrupt), message);
    BOOST_TEST(message.find(o.file().string()) != std::string::npos, message);
    BOOST_TEST(message.find("is unreadable (file is not a database)") != std::string::npos, message);
  }
  BOOST_TEST(read_file(o.file()) == junk);  // never overwritten
}

BOOST_AUTO_TEST_CASE(model_paths_with_unusual_characters) {
  Origin o;
  const std::vector<std::string> paths = {"with spaces/and 'quotes' \"too\"", "100% %20 sure", "ünïcödé/模型/🙂",
                                          "a//double//slashes/", "back\\slash", "new\nline\ttab", "tensorflowjs_models/nested",
                                          "ends/with/info", "x=1&y=2?#frag"};
  for (std::size_t i = 0; i < paths.size(); ++i) o.save("localstorage://" + paths[i], model_of_bytes(10 + i, static_cast<unsigned>(i)));
  for (std::size_t i = 0; i < paths.size(); ++i) {
    BOOST_TEST(same_model(o.load("localstorage://" + paths[i]), model_of_bytes(10 + i, static_cast<unsigned>(i))), paths[i]);
  }
  auto listed = o.list();
  BOOST_TEST_REQUIRE(listed.size() == paths.size());
  for (std::size_t i = 0; i < paths.size(); ++i) BOOST_TEST(listed[i].url == "localstorage://" + paths[i]);
  for (const auto& p : paths) o.remove("localstorage://" + p);
  BOOST_TEST(o.store().length() == 0u);
  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { o.load("localstorage://bad\xff\xfe"); }, &code).find("not valid UTF-8") != std::string::npos);
  BOOST_TEST((code == ErrorCode::invalid_argument));
  // Origins and quota settings that make no sense.
  Origin p;
  p.quota = "lots";
  BOOST_TEST(error_message_of([&] { p.save("localstorage://m", model_a1()); }, &code).find("quota=lots") != std::string::npos);
  BOOST_TEST((code == ErrorCode::invalid_argument));
  p.quota.reset();
  p.name = "";
  BOOST_TEST(error_message_of([&] { p.save("localstorage://m", model_a1()); }, &code).find("origin must not be empty") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(processes)

// Four processes save, overwrite and load at once, into a store none of them has created yet.
BOOST_AUTO_TEST_CASE(four_processes_at_once) {
  Origin o;
  constexpr int kChildren = 4;
  constexpr int kModels = 6;
  auto model_for = [](int child, int i) { return model_of_bytes(20000 + 1000 * i + child, static_cast<unsigned>(child * 100 + i)); };
  std::vector<pid_t> pids;
  for (int c = 0; c < kChildren; ++c) {
    pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
      int status = 0;
      try {
        for (int i = 0; i < kModels; ++i) {
          o.save("localstorage://p" + std::to_string(c) + "/m" + std::to_string(i), model_for(c, i));
          o.save("localstorage://shared", model_for(c, i));  // everyone overwrites this one
          if (!same_model(o.load("localstorage://p" + std::to_string(c) + "/m" + std::to_string(i)), model_for(c, i))) status = 3;
          const ModelArtifacts shared = o.load("localstorage://shared");  // whichever save won, it is whole
          bool whole = false;
          for (int cc = 0; cc < kChildren && !whole; ++cc) {
            for (int ii = 0; ii < kModels && !whole; ++ii) whole = same_model(shared, model_for(cc, ii));
          }
          if (!whole) status = 4;
          o.list();
        }
      } catch (const std::exception& e) {
        std::fprintf(stderr, "child %d: %s\n", c, e.what());
        status = 2;
      }
      ::_exit(status);
    }
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    BOOST_TEST(WIFEXITED(status));
    BOOST_TEST(WEXITSTATUS(status) == 0);
  }
  for (int c = 0; c < kChildren; ++c) {
    for (int i = 0; i < kModels; ++i) {
      BOOST_TEST(same_model(o.load("localstorage://p" + std::to_string(c) + "/m" + std::to_string(i)), model_for(c, i)));
    }
  }
  BOOST_TEST(o.list().size() == static_cast<std::size_t>(kChildren * kModels + 1));
}

BOOST_AUTO_TEST_CASE(progress_is_reported_in_bytes) {
  Origin o;
  const ModelArtifacts big = model_of_bytes(10u << 20, 9);  // several 3 MiB pieces each way
  SaveOptions save_options = o.options<SaveOptions>();
  save_options.plugin_options["quota"] = "unlimited";
  std::vector<std::uint64_t> seen;
  save_options.on_progress = [&](const Progress& p) {
    seen.push_back(p.bytes_done);
    BOOST_TEST(p.bytes_total.value_or(0) == 10u << 20);
  };
  modelport::save("localstorage://big", big, save_options, env().routers);
  BOOST_TEST(seen.size() >= 4u);
  BOOST_TEST(seen.back() == 10u << 20);
  LoadOptions load_options = o.options<LoadOptions>();
  seen.clear();
  load_options.on_progress = [&](const Progress& p) { seen.push_back(p.bytes_done); };
  BOOST_TEST(same_model(modelport::load("localstorage://big", load_options, env().routers), big));
  BOOST_TEST(seen.size() >= 4u);
  BOOST_TEST(seen.back() == 10u << 20);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(export_is_what_a_browser_would_print) {
  Origin o;
  {
    ls::WebStorage s = o.store();
    s.set_item("z first", "1");
    s.set_item("a second", "quote \" backslash \\ newline \n tab \t control \x01 unicode é😀 slash /");
    s.set_item("z first", "overwritten, still first");
  }
  const fs::path out = o.tmp.path() / "dump.json";
  RunResult r = run_cli("localstorage export " + o.cli_options() + " " + quote(out.string()));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(r.out.find("exported 2 keys of origin 'test-origin'") != std::string::npos, r.out);
  BOOST_TEST(read_file(out) == R"({"z first":"overwritten, still first","a second":"quote \" backslash \\ newline \n tab \t control \u0001 unicode é😀 slash /"})");
  // To stdout, through -o origin= (the plugin's option) as well.
  r = run_cli("-q -o origin=test-origin -o data_dir=" + quote(o.tmp.path().string()) + " localstorage export -");
  BOOST_TEST(r.exit_code == 0);
  BOOST_TEST(r.out == read_file(out));
  // An origin nobody wrote to is empty, and stays uncreated.
  r = run_cli("-q localstorage export --data-dir " + quote(o.tmp.path().string()) + " --origin nobody -");
  BOOST_TEST(r.out == "{}");
  BOOST_TEST(!fs::exists(o.tmp.path() / "localstorage" / "nobody.sqlite"));
}

BOOST_AUTO_TEST_CASE(import_is_all_or_nothing) {
  Origin o;
  o.store().set_item("existing", "kept");
  auto import = [&](const std::string& json, const std::string& extra = {}) {
    write(o.tmp.path() / "in.json", json);
    return run_cli("localstorage import " + o.cli_options() + " " + extra + " " + quote((o.tmp.path() / "in.json").string()));
  };
  RunResult r = import(R"({"a":"1","n":2,"b":"3"})");
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find("the value of key 'n' is a number: localStorage holds only strings; nothing was imported") !=
                 std::string::npos,
             r.out);
  r = import(R"({"a":"1","o":{"x":"y"}})");
  BOOST_TEST(r.out.find("the value of key 'o' is an object") != std::string::npos, r.out);
  r = import(R"(["a"])");
  BOOST_TEST(r.out.find("is an array, not a JSON object") != std::string::npos, r.out);
  r = import(R"({"a":"1",)");
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find("invalid JSON") != std::string::npos, r.out);
  BOOST_TEST(o.store().keys() == std::vector<std::string>{"existing"}, boost::test_tools::per_element());

  // Over the quota: nothing imported.
  r = import(R"({"a":"1","big":")" + std::string(100, 'x') + R"("})", "--quota 50");
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find("over its quota of 50") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("[quota_exceeded]") != std::string::npos, r.out);
  BOOST_TEST(o.store().length() == 1u);

  // A repeated key keeps its first place and its last value (JSON.parse).
  r = import(R"({"b":"1","a":"2","b":"3"})");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(o.store().keys() == (std::vector<std::string>{"existing", "b", "a"}), boost::test_tools::per_element());
  BOOST_TEST(o.item("b") == "3");
  r = import(R"({"only":"this"})", "--clear");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(o.store().keys() == std::vector<std::string>{"only"}, boost::test_tools::per_element());
  // Bad command lines.
  BOOST_TEST(run_cli("localstorage import").exit_code == 2);
  BOOST_TEST(run_cli("localstorage frobnicate").exit_code == 2);
  BOOST_TEST(run_cli("localstorage purge --clear").exit_code == 2);
  BOOST_TEST(run_cli("localstorage --help").exit_code == 0);
}

BOOST_AUTO_TEST_CASE(purge_and_usage) {
  Origin o;
  o.save("localstorage://a/one", model_tsd());
  o.save("localstorage://two", model_tsd());
  o.store().set_item("not a model", "kept");
  RunResult r = run_cli("localstorage usage " + o.cli_options());
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(r.out.find("keys:    11") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("quota:   5242880 UTF-16 code units") != std::string::npos, r.out);
  r = run_cli("localstorage purge " + o.cli_options());
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(r.out.find("a/one\ntwo\n") != std::string::npos, r.out);
  BOOST_TEST(r.out.find("purged 2 models") != std::string::npos, r.out);
  BOOST_TEST(o.store().keys() == std::vector<std::string>{"not a model"}, boost::test_tools::per_element());
  BOOST_TEST(o.list().empty());
  // A corrupt store file is reported, named, and left alone.
  write(o.file(), std::string(4096, '#'));
  r = run_cli("localstorage purge " + o.cli_options());
  BOOST_TEST(r.exit_code == 1);
  BOOST_TEST(r.out.find(o.file().string()) != std::string::npos, r.out);
  BOOST_TEST(r.out.find("[corrupt]") != std::string::npos, r.out);
  BOOST_TEST(read_file(o.file()) == std::string(4096, '#'));
}

BOOST_AUTO_TEST_SUITE_END()
