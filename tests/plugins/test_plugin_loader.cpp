// The plugin loader against one fixture per failure row of plugin-design.md §3.8, plus
// discovery, collisions, finalize, handler lifetime and inspect (§3.5–3.7, §3.10).
//
// Every failure must be a PluginError that names the file, the stage and the cause; the process
// must survive it; and a good plugin loaded into the same manager afterwards must still work.
#include <boost/test/unit_test.hpp>

#include "test_support.hpp"
#include "test_errors.hpp"

#include <modelport/error.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugin_abi.h>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>

#include <cstdlib>
#include <fstream>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace modelport {
// Lets BOOST_TEST print an ErrorCode on failure (found by ADL).
inline std::ostream& boost_test_print_type(std::ostream& os, ErrorCode code) { return os << to_string(code); }
}  // namespace modelport

using namespace modelport;
namespace fs = std::filesystem;
namespace bj = boost::json;
namespace utf = boost::unit_test;

namespace {

using modelport::test::error_of;
using modelport::test::ScopedEnv;

bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

#define CHECK_CONTAINS(text, part) \
  BOOST_TEST(contains((text), (part)), "expected '" << (part) << "' in: " << (text))
#define CHECK_NOT_CONTAINS(text, part) \
  BOOST_TEST(!contains((text), (part)), "did not expect '" << (part) << "' in: " << (text))



std::string code_of(const Error& e) { return std::string(to_string(e.code())); }
std::string stage_of(const PluginError& e) { return std::string(to_string(e.stage())); }

ModelArtifacts demo_model(std::string_view tag = "demo") {
  ModelArtifacts a;
  a.model_topology = ModelTopology(bj::value{{"class_name", "Sequential"}, {"tag", tag}});
  a.weight_specs = std::vector<WeightSpec>{WeightSpec{"dense/kernel", {3}, "float32", {}, {}, {}, {}}};
  std::vector<std::byte> bytes(12);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(i + 1);
  a.weight_data = WeightData(Buffer::adopt(std::move(bytes)));
  a.format = bj::value("layers-model");
  return a;
}

void expect_round_trip(const RouterRegistry& routers, const std::string& url, std::string_view tag = "demo") {
  ModelArtifacts saved = demo_model(tag);
  modelport::save(url, saved, {}, routers);
  ModelArtifacts loaded = modelport::load(url, {}, routers);
  BOOST_TEST(same_model(saved, loaded), "round trip through " << url << " changed the model");
}

// A manager with registries of its own, so no test sees another's prefixes. Finalized at the
// end so plugin state is released (the sanitizer build checks for leaks).
struct Host {
  RouterRegistry routers;
  ModelStoreRegistry stores;
  std::optional<PluginManager> manager{std::in_place, routers, stores};

  Host() = default;
  ~Host() {
    if (manager) manager->finalize();
  }
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  // After any failure, the same manager still loads and serves a good plugin.
  void expect_good_plugin_works() {
    PluginInfo info = manager->load_plugin(MPFX_GOODTWO);
    BOOST_TEST(info.name == "goodtwo");
    expect_round_trip(routers, "goodtwo://after-failure");
  }
  bool routes(const std::string& url) const {
    return !routers.get_save_handlers(url).empty() || !routers.get_load_handlers(url).empty();
  }
};


// The fixtures append "init <name>" / "shutdown <name>" to this file (fixtures/fixture_log.hpp).
class EventLog {
 public:
  static EventLog& instance() {
    static EventLog log;
    return log;
  }
  void clear() { std::ofstream(path_, std::ios::trunc).flush(); }
  std::vector<std::string> events() const {
    std::vector<std::string> out;
    std::ifstream in(path_);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
  }
  std::string text() const {
    std::string out;
    for (const auto& e : events()) out += e + "; ";
    return out;
  }

