// The conformance cases. Each one talks to the plugin only the way an application does: through
// modelport::save / load on the suite's RouterRegistry and list_models / remove_model on its
// ModelStoreRegistry, after PluginManager::load_plugin registered the plugin there.
#include "kit.hpp"

#include <modelport/json.hpp>
#include <modelport/plugin_abi.h>
#include <modelport/weight_spec.hpp>
#include <modelport/weight_stream.hpp>
#include <modelport/io_handler.hpp>

#include <algorithm>
#include <chrono>
#include <exception>
#include <latch>
#include <mutex>
#include <regex>
#include <thread>

namespace modelport::testkit::detail {

namespace {

namespace bj = boost::json;
using Clock = std::chrono::system_clock;

constexpr std::uint32_t kSave = capability::save;
constexpr std::uint32_t kLoad = capability::load;
constexpr std::uint32_t kList = capability::list;
constexpr std::uint32_t kRemove = capability::remove;

// A date more than this far from the save is wrong, not clock skew.
constexpr auto kDateTolerance = std::chrono::minutes(10);

bool contains(std::string_view haystack, std::string_view needle) { return haystack.find(needle) != std::string_view::npos; }

SaveResult save_model(Suite& s, const std::string& url, const ModelArtifacts& artifacts) {
  s.set_step("saving '" + url + "'");
  s.track_saved(url);  // before the call: a save that fails halfway may still leave something
  return save(url, artifacts, {}, s.routers);
}

ModelArtifacts load_model(Suite& s, const std::string& url) {
  s.set_step("loading '" + url + "'");
  return load(url, {}, s.routers);
}

std::vector<ListedModel> list_all(Suite& s) {
  s.set_step("listing '" + s.url_base() + "'");
  return list_models(s.url_base(), {}, s.stores);
}

void check_same(Suite& s, const ModelArtifacts& saved, const ModelArtifacts& loaded, const std::string& url) {
  BOOST_CHECK_MESSAGE(same_model(saved, loaded),
                      "modelport::same_model: the model loaded from '" << url << "' differs from the one saved");
  std::vector<std::string> notes;
  for (const auto& d : differences(saved, loaded, &notes)) BOOST_ERROR("'" << url << "': " << d);
  for (const auto& n : notes) s.note(n, n + " (first seen at '" + url + "')");
}

// A ModelArtifactsInfo the plugin reported for `saved` (save result, list, remove). Byte counts
// must be what TensorFlow.js computes (getModelArtifactsInfoForJSON); ABI 1 lets a plugin
// report one as unknown (-1), which is only a note unless the configuration requires counts.
void check_info(Suite& s, const ModelArtifactsInfo& info, const ModelArtifacts& saved, const std::string& what,
                Clock::time_point before, Clock::time_point after) {
  ModelArtifactsInfo expected = get_model_artifacts_info(saved);
  BOOST_CHECK_MESSAGE(info.model_topology_type == "JSON",
                      what << ": modelTopologyType is '" << info.model_topology_type << "', expected 'JSON'");
  struct Count {
    const char* name;
    const std::optional<std::uint64_t>& got;
    const std::optional<std::uint64_t>& want;
  };
  const Count counts[] = {{"modelTopologyBytes", info.model_topology_bytes, expected.model_topology_bytes},
                          {"weightSpecsBytes", info.weight_specs_bytes, expected.weight_specs_bytes},
                          {"weightDataBytes", info.weight_data_bytes, expected.weight_data_bytes}};
  for (const Count& c : counts) {
    if (!c.got) {
      if (s.config().require_info_byte_counts) {
        BOOST_ERROR(what << ": " << c.name << " is unknown, expected " << *c.want);
      } else {
        s.note(what.substr(0, what.find(' ')) + std::string(" ") + c.name,
               what.substr(0, what.find(' ')) + ": " + c.name +
                   " reported as unknown (-1); TensorFlow.js stores always report it "
                   "(run with --require-info-byte-counts to make this a failure)");
      }
    } else {
      BOOST_CHECK_MESSAGE(*c.got == *c.want, what << ": " << c.name << " is " << *c.got << ", expected " << *c.want);
    }
  }
  const bool date_ok = info.date_saved >= before - kDateTolerance && info.date_saved <= after + kDateTolerance;
  BOOST_CHECK_MESSAGE(date_ok, what << ": dateSaved " << format_iso8601(info.date_saved) << " is not the time of the save ("
                                    << format_iso8601(before) << " .. " << format_iso8601(after) << ")");
}

// Save, check the save result, load, compare.
ModelArtifacts round_trip(Suite& s, const std::string& url, const ModelArtifacts& artifacts) {
  auto before = Clock::now();
  SaveResult result = save_model(s, url, artifacts);
  auto after = Clock::now();
  check_info(s, result.model_artifacts_info, artifacts, "save result of '" + url + "'", before, after);
  ModelArtifacts loaded = load_model(s, url);
  check_same(s, artifacts, loaded, url);
  return loaded;
}

const ListedModel* find_listed(const std::vector<ListedModel>& listed, const std::string& url) {
  for (const auto& m : listed) {
    if (m.url == url) return &m;
  }
  return nullptr;
}

std::size_t count_listed(const std::vector<ListedModel>& listed, const std::string& url) {
  return static_cast<std::size_t>(std::count_if(listed.begin(), listed.end(), [&](const ListedModel& m) { return m.url == url; }));
}

std::string listed_urls(const std::vector<ListedModel>& listed) {
  std::string out;
  for (std::size_t i = 0; i < listed.size() && i < 20; ++i) out += (i ? ", '" : "'") + listed[i].url + "'";
  if (listed.size() > 20) out += ", ... (" + std::to_string(listed.size()) + " in all)";
  return out.empty() ? "nothing" : out;
}

ModelArtifacts with_all_metadata(std::string_view name, std::uint64_t seed) {
  ModelArtifacts a = make_model(name, seed);
  a.format = "layers-model";
  a.generated_by = "TensorFlow.js tfjs-layers v4.22.0";
  a.converted_by = "TensorFlow.js Converter v4.22.0";
  a.training_config = json::parse(
      R"({"optimizer_config":{"class_name":"Adam","config":{"learning_rate":0.001,"beta_1":0.9,"beta_2":0.999,)"
      R"("epsilon":1e-7}},"loss":"categorical_crossentropy","metrics":["accuracy"]})");
  a.signature = json::parse(
      R"({"inputs":{"x:0":{"name":"x:0","dtype":"DT_FLOAT","tensorShape":{"dim":[{"size":"-1"},{"size":"2"}]}}},)"
      R"("outputs":{"Identity:0":{"name":"Identity:0","dtype":"DT_FLOAT"}}})");
  a.user_defined_metadata = json::parse(
      R"({"author":"conformance kit","labels":["cat","dog","🐟 fish"],"threshold":0.75,"nested":{"deep":[1,[2,[3]]]},)"
      R"("nothing":null,"flag":false,"unicode key ü":"値"})");
  a.model_initializer = json::parse(
      R"({"node":[{"name":"hash_table","op":"HashTableV2","attr":{"key_dtype":{"type":"DT_STRING"}}}],)"
      R"("versions":{"producer":1482}})");
  a.initializer_signature = json::parse(R"({"outputs":{"init:0":{"name":"init:0","dtype":"DT_RESOURCE"}}})");
  a.extra_fields["x-unknown-top-level"] = json::parse(R"({"kept":[true,null,"text",1.5]})");
  a.extra_fields["zz_last"] = "order matters";
  return a;
}

// ---------------------------------------------------------------------------------------------

// The descriptor, read twice without init: well formed, and the same both times (the entry
// function must only describe the plugin).
void handshake(Suite& s) {
  const std::filesystem::path& path = s.config().plugin;
  s.set_step("inspecting '" + path.string() + "'");
  PluginInfo a = PluginManager::inspect(path);
  s.set_step("inspecting '" + path.string() + "' a second time");
  PluginInfo b = PluginManager::inspect(path);

  static const std::regex name_pattern("^[a-z0-9_-]{1,64}$");
  static const std::regex prefix_pattern("^[a-z][a-z0-9+.-]*://$");
  BOOST_CHECK_MESSAGE(std::regex_match(a.name, name_pattern), "plugin name '" << a.name << "' must match [a-z0-9_-]{1,64}");
  BOOST_CHECK_MESSAGE(!a.version.empty(), "the plugin has no version");
  BOOST_CHECK_MESSAGE(a.abi_major == MODELPORT_PLUGIN_ABI_MAJOR,
                      "ABI major is " << a.abi_major << ", expected " << MODELPORT_PLUGIN_ABI_MAJOR);
  if (a.sdk_version.empty()) s.note("sdk_version", "the descriptor has no sdk_version (modelport_set_version_metadata sets it)");
  BOOST_CHECK_MESSAGE(!a.schemes.empty(), "the plugin declares no scheme");
  std::vector<std::string> seen;
  for (const auto& scheme : a.schemes) {
    BOOST_CHECK_MESSAGE(std::regex_match(scheme.prefix, prefix_pattern),
                        "prefix '" << scheme.prefix << "' must match [a-z][a-z0-9+.-]*://");
    BOOST_CHECK_MESSAGE(scheme.capabilities != 0, "prefix '" << scheme.prefix << "' declares no capability");
    BOOST_CHECK_MESSAGE((scheme.capabilities & ~0x1Fu) == 0,
                        "prefix '" << scheme.prefix << "' declares unknown capability bits " << scheme.capabilities);
    BOOST_CHECK_MESSAGE(!(scheme.capabilities & capability::save_streamed) || (scheme.capabilities & kSave),
                        "prefix '" << scheme.prefix << "' declares save-streamed without save");
    BOOST_CHECK_MESSAGE(std::find(seen.begin(), seen.end(), scheme.prefix) == seen.end(),
                        "prefix '" << scheme.prefix << "' is declared twice");
    seen.push_back(scheme.prefix);
  }

  BOOST_CHECK_MESSAGE(a.name == b.name && a.version == b.version && a.sdk_version == b.sdk_version &&
                          a.build_info == b.build_info && a.abi_major == b.abi_major && a.abi_minor == b.abi_minor,
                      "the entry point describes the plugin differently the second time ('"
                          << a.name << "' " << a.version << " ABI " << a.abi_major << "." << a.abi_minor << " vs '" << b.name
                          << "' " << b.version << " ABI " << b.abi_major << "." << b.abi_minor << ")");
  bool same_schemes = a.schemes.size() == b.schemes.size();
  for (std::size_t i = 0; same_schemes && i < a.schemes.size(); ++i) {
    same_schemes = a.schemes[i].prefix == b.schemes[i].prefix && a.schemes[i].capabilities == b.schemes[i].capabilities;
  }
  BOOST_CHECK_MESSAGE(same_schemes, "the entry point declares different schemes the second time");

  BOOST_CHECK_MESSAGE(s.config_error().empty(), "configuration: " << s.config_error());
}

// load_plugin registers the plugin's prefixes in the suite's registries, for exactly the
// declared capabilities.
void load_plugin(Suite& s) {
  s.set_step("loading the plugin with PluginManager::load_plugin('" + s.config().plugin.string() + "')");
  PluginInfo info = s.ensure_loaded();
  if (const auto& inspected = s.inspected()) {
    BOOST_CHECK_MESSAGE(info.name == inspected->name && info.version == inspected->version,
                        "load_plugin reports " << info.name << " " << info.version << ", inspect reported "
                                               << inspected->name << " " << inspected->version);
  }
  const auto plugins = s.manager()->plugins();
  BOOST_CHECK_MESSAGE(plugins.size() == 1 && plugins.front().name == info.name,
                      "PluginManager::plugins() does not list exactly the loaded plugin");

  BOOST_REQUIRE_MESSAGE(!s.prefix().empty(), "no scheme of the plugin serves the URL base '" << s.url_base() << "'");
  const std::uint32_t caps = s.plugin_capabilities();
  const std::string url = s.url(s.unique_name("probe"));
  s.set_step("asking the routers for handlers of '" + url + "'");
  auto saves = s.routers.get_save_handlers(url);
  auto loads = s.routers.get_load_handlers(url);
  if (caps & kSave) {
    BOOST_CHECK_MESSAGE(saves.size() == 1 && saves.front().handler && saves.front().handler->can_save(),
                        "declares save, but the registry has " << saves.size() << " save handlers for '" << url << "'");
  } else {
    BOOST_CHECK_MESSAGE(saves.empty(), "does not declare save, but a save handler is registered for '" << url << "'");
  }
  if (caps & kLoad) {
    BOOST_CHECK_MESSAGE(loads.size() == 1 && loads.front().handler && loads.front().handler->can_load(),
                        "declares load, but the registry has " << loads.size() << " load handlers for '" << url << "'");
  } else {
    BOOST_CHECK_MESSAGE(loads.empty(), "does not declare load, but a load handler is registered for '" << url << "'");
  }
  const auto schemes = s.stores.schemes();
  const bool managed = std::find(schemes.begin(), schemes.end(), s.prefix()) != schemes.end();
  BOOST_CHECK_MESSAGE(managed == ((caps & (kList | kRemove)) != 0),
                      "model store manager for " << s.prefix() << (managed ? " registered" : " missing")
                                                 << " with capabilities '" << capabilities_text(caps) << "'");
}

void round_trip_topology_only(Suite& s) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(make_topology("topology only"));
  a.format = "layers-model";
  a.generated_by = "TensorFlow.js tfjs-layers v4.22.0";
  a.converted_by = bj::value(nullptr);
  ModelArtifacts loaded = round_trip(s, s.url(s.unique_name("topology-only")), a);
  BOOST_CHECK_MESSAGE(!loaded.weight_specs && !loaded.weight_data,
                      "a model saved without weights came back with weight specs or weight data");
}

void round_trip_topology_and_weights(Suite& s) {
  ModelArtifacts a = make_model("topology and weights", 11);
  ModelArtifacts loaded = round_trip(s, s.url(s.unique_name("weights")), a);
  BOOST_CHECK_MESSAGE(loaded.weight_data && loaded.weight_data->size() == 36, "expected 36 weight bytes back");
  BOOST_CHECK_MESSAGE(loaded.weight_specs && loaded.weight_specs->size() == 2, "expected 2 weight specs back");
}

// Weight data in 1000 buffers of varying sizes, some of them empty: the plugin receives many
// chunks and must store their concatenation.
void round_trip_many_chunks(Suite& s) {
  constexpr std::size_t kBuffers = 1000;
  std::vector<std::uint64_t> sizes(kBuffers);
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < kBuffers; ++i) {
    sizes[i] = (i % 10 == 3 || i == 0 || i == kBuffers - 1) ? 0 : (i * 7919u) % 2039u + (i % 3);
    total += sizes[i];
  }
  const std::uint64_t budget = s.weight_budget(total);
  if (budget < total) {
    std::uint64_t scaled = 0;
    for (auto& size : sizes) scaled += (size = size * budget / total);
    total = scaled;
  }
  WeightData data;
  for (std::size_t i = 0; i < kBuffers; ++i) {
    BufferBuilder builder(static_cast<std::size_t>(sizes[i]));
    fill_bytes(builder.data(), 5000 + i);
    data.append(std::move(builder).finish());
  }
  BOOST_REQUIRE_EQUAL(data.buffers().size(), kBuffers);
  ModelArtifacts a;
  a.model_topology = ModelTopology(make_topology("many chunks"));
  a.weight_specs = specs_for_bytes("chunked", total);
  a.weight_data = std::move(data);
  ModelArtifacts loaded = round_trip(s, s.url(s.unique_name("many-chunks")), a);
  BOOST_CHECK_MESSAGE(loaded.weight_data && loaded.weight_data->size() == total,
                      "expected " << total << " weight bytes back, got "
                                  << (loaded.weight_data ? std::to_string(loaded.weight_data->size()) : "none"));
}

