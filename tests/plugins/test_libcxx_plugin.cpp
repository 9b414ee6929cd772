// The memstore template plugin built by clang++ against libc++, loaded into this g++/libstdc++
// core: only the C ABI crosses the boundary, so a plugin from another compiler and standard
// library must work in full, exceptions inside it included.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>

#include <ostream>
#include <string>
#include <vector>

namespace modelport {
// Lets BOOST_TEST print an ErrorCode on failure (found by ADL).
inline std::ostream& boost_test_print_type(std::ostream& os, ErrorCode code) { return os << to_string(code); }
}  // namespace modelport

using namespace modelport;
namespace bj = boost::json;

namespace {

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

struct Host {
  RouterRegistry routers;
  ModelStoreRegistry stores;
  PluginManager manager{routers, stores};
};

ModelArtifacts model_with_weights() {
  ModelArtifacts a;
  a.model_topology = ModelTopology(bj::value{{"class_name", "Sequential"}, {"config", {{"name", "libcxx"}}}});
  a.weight_specs = std::vector<WeightSpec>{WeightSpec{"dense/kernel", {2, 2}, "float32", {}, {}, {}, {}},
                                           WeightSpec{"dense/bias", {2}, "float32", {}, {}, {}, {}}};
  std::vector<std::byte> bytes(24);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(0xA0 + i);
  // Two buffers, so the plugin sees more than one chunk.
  WeightData data(Buffer::adopt(std::vector<std::byte>(bytes.begin(), bytes.begin() + 10)));
  data.append(Buffer::adopt(std::vector<std::byte>(bytes.begin() + 10, bytes.end())));
  a.weight_data = std::move(data);
  a.format = bj::value("layers-model");
  a.generated_by = bj::value("modelport tests");
  a.converted_by = bj::value(nullptr);
  a.user_defined_metadata = bj::value{{"runtime", "libc++"}};
  return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(libcxx_plugin)

BOOST_AUTO_TEST_CASE(describes_itself_as_built_with_libcxx) {
  PluginInfo info = PluginManager::inspect(MODELPORT_LIBCXX_MEMSTORE_PLUGIN);
  BOOST_TEST(info.name == "memstore");
  BOOST_TEST(info.abi_major == 1u);
  BOOST_TEST(contains(info.build_info, "libc++"), info.build_info);
  BOOST_TEST(contains(info.build_info, "clang"), info.build_info);
  // The in-tree build of the same source says libstdc++: the two really differ.
  BOOST_TEST(contains(PluginManager::inspect(MODELPORT_MEMSTORE_PLUGIN).build_info, "libstdc++"));
}

BOOST_AUTO_TEST_CASE(save_load_list_remove_round_trip) {
  Host host;
  PluginInfo info = host.manager.load_plugin(MODELPORT_LIBCXX_MEMSTORE_PLUGIN);
  BOOST_TEST(contains(info.build_info, "libc++"), info.build_info);
  BOOST_TEST_REQUIRE(info.schemes.size() == 1u);
  BOOST_TEST(info.schemes[0].prefix == "memstore://");

  const ModelArtifacts saved = model_with_weights();
  modelport::save("memstore://nets/one", saved, {}, host.routers);
  modelport::save("memstore://nets/two", saved, {}, host.routers);
  ModelArtifacts loaded = modelport::load("memstore://nets/one", {}, host.routers);
  BOOST_TEST(same_model(saved, loaded));
  BOOST_TEST_REQUIRE(loaded.weight_data.has_value());
  BOOST_TEST(loaded.weight_data->size() == 24u);
  BOOST_TEST(loaded.converted_by.has_value());  // an explicit null survives the trip
  BOOST_TEST(loaded.converted_by->is_null());

  std::vector<std::string> urls;
  for (const auto& m : list_models("memstore://", {}, host.stores)) urls.push_back(m.url);
  BOOST_TEST((urls == std::vector<std::string>{"memstore://nets/one", "memstore://nets/two"}));

  remove_model("memstore://nets/one", {}, host.stores);
  urls.clear();
  for (const auto& m : list_models("memstore://", {}, host.stores)) urls.push_back(m.url);
  BOOST_TEST((urls == std::vector<std::string>{"memstore://nets/two"}));

  // A libc++ exception thrown and caught inside the plugin becomes a status.
  try {
    remove_model("memstore://nets/one", {}, host.stores);
    BOOST_FAIL("removing a removed model must fail");
  } catch (const Error& e) {
    BOOST_TEST(e.code() == ErrorCode::not_found);
    BOOST_TEST(std::string(e.what()) == "Cannot find model with path 'nets/one' in memstore.");
  }
  try {
    modelport::load("memstore://nets/one", {}, host.routers);
    BOOST_FAIL("loading a removed model must fail");
  } catch (const Error& e) {
    BOOST_TEST(e.code() == ErrorCode::not_found);
  }
  // Weights handed over without a copy are released through the plugin's own allocator.
  loaded = ModelArtifacts{};
  BOOST_TEST(same_model(saved, modelport::load("memstore://nets/two", {}, host.routers)));
  host.manager.finalize();
}

BOOST_AUTO_TEST_SUITE_END()