 private:
  EventLog() : path_(dir_.path() / "plugin-events.log") {
    ::setenv("MODELPORT_TEST_PLUGIN_LOG", path_.c_str(), 1);
    clear();
  }
  test::TempDir dir_;
  fs::path path_;
};

// A discovery folder holding copies of some fixtures, under their own file names.
fs::path populate(const test::TempDir& dir, std::initializer_list<const char*> files) {
  for (const char* f : files) fs::copy_file(f, dir.path() / fs::path(f).filename());
  return fs::weakly_canonical(dir.path());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(plugin_loader)

// ---- find / open ---------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_file_fails_at_find) {
  Host host;
  const fs::path missing = fs::temp_directory_path() / "no-such-dir-modelport" / "libmodelport_plugin_gone.so";
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(missing); });
  BOOST_TEST(stage_of(e) == "find");
  BOOST_TEST(code_of(e) == "not_found");
  CHECK_CONTAINS(e.what(), "plugin file '" + missing.string() + "' does not exist");
  BOOST_TEST(e.path() == missing);
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(directory_fails_at_find) {
  Host host;
  test::TempDir dir;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(dir.path()); });
  BOOST_TEST(stage_of(e) == "find");
  CHECK_CONTAINS(e.what(), dir.path().string());
  CHECK_CONTAINS(e.what(), "is a directory");
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(not_a_shared_object_fails_at_open_with_loader_text) {
  Host host;
  test::TempDir dir;
  const fs::path garbage = dir.path() / "libmodelport_plugin_garbage.so";
  std::ofstream(garbage) << "this is not an ELF file\n";
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(garbage); });
  BOOST_TEST(stage_of(e) == "open");
  CHECK_CONTAINS(e.what(), "could not load plugin '" + garbage.string() + "'");
  BOOST_TEST(!e.loader_text().empty());
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(undefined_symbol_fails_at_open_under_rtld_now) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_UNDEFINED_SYMBOL); });
  BOOST_TEST(stage_of(e) == "open");
  BOOST_TEST(code_of(e) == "unavailable");
  CHECK_CONTAINS(e.what(), std::string("could not load plugin '") + MPFX_UNDEFINED_SYMBOL + "'");
  CHECK_CONTAINS(e.what(), "modelport_fixture_symbol_that_exists_nowhere");
  BOOST_TEST(!e.loader_text().empty());
  CHECK_CONTAINS(e.loader_text(), "modelport_fixture_symbol_that_exists_nowhere");
  host.expect_good_plugin_works();
}

// A bare file name means the file in the working directory, never a search of the system
// library path (plugin-design.md P7: what exists() checked must be what dlopen opens).
BOOST_AUTO_TEST_CASE(a_relative_path_is_the_file_in_the_working_directory) {
  Host host;
  test::TempDir dir;
  populate(dir, {MPFX_GOODTWO});
  const fs::path before = fs::current_path();
  fs::current_path(dir.path());
  PluginInfo info;
  BOOST_CHECK_NO_THROW(info = host.manager->load_plugin("libmodelport_plugin_goodtwo.so"));
  fs::current_path(before);
  BOOST_TEST(info.name == "goodtwo");
  BOOST_TEST(info.path.is_absolute());
  expect_round_trip(host.routers, "goodtwo://relative");
}

// ---- entry ---------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(missing_entry_symbol_fails_at_entry) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_NO_ENTRY); });
  BOOST_TEST(stage_of(e) == "entry");
  CHECK_CONTAINS(e.what(), std::string("plugin entry point 'modelport_plugin_entry_v1' not found in '") + MPFX_NO_ENTRY + "'");
  CHECK_NOT_CONTAINS(e.what(), "built for ABI");
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(entry_only_for_abi2_names_that_abi) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_ENTRY_V2); });
  BOOST_TEST(stage_of(e) == "entry");
  CHECK_CONTAINS(e.what(), MPFX_ENTRY_V2);
  CHECK_CONTAINS(e.what(), "found 'modelport_plugin_entry_v2'");
  CHECK_CONTAINS(e.what(), "built for ABI 2");
  CHECK_CONTAINS(e.what(), "core supports 1");
  BOOST_TEST(!host.routes("entryvtwo://x"));
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(entry_returning_an_error_passes_its_message_on) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_ENTRY_ERROR); });
  BOOST_TEST(stage_of(e) == "entry");
  BOOST_TEST(code_of(e) == "unavailable");
  CHECK_CONTAINS(e.what(), MPFX_ENTRY_ERROR);
  CHECK_CONTAINS(e.what(), "fixture entry refuses: licence file missing");
  host.expect_good_plugin_works();
}