// Tensors with a 0 dimension take 0 bytes; the model still has weights (specs and an empty
// weight data), which must not turn into "no weights".
void round_trip_zero_length_weights(Suite& s) {
  const auto specs = specs_from_text(
      R"([{"name":"empty/kernel","shape":[0,3],"dtype":"float32"},{"name":"empty/strings","shape":[0],"dtype":"string"},)"
      R"({"name":"empty/quantized","shape":[2,0],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.5}}])");
  std::vector<std::pair<std::string, WeightData>> variants;
  variants.emplace_back("no buffers", WeightData());
  variants.emplace_back("empty buffers", WeightData(std::vector<Buffer>{Buffer(), Buffer::copy_of(std::string_view()), Buffer()}));
  for (auto& [label, data] : variants) {
    BOOST_TEST_CONTEXT("weight data with " << label) {
      ModelArtifacts a;
      a.model_topology = ModelTopology(make_topology("zero-length weights, " + label));
      a.weight_specs = specs;
      a.weight_data = data;
      ModelArtifacts loaded = round_trip(s, s.url(s.unique_name("zero-length")), a);
      BOOST_CHECK_MESSAGE(loaded.weight_data && loaded.weight_data->size() == 0,
                          "expected weight data of 0 bytes back (present, not absent)");
      BOOST_CHECK_MESSAGE(loaded.weight_specs && loaded.weight_specs->size() == 3, "expected the 3 weight specs back");
    }
  }
}

