// Router registry (§6 router_registry_test 1–5), the save/load policy (§2.5), and the in-memory
// handlers (§6 passthrough_test 144–155).
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/memory_handlers.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>

using namespace modelport;
namespace bj = boost::json;

namespace {

// A handler that remembers which router made it and the options it saw.
class TaggedHandler : public IOHandler {
 public:
  TaggedHandler(std::string t, const CommonOptions* o) : tag(std::move(t)), options(o) {}
  bool can_save() const noexcept override { return true; }
  bool can_load() const noexcept override { return true; }
  SaveResult save(const ModelArtifacts&) override { return SaveResult{}; }
  ModelArtifacts load() override {
    ModelArtifacts a;
    a.format = bj::value(tag);
    return a;
  }
  std::string tag;
  const CommonOptions* options;
};

template <class Options>
auto tagged_factory(std::string tag) {
  return [tag](std::span<const std::string>, const Options& options) -> HandlerPtr {
    return std::make_unique<TaggedHandler>(tag, &options);
  };
}

std::string tag_of(const HandlerMatch& m) { return dynamic_cast<const TaggedHandler&>(*m.handler).tag; }

void register_browser_like(RouterRegistry& r) {
  r.register_scheme_save("test", "localstorage://", tagged_factory<SaveOptions>("localstorage"));
  r.register_scheme_save("test", "indexeddb://", tagged_factory<SaveOptions>("indexeddb"));
  r.register_scheme_load("test", "localstorage://", tagged_factory<LoadOptions>("localstorage"));
  r.register_scheme_load("test", "indexeddb://", tagged_factory<LoadOptions>("indexeddb"));
}

ModelArtifacts demo() {
  ModelArtifacts a;
  a.model_topology = ModelTopology(bj::value{{"class_name", "Sequential"}});
  WeightSpec kernel{"dense/kernel", {3, 1}, "float32", {}, {}, {}, {}};
  WeightSpec bias{"dense/bias", {1}, "float32", {}, {}, {}, {}};
  a.weight_specs = std::vector<WeightSpec>{kernel, bias};
  a.weight_data = WeightData(Buffer::adopt(std::vector<std::byte>(16)));
  return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(router_registry)

BOOST_AUTO_TEST_CASE(each_scheme_gets_its_own_handler) {  // §6 1, 2
  RouterRegistry r;
  register_browser_like(r);
  auto save_ls = r.get_save_handlers("localstorage://foo-model");
  BOOST_TEST_REQUIRE(save_ls.size() == 1u);
  BOOST_TEST(tag_of(save_ls[0]) == "localstorage");
  auto save_idb = r.get_save_handlers("indexeddb://foo-model");
  BOOST_TEST_REQUIRE(save_idb.size() == 1u);
  BOOST_TEST(tag_of(save_idb[0]) == "indexeddb");
  auto load_ls = r.get_load_handlers("localstorage://foo-model");
  BOOST_TEST_REQUIRE(load_ls.size() == 1u);
  BOOST_TEST(tag_of(load_ls[0]) == "localstorage");
  BOOST_TEST(r.get_load_handlers("indexeddb://foo-model").size() == 1u);
  BOOST_TEST(r.get_save_handlers("LOCALSTORAGE://foo").empty());  // exact, case-sensitive
}

BOOST_AUTO_TEST_CASE(routers_may_take_url_lists) {  // §6 3
  RouterRegistry r;
  r.register_load_router({"test", "foo://"}, [](std::span<const std::string> urls, const LoadOptions& o) -> HandlerPtr {
    if (urls.size() == 2 && urls[0].starts_with("foo://") && urls[1].starts_with("foo://")) {
      return std::make_unique<TaggedHandler>("pair", &o);
    }
    return nullptr;
  });
  std::vector<std::string> good = {"foo:///123", "foo:///456"};
  std::vector<std::string> mixed = {"foo:///123", "bar:///456"};
  std::vector<std::string> one = {"foo:///123"};
  BOOST_TEST(r.get_load_handlers(std::span<const std::string>(good)).size() == 1u);
  BOOST_TEST(r.get_load_handlers(std::span<const std::string>(mixed)).empty());
  BOOST_TEST(r.get_load_handlers(std::span<const std::string>(one)).empty());
  BOOST_TEST(r.get_load_handlers("foo:///123").empty());
}

BOOST_AUTO_TEST_CASE(no_crosstalk_between_save_and_load) {  // §6 4
  RouterRegistry r;
  r.register_scheme_save("test", "localstorage://", tagged_factory<SaveOptions>("localstorage"));
  BOOST_TEST(r.get_save_handlers("invalidscheme://foo-model").empty());
  BOOST_TEST(r.get_load_handlers("localstorage://foo-model").empty());
}

BOOST_AUTO_TEST_CASE(routers_and_handlers_see_the_callers_options) {  // §6 5
  RouterRegistry r;
  const LoadOptions* seen_by_router = nullptr;
  r.register_load_router({"test", "foo://"}, [&](std::span<const std::string>, const LoadOptions& o) -> HandlerPtr {
    seen_by_router = &o;
    return std::make_unique<TaggedHandler>("foo", &o);
  });
  LoadOptions options;
  options.headers.emplace_back("Authorization", "Bearer x");
  auto matches = r.get_load_handlers("foo:///123", options);
  BOOST_TEST(seen_by_router == &options);
  BOOST_TEST(dynamic_cast<const TaggedHandler&>(*matches.at(0).handler).options == &options);
}

BOOST_AUTO_TEST_CASE(a_throwing_router_propagates) {
  RouterRegistry r;
  r.register_save_router({"test", "bad://"}, [](std::span<const std::string>, const SaveOptions&) -> HandlerPtr {
    throw Error(ErrorCode::invalid_argument, "URL path for bad must not be empty");
  });
  BOOST_CHECK_THROW(r.get_save_handlers("bad://"), Error);
}

BOOST_AUTO_TEST_CASE(policy_zero_one_many) {  // §2.5
  RouterRegistry r;
  register_browser_like(r);
  try {
    modelport::save("file:///tmp/x", demo(), {}, r);
    BOOST_ERROR("saved with no handler");
  } catch (const Error& e) {
    BOOST_TEST((e.code() == ErrorCode::not_found));
    std::string m = e.what();
    BOOST_TEST(m.find("Cannot find any save handlers for URL 'file:///tmp/x'") == 0u, m);
    BOOST_TEST(m.find("localstorage://, indexeddb://") != std::string::npos, m);
  }
  try {
    modelport::load("nope://x", {}, r);
    BOOST_ERROR("loaded with no handler");
  } catch (const Error& e) {
    BOOST_TEST(std::string(e.what()).find("Cannot find any load handlers for URL 'nope://x'") == 0u);
  }
  BOOST_TEST(modelport::load("indexeddb://m", {}, r).format->as_string() == "indexeddb");

  r.register_scheme_load("other-plugin", "indexeddb://", tagged_factory<LoadOptions>("second"));
  try {
    modelport::load("indexeddb://m", {}, r);
    BOOST_ERROR("loaded with two handlers");
  } catch (const Error& e) {
    std::string m = e.what();
    BOOST_TEST(m.find("Found more than one (2) load handlers for URL 'indexeddb://m'") == 0u, m);
    BOOST_TEST(m.find("other-plugin") != std::string::npos, m);
  }
  BOOST_TEST(r.load_schemes() == (std::vector<std::string>{"localstorage://", "indexeddb://"}), boost::test_tools::per_element());
  r.clear();
  BOOST_TEST(r.get_load_handlers("indexeddb://m").empty());
}

BOOST_AUTO_TEST_CASE(global_registry_is_shared) {
  auto& g = RouterRegistry::global();
  BOOST_TEST(&g == &RouterRegistry::global());
}

BOOST_AUTO_TEST_CASE(cancellation_and_options) {
  std::stop_source stop;
  SaveOptions options;
  options.cancel = stop.get_token();
  options.plugin_options["shard_bytes"] = "4194304";
  BOOST_TEST(options.option("shard_bytes") == "4194304");
  BOOST_TEST(options.option("missing", "d") == "d");
  BOOST_CHECK_NO_THROW(options.throw_if_cancelled("save file:///x"));
  stop.request_stop();
  BOOST_CHECK_EXCEPTION(options.throw_if_cancelled("save file:///x"), Error,
                        [](const Error& e) { return e.code() == ErrorCode::cancelled; });
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(model_comparison)

BOOST_AUTO_TEST_CASE(same_model_treats_json_numbers_as_js_does) {
  ModelArtifacts a = demo();
  ModelArtifacts b = demo();
  a.model_topology = ModelTopology(bj::value{{"rate", 1.0}});
  b.model_topology = ModelTopology(bj::value{{"rate", 1}});  // what a text round trip gives back
  BOOST_TEST(same_model(a, b));
  b.model_topology = ModelTopology(bj::value{{"rate", 2}});
  BOOST_TEST(!same_model(a, b));
  b = demo();
  b.format = bj::value(nullptr);  // null and absent are both "no format"
  BOOST_TEST(same_model(demo(), b));
  b.weight_data = WeightData(std::vector<Buffer>{Buffer::adopt(std::vector<std::byte>(8)), Buffer::adopt(std::vector<std::byte>(8))});
  BOOST_TEST(same_model(demo(), b));  // same bytes in other buffers
  b.weight_data = WeightData(Buffer::adopt(std::vector<std::byte>(16, std::byte{1})));
  BOOST_TEST(!same_model(demo(), b));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(passthrough)

BOOST_AUTO_TEST_CASE(with_save_handler_passes_artifacts_and_returns_its_result) {  // §6 144, 145
  ModelArtifacts a = demo();
  const ModelArtifacts* received = nullptr;
  auto handler = with_save_handler([&](const ModelArtifacts& artifacts) {
    received = &artifacts;
    SaveResult r;
    r.model_artifacts_info = get_model_artifacts_info(artifacts);
    return r;
  });
  BOOST_TEST(handler->can_save());
  BOOST_TEST(!handler->can_load());
  SaveResult result = handler->save(a);
  BOOST_TEST(received == &a);
  BOOST_TEST(!result.errors.has_value());
  BOOST_TEST(*result.model_artifacts_info.weight_data_bytes == 16u);
  BOOST_CHECK_EXCEPTION(handler->load(), Error, [](const Error& e) { return e.code() == ErrorCode::unimplemented; });
}

BOOST_AUTO_TEST_CASE(from_memory_forms) {  // §6 146–155
  ModelArtifacts a = demo();
  ModelArtifacts legacy = from_memory(std::get<bj::value>(*a.model_topology), a.weight_specs, a.weight_data)->load();
  BOOST_TEST(std::get<bj::value>(*legacy.model_topology) == std::get<bj::value>(*a.model_topology));
  BOOST_TEST((*legacy.weight_specs == *a.weight_specs));
  BOOST_TEST(legacy.weight_data->buffers().at(0).shares_memory_with(a.weight_data->buffers().at(0)));
  BOOST_TEST(!legacy.user_defined_metadata.has_value());

  ModelArtifacts topology_only = from_memory(bj::value{{"t", 1}})->load();
  BOOST_TEST(!topology_only.weight_specs.has_value());
  BOOST_TEST(!topology_only.weight_data.has_value());

  a.user_defined_metadata = bj::value{{"fooField", "fooValue"}};
  auto handler = from_memory(a);
  BOOST_TEST(handler->can_load());
  BOOST_TEST(!handler->can_save());
  BOOST_TEST(handler->load().user_defined_metadata->at("fooField").as_string() == "fooValue");
}

BOOST_AUTO_TEST_SUITE_END()