// ---- handshake -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(abi_major_2_in_the_descriptor_fails_the_handshake) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_ABI_MAJOR2); });
  BOOST_TEST(stage_of(e) == "handshake");
  CHECK_CONTAINS(e.what(), std::string("wrong plugin ABI in '") + MPFX_ABI_MAJOR2 + "': got 2, supported 1");
  CHECK_CONTAINS(e.what(), "abi-major2 2.0.0");
  CHECK_CONTAINS(e.what(), "SDK 2.1.0");
  CHECK_CONTAINS(e.what(), "fixture-build-info-abi2");
  BOOST_TEST(!host.routes("abitwo://x"));
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(descriptor_smaller_than_v1_is_rejected) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_SMALL_DESCRIPTOR); });
  // plugin-design.md §3.8 files this row under `validate`; the core checks it during the
  // handshake, before trusting any other field, which is the sounder order. If the design is
  // to win, expect "validate" here.
  BOOST_TEST(stage_of(e) == "handshake");
  BOOST_TEST(code_of(e) == "invalid_argument");
  CHECK_CONTAINS(e.what(), MPFX_SMALL_DESCRIPTOR);
  CHECK_CONTAINS(e.what(), "is 16 bytes, smaller than the ABI 1 minimum");
  BOOST_TEST(!host.routes("smalldesc://x"));
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(newer_abi_minor_is_accepted_and_logged) {
  Host host;
  std::vector<std::string> messages;
  set_plugin_log_handler([&](int, std::string_view plugin, std::string_view message) {
    messages.push_back(std::string(plugin) + ": " + std::string(message));
  });
  PluginInfo info = host.manager->load_plugin(MPFX_NEWER_MINOR);
  set_plugin_log_handler(nullptr);
  BOOST_TEST(info.abi_major == 1u);
  BOOST_TEST(info.abi_minor == MODELPORT_PLUGIN_ABI_MINOR + 7u);
  bool logged = false;
  for (const auto& m : messages) logged = logged || (contains(m, "newer-minor") && contains(m, "ignored"));
  BOOST_TEST(logged);
  BOOST_TEST(host.routes("newerminor://x"));
  host.expect_good_plugin_works();
}

// ---- validate ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(null_required_op_fails_validation) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_NULL_SAVE_OP); });
  BOOST_TEST(stage_of(e) == "validate");
  BOOST_TEST(code_of(e) == "invalid_argument");
  CHECK_CONTAINS(e.what(), std::string("invalid plugin '") + MPFX_NULL_SAVE_OP + "'");
  CHECK_CONTAINS(e.what(), "prefix 'nullsave://' declares CAP_SAVE but provides no 'save' operation");
  BOOST_TEST(!host.routes("nullsave://x"));
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(list_capability_without_list_models_fails_validation) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_CAPS_LIST_MISMATCH); });
  BOOST_TEST(stage_of(e) == "validate");
  CHECK_CONTAINS(e.what(), MPFX_CAPS_LIST_MISMATCH);
  CHECK_CONTAINS(e.what(), "prefix 'capslist://' declares CAP_LIST but provides no 'list_models' operation");
  BOOST_TEST(!host.routes("capslist://x"));
  BOOST_TEST(host.stores.schemes().empty());
  host.expect_good_plugin_works();
}

struct BadPrefixCase {
  const char* path;
  const char* name;
  const char* prefix;
};

BOOST_AUTO_TEST_CASE(malformed_prefixes_fail_validation_and_register_nothing) {
  const BadPrefixCase cases[] = {
      {MPFX_BAD_PREFIX_UPPER, "bad-prefix-upper", "HTTP://"},
      {MPFX_BAD_PREFIX_NOSCHEME, "bad-prefix-noscheme", "foo"},
      {MPFX_BAD_PREFIX_SPACE, "bad-prefix-space", "a b://"},
  };
  Host host;
  for (const auto& c : cases) {
    BOOST_TEST_CONTEXT("fixture " << c.name) {
      PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(c.path); });
      BOOST_TEST(stage_of(e) == "validate");
      CHECK_CONTAINS(e.what(), std::string("invalid plugin '") + c.path + "'");
      CHECK_CONTAINS(e.what(), std::string("prefix '") + c.prefix + "' must be a lower-case scheme followed by '://'");
      // Its first prefix was valid, but a rejected plugin registers none of them.
      BOOST_TEST(!host.routes(std::string(c.name) + "-fine://x"));
    }
  }
  BOOST_TEST(host.manager->plugins().empty());
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(duplicate_prefix_within_one_plugin_fails_validation) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_DUP_PREFIX); });
  BOOST_TEST(stage_of(e) == "validate");
  CHECK_CONTAINS(e.what(), MPFX_DUP_PREFIX);
  CHECK_CONTAINS(e.what(), "prefix 'twice://' is declared twice");
  BOOST_TEST(!host.routes("twice://x"));
  host.expect_good_plugin_works();
}