void round_trip_large_model(Suite& s) {
  const std::uint64_t bytes = s.weight_budget(kLargeModelBytes);
  ModelArtifacts a;
  a.model_topology = ModelTopology(make_topology("large"));
  a.weight_specs = specs_for_bytes("large", bytes);
  // 4 MiB buffers: the shard size of the TensorFlow.js converter.
  a.weight_data = make_weight_data(bytes, 77, 4u << 20);
  const std::string url = s.url(s.unique_name("large"));
  {
    ModelArtifacts loaded = round_trip(s, url, a);
    BOOST_CHECK_MESSAGE(loaded.weight_data && loaded.weight_data->size() == bytes,
                        "expected " << bytes << " weight bytes back");
  }
  // Free the store's copy now rather than at the end of the suite.
  if (s.has(kRemove)) {
    s.set_step("removing '" + url + "'");
    remove_model(url, {}, s.stores);
  }
}

// A weight stream whose parts are fresh memory that is overwritten once the last reference to
// it is released (and then kept, so that nothing reads freed memory): a saver that keeps a span
// past its for_each_chunk call, when the core has already let the part go, stores the poison,
// and the round trip shows it. `fail_at` makes reading that part throw, like a source gone bad.
class PoisoningStream final : public WeightStream {
 public:
  PoisoningStream(const WeightData& data, std::optional<std::size_t> fail_at)
      : WeightStream(sizes_of(data)), data_(data), fail_at_(fail_at) {}