// ---- init ----------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(init_failure_passes_its_message_on_and_registers_nothing) {
  Host host;
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_INIT_FAILS); });
  BOOST_TEST(stage_of(e) == "init");
  BOOST_TEST(code_of(e) == "permission_denied");
  CHECK_CONTAINS(e.what(), MPFX_INIT_FAILS);
  CHECK_CONTAINS(e.what(), "failed to initialize");
  CHECK_CONTAINS(e.what(), "fixture init refuses: cannot open /dev/fixture");
  BOOST_TEST(!host.routes("initfails://x"));
  BOOST_TEST(host.stores.schemes().empty());
  BOOST_TEST(host.manager->plugins().empty());
  host.expect_good_plugin_works();
}

// ---- calls into a loaded plugin ------------------------------------------------------------

BOOST_AUTO_TEST_CASE(exceptions_in_plugin_ops_become_internal_errors) {
  Host host;
  host.manager->load_plugin(MPFX_THROWS);
  const ModelArtifacts model = demo_model();

  Error save = error_of([&] { modelport::save("throws://m", model, {}, host.routers); });
  BOOST_TEST(code_of(save) == "internal");
  BOOST_TEST(std::string(save.what()) == "plugin 'throws' threw: boom in save");

  Error load = error_of([&] { modelport::load("throws://m", {}, host.routers); });
  BOOST_TEST(code_of(load) == "internal");
  BOOST_TEST(std::string(load.what()) == "plugin 'throws' threw: boom in load");

  Error create = error_of([&] { modelport::load("throws://in-create", {}, host.routers); });
  BOOST_TEST(code_of(create) == "internal");
  BOOST_TEST(std::string(create.what()) == "plugin 'throws' threw: boom in create_handler");

  Error list = error_of([&] { list_models("throws://", {}, host.stores); });
  BOOST_TEST(code_of(list) == "internal");
  BOOST_TEST(std::string(list.what()) == "plugin 'throws' threw an unknown exception");

  Error remove = error_of([&] { remove_model("throws://m", {}, host.stores); });
  BOOST_TEST(code_of(remove) == "internal");
  BOOST_TEST(std::string(remove.what()) == "plugin 'throws' ran out of memory");

  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(load_returning_ok_without_a_model_is_internal) {
  Host host;
  host.manager->load_plugin(MPFX_NO_MODEL);
  Error e = error_of([&] { modelport::load("nomodel://m", {}, host.routers); });
  BOOST_TEST(code_of(e) == "internal");
  CHECK_CONTAINS(e.what(), "plugin 'no-model' returned OK");
  CHECK_CONTAINS(e.what(), "nomodel://m");
  CHECK_CONTAINS(e.what(), "without a model");
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(every_failure_in_one_manager_then_good_plugins_work) {
  Host host;
  const char* bad[] = {MPFX_NO_ENTRY,         MPFX_ENTRY_V2,          MPFX_ABI_MAJOR2,        MPFX_SMALL_DESCRIPTOR,
                       MPFX_NULL_SAVE_OP,     MPFX_CAPS_LIST_MISMATCH, MPFX_BAD_PREFIX_UPPER, MPFX_BAD_PREFIX_NOSCHEME,
                       MPFX_BAD_PREFIX_SPACE, MPFX_DUP_PREFIX,        MPFX_ENTRY_ERROR,       MPFX_INIT_FAILS,
                       MPFX_UNDEFINED_SYMBOL};
  for (const char* path : bad) {
    BOOST_TEST_CONTEXT("fixture " << path) {
      PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(path); });
      CHECK_CONTAINS(e.what(), path);
      BOOST_TEST(e.path() == fs::path(path));
    }
  }
  BOOST_TEST(host.manager->plugins().empty());
  host.manager->load_plugin(MODELPORT_MEMSTORE_PLUGIN);
  expect_round_trip(host.routers, "memstore://after-everything");
  host.expect_good_plugin_works();
  BOOST_TEST(host.manager->plugins().size() == 2u);
}

// ---- collisions ----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(explicit_prefix_collision_names_both_files_and_registers_nothing) {
  EventLog::instance().clear();
  Host host;
  host.manager->load_plugin(MPFX_COLLIDE_A);
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_COLLIDE_B); });
  BOOST_TEST(stage_of(e) == "register");
  BOOST_TEST(code_of(e) == "already_exists");
  CHECK_CONTAINS(e.what(), "prefix 'collide://'");
  CHECK_CONTAINS(e.what(), std::string("'") + MPFX_COLLIDE_B + "' (collide-b 1.0.0)");
  CHECK_CONTAINS(e.what(), std::string("is already provided by '") + MPFX_COLLIDE_A + "' (collide-a 1.0.0)");

  // None of collide-b's prefixes, not even the one nobody else has.
  Error other = error_of([&] { modelport::load("collb://x", {}, host.routers); });
  BOOST_TEST(code_of(other) == "not_found");
  BOOST_TEST(!host.routes("collb://x"));
  BOOST_TEST(error_of([&] { list_models("collb://", {}, host.stores); }).code() == ErrorCode::not_found);
  // Collisions are decided before init: the rejected plugin never ran.
  CHECK_NOT_CONTAINS(EventLog::instance().text(), "init collide-b");

  expect_round_trip(host.routers, "collide://still-a");
  expect_round_trip(host.routers, "colla://x");
  BOOST_TEST(host.manager->plugins().size() == 1u);
  host.expect_good_plugin_works();
}

BOOST_AUTO_TEST_CASE(prefix_of_an_in_process_factory_is_not_taken_over) {
  Host host;
  host.routers.register_scheme_load("app", "goodtwo://", [](std::span<const std::string>, const LoadOptions&) {
    return HandlerPtr();
  });
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_GOODTWO); });
  BOOST_TEST(stage_of(e) == "register");
  BOOST_TEST(code_of(e) == "already_exists");
  CHECK_CONTAINS(e.what(), "prefix 'goodtwo://'");
  CHECK_CONTAINS(e.what(), MPFX_GOODTWO);
  CHECK_CONTAINS(e.what(), "in-process handler factory");
  host.manager->load_plugin(MODELPORT_MEMSTORE_PLUGIN);
  expect_round_trip(host.routers, "memstore://beside-the-app");
}

BOOST_AUTO_TEST_CASE(the_same_plugin_twice_is_already_exists) {
  Host host;
  host.manager->load_plugin(MPFX_GOODTWO);
  PluginError e = error_of<PluginError>([&] { host.manager->load_plugin(MPFX_GOODTWO); });
  BOOST_TEST(code_of(e) == "already_exists");
  CHECK_CONTAINS(e.what(), "plugin 'goodtwo'");
  CHECK_CONTAINS(e.what(), "already loaded");
  expect_round_trip(host.routers, "goodtwo://once");
}

// ---- discovery -----------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(discovery_poisons_a_colliding_prefix_and_keeps_the_rest) {
  Host host;
  test::TempDir dir;
  const fs::path folder = populate(dir, {MPFX_COLLIDE_A, MPFX_COLLIDE_B, MPFX_GOODTWO});
  const std::string file_a = (folder / "libmodelport_plugin_collide-a.so").string();
  const std::string file_b = (folder / "libmodelport_plugin_collide-b.so").string();

  DiscoveryReport report =
      host.manager->discover_plugins({.use_environment = false, .use_default_dirs = false, .extra_dirs = {dir.path()}});
  BOOST_TEST(report.searched.size() == 1u);
  BOOST_TEST_REQUIRE(report.errors.size() == 1u);
  const PluginError& collision = report.errors[0];
  BOOST_TEST(stage_of(collision) == "register");
  BOOST_TEST(code_of(collision) == "already_exists");
  CHECK_CONTAINS(collision.what(), "prefix 'collide://'");
  CHECK_CONTAINS(collision.what(), file_a);
  CHECK_CONTAINS(collision.what(), file_b);
  std::vector<std::string> loaded;
  for (const auto& p : report.loaded) loaded.push_back(p.name);
  BOOST_TEST((loaded == std::vector<std::string>{"collide-a", "goodtwo"}));
  BOOST_TEST(host.manager->discovery_errors().size() == 1u);

  // Neither side wins: every lookup of the prefix says why.
  for (bool saving : {false, true}) {
    Error e = error_of([&] {
      if (saving) {
        modelport::save("collide://x", demo_model(), {}, host.routers);
      } else {
        modelport::load("collide://x", {}, host.routers);
      }
    });
    BOOST_TEST(code_of(e) == "already_exists");
    CHECK_CONTAINS(e.what(), "prefix 'collide://'");
    CHECK_CONTAINS(e.what(), file_a);
    CHECK_CONTAINS(e.what(), file_b);
  }
  // The other prefixes, including each collider's own, keep working.
  expect_round_trip(host.routers, "goodtwo://discovered");
  expect_round_trip(host.routers, "colla://x");
  expect_round_trip(host.routers, "collb://x");
}