 protected:
  Buffer read_part(std::size_t index) override {
    if (fail_at_ && index == *fail_at_) {
      throw Error(ErrorCode::unavailable, "the test source failed on purpose at part " + std::to_string(index + 1));
    }
    const Buffer& source = data_.buffers()[index];
    auto bytes = std::make_shared<std::vector<std::byte>>(source.begin(), source.end());
    auto graveyard = graveyard_;
    return Buffer::external(bytes->data(), bytes->size(), [bytes, graveyard] {
      std::fill(bytes->begin(), bytes->end(), std::byte{0xA5});
      std::lock_guard lock(graveyard->mutex);
      graveyard->kept.push_back(bytes);
    });
  }

 private:
  static std::vector<std::uint64_t> sizes_of(const WeightData& data) {
    std::vector<std::uint64_t> sizes;
    for (const Buffer& b : data.buffers()) sizes.push_back(b.size());
    return sizes;
  }
  struct Graveyard {
    std::mutex mutex;
    std::vector<std::shared_ptr<std::vector<std::byte>>> kept;
  };
  const WeightData& data_;
  std::optional<std::size_t> fail_at_;
  std::shared_ptr<Graveyard> graveyard_ = std::make_shared<Graveyard>();
};

HandlerPtr one_handler(Suite& s, const std::string& url, bool saving) {
  auto found = saving ? s.routers.get_save_handlers(url, {}) : s.routers.get_load_handlers(url, {});
  BOOST_REQUIRE_MESSAGE(found.size() == 1, "expected one " << (saving ? "save" : "load") << " handler for '" << url << "'");
  return std::move(found.front().handler);
}

// ABI 1.1 streaming copies: a save fed part by part (what `modelport cp` does), a load read part
// by part, and a source that fails halfway, which must leave the previous model in place.
void streamed_save_and_load(Suite& s) {
  if (!(s.plugin_capabilities() & capability::save_streamed)) {
    s.note("save-streamed", "the scheme does not declare save-streamed: copies into it hold the whole model in memory");
  }
  ModelArtifacts a;
  a.model_topology = ModelTopology(make_topology("streamed"));
  const std::uint64_t total = s.weight_budget(3u << 20);
  a.weight_specs = specs_for_bytes("streamed", total);
  a.weight_data = make_weight_data(total, 131, 256u << 10);
  const std::string url = s.url(s.unique_name("streamed"));
  ModelArtifacts meta = a;
  meta.weight_data.reset();
  {
    PoisoningStream stream(*a.weight_data, std::nullopt);
    s.set_step("streamed save to '" + url + "'");
    s.track_saved(url);
    one_handler(s, url, true)->save_streamed(meta, &stream);
  }
  check_same(s, a, load_model(s, url), url);

  s.set_step("streamed load of '" + url + "'");
  StreamedModel streamed = one_handler(s, url, false)->load_streamed();
  BOOST_REQUIRE_MESSAGE(streamed.weights, "load_streamed of '" << url << "' gave no weights");
  BOOST_CHECK_EQUAL(streamed.weights->size(), total);
  ModelArtifacts whole = std::move(streamed.artifacts);
  whole.weight_data = drain(*streamed.weights);
  check_same(s, a, whole, url);

  ModelArtifacts other = a;
  other.model_topology = ModelTopology(make_topology("streamed, second version"));
  other.weight_data = make_weight_data(total, 132, 256u << 10);
  ModelArtifacts other_meta = other;
  other_meta.weight_data.reset();
  PoisoningStream failing(*other.weight_data, std::size_t{2});
  s.set_step("streamed save that fails at part 3 over '" + url + "'");
  bool failed = false;
  try {
    one_handler(s, url, true)->save_streamed(other_meta, &failing);
  } catch (const Error& e) {
    failed = true;
    BOOST_CHECK_MESSAGE(contains(e.what(), "failed on purpose"), "the save's error hides the source's: " << e.what());
  }
  BOOST_CHECK_MESSAGE(failed, "a save whose source failed at part 3 succeeded");
  check_same(s, a, load_model(s, url), url + " after a failed streamed save");
}

void metadata_fidelity(Suite& s) {
  ModelArtifacts a = with_all_metadata("metadata", 21);
  round_trip(s, s.url(s.unique_name("metadata")), a);
}