// Regression test for a bug found while writing this suite: a third plugin declaring an already poisoned prefix takes it over.
BOOST_AUTO_TEST_CASE(a_third_collider_does_not_unpoison_the_prefix) {
  Host host;
  test::TempDir dir;
  populate(dir, {MPFX_COLLIDE_A, MPFX_COLLIDE_B, MPFX_COLLIDE_C});
  DiscoveryReport report =
      host.manager->discover_plugins({.use_environment = false, .use_default_dirs = false, .extra_dirs = {dir.path()}});
  BOOST_TEST(report.errors.size() == 2u);
  Error e = error_of([&] { modelport::load("collide://x", {}, host.routers); });
  BOOST_TEST(code_of(e) == "already_exists");
  CHECK_CONTAINS(e.what(), "prefix 'collide://'");
}

// Regression test for a bug found while writing this suite: a poisoned prefix's store manager is just unregistered, so list/remove say "Cannot find model manager for scheme 'collide'" instead of the collision, which is what plugins.
BOOST_AUTO_TEST_CASE(store_lookups_of_a_poisoned_prefix_name_the_collision) {
  Host host;
  test::TempDir dir;
  populate(dir, {MPFX_COLLIDE_A, MPFX_COLLIDE_B});
  host.manager->discover_plugins({.use_environment = false, .use_default_dirs = false, .extra_dirs = {dir.path()}});
  Error e = error_of([&] { list_models("collide://", {}, host.stores); });
  BOOST_TEST(code_of(e) == "already_exists");
  CHECK_CONTAINS(e.what(), "libmodelport_plugin_collide-a.so");
  CHECK_CONTAINS(e.what(), "libmodelport_plugin_collide-b.so");
}

// Regression test for a bug found while writing this suite: the collision check looks at routers only, and the store manager is registered with replace=true, so a plugin silently replaces a ModelStoreManager the application registered for the same prefix.
BOOST_AUTO_TEST_CASE(an_in_process_store_manager_is_not_replaced) {
  class AppManager final : public ModelStoreManager {
   public:
    std::vector<ListedModel> list_models(std::string_view, const CommonOptions&) override {
      return {ListedModel{"goodtwo://from-the-app", {}}};
    }
    ModelArtifactsInfo remove_model(std::string_view, const CommonOptions&) override { return {}; }
  };
  Host host;
  host.stores.register_manager("goodtwo://", "app", std::make_shared<AppManager>());
  // Refusing the plugin (already_exists, like a router collision) or loading it without its
  // manager would both do; replacing the application's manager would not.
  try {
    host.manager->load_plugin(MPFX_GOODTWO);
  } catch (const PluginError& e) {
    BOOST_TEST(code_of(e) == "already_exists");
  }
  auto listed = list_models("goodtwo://", {}, host.stores);
  BOOST_TEST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].url == "goodtwo://from-the-app");
}

BOOST_AUTO_TEST_CASE(discovery_skips_plugins_named_in_modelport_plugin_skip) {
  Host host;
  test::TempDir dir;
  populate(dir, {MPFX_COLLIDE_A, MPFX_COLLIDE_B, MPFX_GOODTWO});
  ScopedEnv skip("MODELPORT_PLUGIN_SKIP", "collide-b,not-there");
  DiscoveryReport report =
      host.manager->discover_plugins({.use_environment = false, .use_default_dirs = false, .extra_dirs = {dir.path()}});
  BOOST_TEST(report.errors.empty());
  std::vector<std::string> loaded;
  for (const auto& p : report.loaded) loaded.push_back(p.name);
  BOOST_TEST((loaded == std::vector<std::string>{"collide-a", "goodtwo"}));
  expect_round_trip(host.routers, "collide://now-unambiguous");
  BOOST_TEST(!host.routes("collb://x"));
}