// Null versus absent. What a store must keep follows TensorFlow.js's own stores (tfjs-io §1.2):
//  - format, generatedBy, convertedBy are copied as they are: an explicit null is written to
//    model.json and read back as null ("convertedBy":null is the common case), so null must stay
//    null;
//  - trainingConfig, signature, userDefinedMetadata, modelInitializer, initializerSignature are
//    written and read only when not null-ish, so an explicit null may come back absent (or null);
//  - an absent field is never written, so it must not come back with a value; coming back null
//    is tolerated (a store whose format cannot say "absent") and noted.
// modelport::same_model treats null and absent alike, so differences() checks these rules.
void null_and_absent_fields(Suite& s) {
  ModelArtifacts absent = make_model("all absent", 31);
  round_trip(s, s.url(s.unique_name("absent-fields")), absent);

  ModelArtifacts nulls = make_model("all null", 32);
  for (JsonField* f : {&nulls.format, &nulls.generated_by, &nulls.converted_by, &nulls.training_config, &nulls.signature,
                       &nulls.user_defined_metadata, &nulls.model_initializer, &nulls.initializer_signature}) {
    *f = bj::value(nullptr);
  }
  ModelArtifacts loaded = round_trip(s, s.url(s.unique_name("null-fields")), nulls);
  BOOST_CHECK_MESSAGE(loaded.converted_by && loaded.converted_by->is_null(), "convertedBy: null did not come back as null");
}

// Manifest entries are kept as the objects they are (tfjs-io §1.3): quantization blocks with
// their min/scale and original_dtype, groups, unknown keys, and key order.
void weight_spec_fidelity(Suite& s) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(make_topology("weight specs"));
  a.weight_specs = specs_from_text(
      R"([{"name":"dense/kernel","shape":[2,3],"dtype":"float32","quantization":{"dtype":"uint8","min":-1,"scale":0.1}},)"
      R"({"name":"dense/bias","shape":[3],"dtype":"float32","quantization":{"dtype":"float16","original_dtype":"float32"}},)"
      R"({"name":"int/quantized","shape":[2],"dtype":"int32","quantization":{"dtype":"uint16","min":-2.5,"scale":0.5,)"
      R"("original_dtype":"int32","x-quantization-extra":[1,2]}},)"
      R"({"name":"optimizer/iter","shape":[],"dtype":"int32","group":"optimizer"},)"
      R"({"name":"Adam/dense/kernel/m","shape":[3],"dtype":"float32","group":"optimizer","x-digest":"sha256:00ff",)"
      R"("x-note":{"nested":[1,null,"two"]}},)"
      R"({"name":"strings","shape":[2],"dtype":"string"},)"
      R"({"name":"flags","shape":[3],"dtype":"bool","group":"model"},)"
      R"({"name":"complex","shape":[1],"dtype":"complex64"},)"
      R"({"dtype":"float32","x-first":true,"shape":[1],"name":"reordered keys"}])");
  // 6 + 6 + 4 + 4 + 12 + (4+3 + 4+0) + 3 + 8 + 4 bytes; the strings are length-prefixed.
  std::vector<std::byte> bytes(6 + 6 + 4 + 4 + 12);
  fill_bytes(bytes, 41);
  const unsigned char strings[] = {3, 0, 0, 0, 'a', 'b', 'c', 0, 0, 0, 0};
  for (unsigned char c : strings) bytes.push_back(static_cast<std::byte>(c));
  std::vector<std::byte> rest(3 + 8 + 4);
  fill_bytes(rest, 42);
  rest[0] = std::byte{1};
  rest[1] = std::byte{0};
  rest[2] = std::byte{1};
  bytes.insert(bytes.end(), rest.begin(), rest.end());
  a.weight_data = WeightData(Buffer::adopt(std::move(bytes)));
  ModelArtifacts loaded = round_trip(s, s.url(s.unique_name("weight-specs")), a);
  if (loaded.weight_specs && loaded.weight_specs->size() == a.weight_specs->size()) {
    const auto& specs = *loaded.weight_specs;
    BOOST_CHECK_MESSAGE(specs[0].quantization && specs[0].quantization->min == -1.0 && specs[0].quantization->scale == 0.1,
                        "uint8 quantization min/scale did not survive");
    BOOST_CHECK_MESSAGE(specs[1].quantization && specs[1].quantization->dtype == "float16" &&
                            specs[1].quantization->original_dtype == "float32",
                        "float16 quantization did not survive");
    BOOST_CHECK_MESSAGE(specs[3].group == "optimizer", "group \"optimizer\" did not survive");
    BOOST_CHECK_MESSAGE(specs[4].extra.contains("x-digest") && specs[4].extra.contains("x-note"),
                        "unknown keys of a weight spec did not survive");
    BOOST_CHECK_MESSAGE(specs[2].quantization && specs[2].quantization->extra.contains("x-quantization-extra"),
                        "unknown keys of a quantization block did not survive");
  }
}

// Names a URL parser or a file system might mangle. Pairs that a sloppy percent-decoder would
// map to the same key are saved with different content, all before any is loaded back.
void model_names(Suite& s) {
  const std::string tag = s.unique_name("names");
  const std::vector<std::string> names = {
      tag + " with spaces",        tag + "%20with%20spaces", tag + " 100% sure",    tag + "%25",
      tag + "-ünïcödé-模型-🙂",    tag + "/nested/path/model", tag + "%2Fnested%2Fpath%2Fmodel",
      tag + " mixed/ü %41/x",      tag + "-trailing.dot.",
  };
  std::vector<ModelArtifacts> models;
  for (std::size_t i = 0; i < names.size(); ++i) {
    models.push_back(make_model(names[i], 100 + i));
    auto before = Clock::now();
    SaveResult r = save_model(s, s.url(names[i]), models.back());
    check_info(s, r.model_artifacts_info, models.back(), "save result of '" + s.url(names[i]) + "'", before, Clock::now());
  }
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string url = s.url(names[i]);
    ModelArtifacts loaded = load_model(s, url);
    check_same(s, models[i], loaded, url);
  }
  if (s.has(kList)) {
    auto listed = list_all(s);
    for (const auto& name : names) {
      BOOST_CHECK_MESSAGE(count_listed(listed, s.url(name)) == 1,
                          "list_models('" << s.url_base() << "') does not list '" << s.url(name) << "' exactly once; it lists "
                                          << listed_urls(listed));
    }
  }
}