BOOST_AUTO_TEST_CASE(modelport_plugin_path_disable_turns_discovery_off) {
  Host host;
  test::TempDir dir;
  populate(dir, {MPFX_GOODTWO});
  ScopedEnv path("MODELPORT_PLUGIN_PATH", "disable");
  DiscoveryReport report = host.manager->discover_plugins({.extra_dirs = {dir.path()}});
  BOOST_TEST(report.searched.empty());
  BOOST_TEST(report.loaded.empty());
  BOOST_TEST(report.errors.empty());
  BOOST_TEST(!host.routes("goodtwo://x"));
}

BOOST_AUTO_TEST_CASE(modelport_plugin_path_folders_are_searched) {
  Host host;
  test::TempDir a, b;
  populate(a, {MPFX_GOODTWO});
  populate(b, {MPFX_COLLIDE_A});
  const std::string value = a.path().string() + ":" + b.path().string();
  ScopedEnv path("MODELPORT_PLUGIN_PATH", value.c_str());
  DiscoveryReport report = host.manager->discover_plugins({.use_default_dirs = false, .extra_dirs = {}});
  BOOST_TEST(report.searched.size() == 2u);
  BOOST_TEST(report.loaded.size() == 2u);
  BOOST_TEST(report.errors.empty());
  expect_round_trip(host.routers, "goodtwo://from-env");
  expect_round_trip(host.routers, "colla://from-env");
}

BOOST_AUTO_TEST_CASE(discovery_reports_bad_plugins_and_goes_on) {
  Host host;
  test::TempDir dir;
  populate(dir, {MPFX_ABI_MAJOR2, MPFX_INIT_FAILS, MPFX_UNDEFINED_SYMBOL, MPFX_GOODTWO});
  // Not a plugin by name: discovery must never dlopen it.
  std::ofstream(dir.path() / "libsomething_else.so") << "garbage";
  DiscoveryReport report =
      host.manager->discover_plugins({.use_environment = false, .use_default_dirs = false, .extra_dirs = {dir.path()}});
  std::vector<std::string> stages;
  for (const auto& e : report.errors) stages.push_back(stage_of(e));
  // Sorted file order: abi-major2, goodtwo, init-fails, undefined-symbol.
  BOOST_TEST((stages == std::vector<std::string>{"handshake", "init", "open"}));
  BOOST_TEST_REQUIRE(report.loaded.size() == 1u);
  BOOST_TEST(report.loaded[0].name == "goodtwo");
  expect_round_trip(host.routers, "goodtwo://despite-the-others");
}

// ---- finalize ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(finalize_shuts_down_in_reverse_order_once_and_refuses_more) {
  EventLog& log = EventLog::instance();
  log.clear();
  Host host;
  host.manager->load_plugin(MPFX_GOODTWO);
  host.manager->load_plugin(MPFX_COLLIDE_A);
  host.manager->load_plugin(MPFX_THROWS);
  // A raw plugin with no init/shutdown, whose handlers own nothing: a handler of it is held across
  // finalize. (The core rightly never calls destroy after shutdown, so an SDK handler held there
  // would be leaked on purpose and trip the sanitizer build's leak check.)
  host.manager->load_plugin(MPFX_NEWER_MINOR);
  BOOST_TEST((log.events() == std::vector<std::string>{"init goodtwo", "init collide-a", "init throws"}));
  modelport::save("goodtwo://before", demo_model(), {}, host.routers);
  auto held = host.routers.get_save_handlers("newerminor://before");
  BOOST_TEST_REQUIRE(held.size() == 1u);
  log.clear();

  host.manager->finalize();
  BOOST_TEST((log.events() == std::vector<std::string>{"shutdown throws", "shutdown collide-a", "shutdown goodtwo"}),
             log.text());

  PluginError again = error_of<PluginError>([&] { host.manager->load_plugin(MODELPORT_MEMSTORE_PLUGIN); });
  BOOST_TEST(code_of(again) == "unavailable");
  CHECK_CONTAINS(again.what(), MODELPORT_MEMSTORE_PLUGIN);
  BOOST_TEST(code_of(error_of([&] { modelport::load("goodtwo://before", {}, host.routers); })) == "unavailable");
  BOOST_TEST(code_of(error_of([&] { modelport::save("colla://x", demo_model(), {}, host.routers); })) == "unavailable");
  BOOST_TEST(code_of(error_of([&] { held[0].handler->save(demo_model()); })) == "unavailable");
  BOOST_TEST(code_of(error_of([&] { list_models("goodtwo://", {}, host.stores); })) == "unavailable");

  BOOST_CHECK_NO_THROW(host.manager->finalize());
  held.clear();  // destroying a handler of a shut-down plugin must not call into it
  host.manager.reset();
  BOOST_TEST(log.events().size() == 3u, log.text());
}