void load_missing_model(Suite& s) {
  const std::string name = s.unique_name("missing");
  const std::string url = s.url(name);
  auto e = expect_error(s, "load of the missing model '" + url + "'", {ErrorCode::not_found}, [&] { load(url, {}, s.routers); });
  if (e) {
    BOOST_CHECK_MESSAGE(contains(e->what(), url) || contains(e->what(), name),
                        "the not_found message names neither the URL nor the model: '" << e->what() << "'");
  }
}

void overwrite(Suite& s) {
  const std::string url = s.url(s.unique_name("overwrite"));
  ModelArtifacts first = make_model("first", 51);
  ModelArtifacts second = with_all_metadata("second", 52);
  second.weight_specs = specs_for_bytes("second", 1001);
  second.weight_data = make_weight_data(1001, 53, 100);
  save_model(s, url, first);
  auto before = Clock::now();
  SaveResult r = save_model(s, url, second);
  check_info(s, r.model_artifacts_info, second, "save result of '" + url + "'", before, Clock::now());
  ModelArtifacts loaded = load_model(s, url);
  check_same(s, second, loaded, url);
  BOOST_CHECK_MESSAGE(!same_model(first, loaded), "the second save to '" << url << "' did not replace the first");
  if (s.has(kList)) {
    auto listed = list_all(s);
    BOOST_CHECK_MESSAGE(count_listed(listed, url) == 1,
                        "after two saves, '" << url << "' is listed " << count_listed(listed, url) << " times");
    if (const ListedModel* m = find_listed(listed, url)) {
      check_info(s, m->info, second, "list entry of '" + url + "'", before, Clock::now());
    }
  }
}

void list_models_case(Suite& s) {
  std::vector<std::string> urls;
  std::vector<ModelArtifacts> models;
  auto before = Clock::now();
  for (int i = 0; i < 3; ++i) {
    urls.push_back(s.url(s.unique_name("list")));
    ModelArtifacts m = i == 1 ? with_all_metadata("listed", 61) : make_model("listed " + std::to_string(i), 60 + i);
    if (i == 2) {
      m.weight_specs = specs_for_bytes("listed", 4099);
      m.weight_data = make_weight_data(4099, 62, 1000);
    }
    save_model(s, urls.back(), m);
    models.push_back(std::move(m));
  }
  auto after = Clock::now();
  auto listed = list_all(s);
  for (std::size_t i = 0; i < urls.size(); ++i) {
    BOOST_CHECK_MESSAGE(count_listed(listed, urls[i]) == 1, "list_models('" << s.url_base() << "') does not list '"
                                                                            << urls[i] << "' exactly once; it lists "
                                                                            << listed_urls(listed));
    if (const ListedModel* m = find_listed(listed, urls[i])) {
      check_info(s, m->info, models[i], "list entry of '" + urls[i] + "'", before, after);
    }
  }
}

void remove_model_case(Suite& s) {
  const std::string gone = s.url(s.unique_name("remove"));
  const std::string kept = s.url(s.unique_name("remove-kept"));
  ModelArtifacts a = make_model("to be removed", 71);
  ModelArtifacts b = make_model("kept", 72);
  auto before = Clock::now();
  save_model(s, gone, a);
  auto after = Clock::now();
  save_model(s, kept, b);

  s.set_step("removing '" + gone + "'");
  ModelArtifactsInfo info = remove_model(gone, {}, s.stores);
  check_info(s, info, a, "remove result of '" + gone + "'", before, after);

  if (s.has(kLoad)) {
    expect_error(s, "load of the removed model '" + gone + "'", {ErrorCode::not_found}, [&] { load(gone, {}, s.routers); });
    ModelArtifacts loaded = load_model(s, kept);
    check_same(s, b, loaded, kept);
  }
  if (s.has(kList)) {
    auto listed = list_all(s);
    BOOST_CHECK_MESSAGE(!find_listed(listed, gone), "the removed model '" << gone << "' is still listed");
    BOOST_CHECK_MESSAGE(find_listed(listed, kept), "removing '" << gone << "' also removed '" << kept << "' from the list");
  }
  expect_error(s, "second removal of '" + gone + "'", {ErrorCode::not_found}, [&] { remove_model(gone, {}, s.stores); });
}

void remove_missing_model(Suite& s) {
  const std::string name = s.unique_name("never-saved");
  const std::string url = s.url(name);
  auto e = expect_error(s, "removal of the missing model '" + url + "'", {ErrorCode::not_found},
                        [&] { remove_model(url, {}, s.stores); });
  if (e) {
    BOOST_CHECK_MESSAGE(contains(e->what(), url) || contains(e->what(), name),
                        "the not_found message names neither the URL nor the model: '" << e->what() << "'");
  }
}

// Eight threads save distinct models at once, then eight threads load them back at once. Boost
// assertions are not thread-safe, so the threads only collect results.
void concurrent_saves(Suite& s) {
  constexpr std::size_t kThreads = 8;
  std::vector<std::string> urls;
  std::vector<ModelArtifacts> models;
  for (std::size_t i = 0; i < kThreads; ++i) {
    urls.push_back(s.url(s.unique_name("concurrent")));
    ModelArtifacts m = make_model("concurrent " + std::to_string(i), 900 + i);
    const std::uint64_t bytes = s.weight_budget(64 * 1024 + 1000 * i);
    m.weight_specs = specs_for_bytes("concurrent", bytes);
    m.weight_data = make_weight_data(bytes, 900 + i, 16 * 1024);
    models.push_back(std::move(m));
    s.track_saved(urls.back());
  }
  auto run = [&](auto&& work) {
    std::vector<std::string> failures(kThreads);
    std::latch start(static_cast<std::ptrdiff_t>(kThreads));
    std::vector<std::thread> threads;
    for (std::size_t i = 0; i < kThreads; ++i) {
      threads.emplace_back([&, i] {
        start.arrive_and_wait();
        try {
          work(i);
        } catch (const Error& e) {
          s.record_error(e, "concurrent call for '" + urls[i] + "'");
          failures[i] = describe(e);
        } catch (const std::exception& e) {
          failures[i] = std::string("non-modelport exception: ") + e.what();
        } catch (...) {
          failures[i] = "unknown exception";
        }
      });
    }
    for (auto& t : threads) t.join();
    return failures;
  };
  s.set_step("saving from " + std::to_string(kThreads) + " threads");
  auto save_failures = run([&](std::size_t i) { save(urls[i], models[i], {}, s.routers); });
  for (std::size_t i = 0; i < kThreads; ++i) {
    BOOST_CHECK_MESSAGE(save_failures[i].empty(), "concurrent save of '" << urls[i] << "' failed: " << save_failures[i]);
  }
  std::vector<std::optional<ModelArtifacts>> loaded(kThreads);
  s.set_step("loading from " + std::to_string(kThreads) + " threads");
  auto load_failures = run([&](std::size_t i) { loaded[i] = load(urls[i], {}, s.routers); });
  for (std::size_t i = 0; i < kThreads; ++i) {
    BOOST_CHECK_MESSAGE(load_failures[i].empty(), "concurrent load of '" << urls[i] << "' failed: " << load_failures[i]);
    if (loaded[i]) check_same(s, models[i], *loaded[i], urls[i]);
  }
}

// Handlers pin their plugin: after they were created, clearing the registries they came from
// must not break them. The case loads a second instance of the plugin into registries of its
// own, so the suite's registries stay intact for the other cases; the plugin must therefore
// support being initialized by two managers, each with its own state (which the ABI's
// plugin_state allows). The two instances need not share stored models, so everything here goes
// through the second instance.
void handler_outlives_registry(Suite& s) {
  RouterRegistry routers;
  ModelStoreRegistry stores;
  PluginManager manager(routers, stores);
  s.set_step("loading a second instance of the plugin");
  manager.load_plugin(s.config().plugin);

  const std::string url = s.url(s.unique_name("outlives"));
  ModelArtifacts first = make_model("before clear", 81);
  ModelArtifacts second = with_all_metadata("after clear", 82);
  s.set_step("saving '" + url + "' through the second instance");
  s.track_saved(url);
  save(url, first, {}, routers);

  s.set_step("creating handlers for '" + url + "'");
  auto loads = routers.get_load_handlers(url);
  auto saves = routers.get_save_handlers(url);
  BOOST_REQUIRE_EQUAL(loads.size(), 1u);
  BOOST_REQUIRE_EQUAL(saves.size(), 1u);
  std::shared_ptr<ModelStoreManager> store;
  if (s.has(kList) || s.has(kRemove)) store = stores.manager_for(url);

  routers.clear();
  stores.clear();
  BOOST_CHECK_MESSAGE(routers.get_load_handlers(url).empty(), "RouterRegistry::clear() left a load router behind");

  s.set_step("loading through a handler whose registry entry is gone");
  ModelArtifacts loaded = loads.front().handler->load();
  check_same(s, first, loaded, url);
  s.set_step("saving through a handler whose registry entry is gone");
  saves.front().handler->save(second);
  s.set_step("loading again through a handler whose registry entry is gone");
  loaded = loads.front().handler->load();
  check_same(s, second, loaded, url);
  if (store && s.has(kList)) {
    s.set_step("listing through a manager whose registry entry is gone");
    auto listed = store->list_models(s.url_base(), {});
    BOOST_CHECK_MESSAGE(find_listed(listed, url), "'" << url << "' is not listed by the detached manager");
  }
  if (store && s.has(kRemove)) {
    s.set_step("removing through a manager whose registry entry is gone");
    store->remove_model(url, {});
  }
  loads.clear();
  saves.clear();
  store.reset();
  s.set_step("finalizing the second instance");
  manager.finalize();
}