// Regression test for a bug found while writing this suite: discover_plugins() does not check `finalized`, so a finalized manager still dlopens and initializes plugins it then refuses to serve.
BOOST_AUTO_TEST_CASE(discovery_after_finalize_does_not_initialize_plugins) {
  EventLog& log = EventLog::instance();
  Host host;
  host.manager->finalize();
  log.clear();
  test::TempDir dir;
  populate(dir, {MPFX_GOODTWO});
  DiscoveryReport late =
      host.manager->discover_plugins({.use_environment = false, .use_default_dirs = false, .extra_dirs = {dir.path()}});
  BOOST_TEST(late.loaded.empty());
  BOOST_TEST(log.events().empty(), log.text());
}

// ---- lifetime ------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(a_handler_outlives_its_registry_entry) {
  Host host;
  host.manager->load_plugin(MPFX_GOODTWO);
  auto saves = host.routers.get_save_handlers("goodtwo://kept");
  auto loads = host.routers.get_load_handlers("goodtwo://kept");
  BOOST_TEST_REQUIRE(saves.size() == 1u);
  BOOST_TEST_REQUIRE(loads.size() == 1u);
  host.routers.clear();
  host.stores.clear();
  BOOST_TEST(!host.routes("goodtwo://kept"));

  const ModelArtifacts model = demo_model("outlived");
  saves[0].handler->save(model);
  BOOST_TEST(same_model(model, loads[0].handler->load()));
}

// ---- inspect -------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(inspect_describes_without_running_init) {
  EventLog& log = EventLog::instance();
  log.clear();
  PluginInfo good = PluginManager::inspect(MPFX_GOODTWO);
  BOOST_TEST(good.name == "goodtwo");
  BOOST_TEST(good.version == "1.0.0");
  BOOST_TEST(good.abi_major == 1u);
  BOOST_TEST(good.abi_minor == MODELPORT_PLUGIN_ABI_MINOR);
  BOOST_TEST(good.sdk_version == MODELPORT_SDK_VERSION_STRING);
  CHECK_CONTAINS(good.build_info, "libstdc++");
  BOOST_TEST(good.path == fs::path(MPFX_GOODTWO));
  BOOST_TEST_REQUIRE(good.schemes.size() == 1u);
  BOOST_TEST(good.schemes[0].prefix == "goodtwo://");
  BOOST_TEST(capabilities_text(good.schemes[0].capabilities) == "save,load,list,remove");
  BOOST_TEST(log.events().empty(), log.text());

  // Its init always fails, so describing it proves init did not run.
  PluginInfo refusing = PluginManager::inspect(MPFX_INIT_FAILS);
  BOOST_TEST(refusing.name == "init-fails");
  BOOST_TEST(refusing.version == "3.1.4");
  BOOST_TEST_REQUIRE(refusing.schemes.size() == 1u);
  BOOST_TEST(refusing.schemes[0].prefix == "initfails://");
  BOOST_TEST(capabilities_text(refusing.schemes[0].capabilities) == "save,load,list");

  BOOST_TEST(stage_of(error_of<PluginError>([] { PluginManager::inspect(MPFX_ABI_MAJOR2); })) == "handshake");
  BOOST_TEST(stage_of(error_of<PluginError>([] { PluginManager::inspect(MPFX_NULL_SAVE_OP); })) == "validate");
}

BOOST_AUTO_TEST_SUITE_END()