// Failures arrive as modelport::Error, never as another exception type or a crash. The scheme
// root itself (an empty model name) is the classic case a plugin forgets.
void no_exception_escapes(Suite& s) {
  const std::string root = s.prefix();
  BOOST_REQUIRE_MESSAGE(!root.empty(), "no scheme of the plugin serves the URL base");
  const std::initializer_list<ErrorCode> bad_name = {ErrorCode::invalid_argument, ErrorCode::not_found};
  if (s.has(kLoad)) {
    expect_error(s, "load of '" + root + "' (empty model name)", bad_name, [&] { load(root, {}, s.routers); });
    expect_error(s, "load of a name with invalid UTF-8", bad_name,
                 [&] { load(s.url(s.unique_name("bad-utf8") + "\xff\xfe\xc0"), {}, s.routers); });
    expect_error(s, "load of a 4096-character name", bad_name,
                 [&] { load(s.url(s.unique_name("long") + std::string(4096, 'x')), {}, s.routers); });
  }
  if (s.has(kSave)) {
    expect_error(s, "save to '" + root + "' (empty model name)", bad_name, [&] { save(root, make_model("root", 91), {}, s.routers); });
  }
  if (s.has(kRemove)) {
    expect_error(s, "removal of '" + root + "' (empty model name)", bad_name, [&] { remove_model(root, {}, s.stores); });
  }
  // Inputs a plugin may accept or refuse, but only with a modelport::Error.
  auto accept_or_error = [&](const std::string& what, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      s.record_error(e, what);
      BOOST_CHECK_MESSAGE(std::string_view(e.what()).find_first_not_of(" \t\r\n") != std::string_view::npos,
                          what << ": Error(" << to_string(e.code()) << ") has an empty message");
    } catch (const std::exception& e) {
      BOOST_ERROR(what << ": a " << typeid(e).name() << " escaped: " << e.what());
    } catch (...) {
      BOOST_ERROR(what << ": a non-std exception escaped");
    }
  };
  if (s.has(kSave | kLoad)) {
    // A raw-bytes topology (a binary GraphDef), with NUL bytes: stored faithfully or refused.
    ModelArtifacts binary = make_model("binary", 92);
    binary.model_topology = ModelTopology(Buffer::copy_of(std::string_view("\0\x01\x02graphdef\xff\0", 13)));
    const std::string url = s.url(s.unique_name("binary-topology"));
    accept_or_error("save of a raw-bytes topology to '" + url + "'", [&] {
      s.track_saved(url);
      save(url, binary, {}, s.routers);
      ModelArtifacts loaded = load(url, {}, s.routers);
      check_same(s, binary, loaded, url);
    });
    // A model with nothing in it.
    const std::string empty_url = s.url(s.unique_name("empty-model"));
    accept_or_error("save of an empty model to '" + empty_url + "'", [&] {
      s.track_saved(empty_url);
      save(empty_url, ModelArtifacts{}, {}, s.routers);
      ModelArtifacts loaded = load(empty_url, {}, s.routers);
      check_same(s, ModelArtifacts{}, loaded, empty_url);
    });
  }
  if (s.has(kList)) {
    accept_or_error("list of a URL below the base", [&] { list_models(s.url(s.unique_name("no-such-folder") + "/"), {}, s.stores); });
  }
}

// Every Error the suite has seen carries a message. Runs last so it sees the others' errors; it
// provokes a few of its own so it checks something when run alone.
void errors_have_messages(Suite& s) {
  const std::string root = s.prefix();
  auto provoke = [&](const std::string& what, const std::function<void()>& fn) {
    try {
      fn();
    } catch (const Error& e) {
      s.record_error(e, what);
    } catch (...) {
      // no_exception_escapes reports foreign exceptions; this case is about messages.
    }
  };
  if (s.has(kLoad)) {
    provoke("load of a missing model", [&] { load(s.url(s.unique_name("missing")), {}, s.routers); });
    provoke("load of the scheme root", [&] { load(root, {}, s.routers); });
  }
  if (s.has(kRemove)) provoke("removal of a missing model", [&] { remove_model(s.url(s.unique_name("missing")), {}, s.stores); });
  if (s.has(kSave)) provoke("save to the scheme root", [&] { save(root, make_model("root", 93), {}, s.routers); });

  const auto errors = s.recorded_errors();
  BOOST_TEST_MESSAGE(errors.size() << " errors recorded during the suite");
  BOOST_CHECK_MESSAGE(!errors.empty(), "no error was provoked, so nothing was checked");
  for (const auto& e : errors) {
    BOOST_CHECK_MESSAGE(e.message.find_first_not_of(" \t\r\n") != std::string::npos,
                        "Error(" << to_string(e.code) << ") from " << e.where << " has an empty message");
    // The core never lets an Error go out empty: when a plugin fails without a message it
    // substitutes "plugin '<name>' failed to <what> without giving a reason". That text is
    // the core's, so it still means the plugin gave no reason.
    BOOST_CHECK_MESSAGE(!contains(e.message, "without giving a reason"),
                        "Error(" << to_string(e.code) << ") from " << e.where
                                 << ": the plugin failed without a message (the core substituted '" << e.message << "')");
  }
}

// __FILE__/__LINE__ of the table entry, so Boost.Test points at this file, not at the kit's
// registration code.
#define KIT_CASE(name, needs, body) CaseDef{name, needs, &body, __FILE__, __LINE__}
constexpr CaseDef kCases[] = {
    KIT_CASE("handshake", 0, handshake),
    KIT_CASE("load_plugin", 0, load_plugin),
    KIT_CASE("round_trip_topology_only", kSave | kLoad, round_trip_topology_only),
    KIT_CASE("round_trip_topology_and_weights", kSave | kLoad, round_trip_topology_and_weights),
    KIT_CASE("round_trip_many_chunks", kSave | kLoad, round_trip_many_chunks),
    KIT_CASE("round_trip_zero_length_weights", kSave | kLoad, round_trip_zero_length_weights),
    KIT_CASE("round_trip_large_model", kSave | kLoad, round_trip_large_model),
    KIT_CASE("streamed_save_and_load", kSave | kLoad, streamed_save_and_load),
    KIT_CASE("metadata_fidelity", kSave | kLoad, metadata_fidelity),
    KIT_CASE("null_and_absent_fields", kSave | kLoad, null_and_absent_fields),
    KIT_CASE("weight_spec_fidelity", kSave | kLoad, weight_spec_fidelity),
    KIT_CASE("model_names", kSave | kLoad, model_names),
    KIT_CASE("load_missing_model", kLoad, load_missing_model),
    KIT_CASE("overwrite", kSave | kLoad, overwrite),
    KIT_CASE("list_models", kSave | kList, list_models_case),
    KIT_CASE("remove_model", kSave | kRemove, remove_model_case),
    KIT_CASE("remove_missing_model", kRemove, remove_missing_model),
    KIT_CASE("concurrent_saves", kSave | kLoad, concurrent_saves),
    KIT_CASE("handler_outlives_registry", kSave | kLoad, handler_outlives_registry),
    KIT_CASE("no_exception_escapes", 0, no_exception_escapes),
    KIT_CASE("errors_have_messages", 0, errors_have_messages),
};
#undef KIT_CASE

}  // namespace

std::span<const CaseDef> all_cases() { return kCases; }

}  // namespace modelport::testkit::detail
