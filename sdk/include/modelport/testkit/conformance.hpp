// The plugin conformance kit (Boost.Test): one suite of test cases that any scheme plugin must
// pass, run against the plugin's shared object through the production loader
// (modelport::PluginManager::load_plugin), never through a loader of its own.
//
// Two ways in:
//
//  1. The zero-code runner, for most plugins (CMake: modelport_add_plugin_conformance_test):
//
//       modelport-plugin-conformance [boost.test args] -- --plugin PATH [--url-base URL]
//           [--caps save,load,list,remove] [--max-weight-bytes N] [--require-info-byte-counts]
//
//  2. Your own Boost.Test executable, for plugins that need setup first (start a server, create
//     a temporary folder, set an environment variable): build with BOOST_TEST_DYN_LINK and
//     BOOST_TEST_NO_MAIN, link modelport::plugin_testkit, and register the suite from your init
//     function once the setup is done:
//
//       bool init() {
//         static TempDir dir;  // whatever the plugin needs, alive for the whole run
//         modelport::testkit::Config config;
//         config.plugin = MY_PLUGIN_PATH;                        // e.g. $<TARGET_FILE:my_plugin>
//         config.url_base = "file://" + dir.path().string() + "/";
//         modelport::testkit::register_conformance_suite(config);
//         return true;
//       }
//       int main(int argc, char* argv[]) { return boost::unit_test::unit_test_main(&init, argc, argv); }
//
// What the suite checks is listed in docs of register_conformance_suite below. Cases that need a
// capability the configuration does not declare are reported as skipped, with the reason, by
// Boost.Test and again in the summary the kit prints at the end of the run: a skipped case is
// never counted as a pass.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace boost::unit_test {
class test_suite;
}

namespace modelport::testkit {

// The large-model case writes this many weight bytes unless Config::max_weight_bytes is lower.
inline constexpr std::uint64_t kLargeModelBytes = 64ull << 20;

struct Config {
  // The plugin's shared object (libmodelport_plugin_<name>.so). Required.
  std::filesystem::path plugin;

  // Where the suite puts its models: every model URL is url_base + a model name (names contain
  // '/', spaces, '%' and non-ASCII characters). Empty: the plugin's first prefix ("memstore://").
  // Stores that need a location (file://, http://) must be given one.
  std::string url_base;

  // The capabilities to test, as MODELPORT_CAP_* / modelport::capability bits. 0: everything the
  // plugin declares for url_base's scheme. Declaring a capability the plugin does not have is a
  // configuration error that fails the handshake case.
  std::uint32_t capabilities = 0;

  // Upper bound on the weight bytes of any one model the suite saves (for quota-bound stores
  // such as localStorage). 0: no bound beyond kLargeModelBytes.
  std::uint64_t max_weight_bytes = 0;

  // ModelArtifactsInfo byte counts (save results, list, remove) may be reported as unknown (-1)
  // by ABI 1, and by default an unknown count is only noted in the summary; a known count must
  // always equal what TensorFlow.js computes. Set this to fail on unknown counts too, as
  // TensorFlow.js stores always report them.
  bool require_info_byte_counts = false;

  // Name of the Boost.Test suite (also the prefix for --run_test filters).
  std::string suite_name = "conformance";
};

// "save,load,list,remove" (any order, any subset; "all" for every one) -> capability bits.
// Throws std::invalid_argument naming an unknown word.
std::uint32_t parse_capabilities(std::string_view text);

// Reads the runner's own arguments (what follows "--": Boost.Test leaves them in
// master_test_suite().argc/argv). Accepts "--name value" and "--name=value"; a leading "--"
// and argv[0] are skipped. Throws std::invalid_argument with a message for the user.
Config parse_arguments(int argc, char** argv);

// The runner's usage text.
std::string usage(std::string_view program);

// Builds the conformance suite for `config` and adds it to the master test suite; returns it
// (owned by Boost.Test). Call it from a Boost.Test init function. It only inspects the plugin
// (PluginManager::inspect) to resolve the defaults; the plugin is loaded and initialized by the
// first case that needs it, with its own RouterRegistry and ModelStoreRegistry, and shut down
// (PluginManager::finalize) when the suite ends, after the models the suite saved are removed
// (when the remove capability is tested).
//
// The cases, in order (the capabilities each needs in brackets):
//   handshake                      inspect: name, version, ABI 1, prefixes, capabilities; twice
//                                  gives the same answer; the configuration fits the plugin
//   load_plugin                    load_plugin registers exactly the declared routers/managers
//   round_trip_topology_only       [save,load] byte-exact round trips, checked with
//   round_trip_topology_and_weights            modelport::same_model plus explicit checks
//   round_trip_many_chunks         [save,load] 1000 weight buffers of varying sizes, some empty
//   round_trip_zero_length_weights [save,load] 0-element tensors, 0 weight bytes
//   round_trip_large_model         [save,load] kLargeModelBytes (or max_weight_bytes)
//   metadata_fidelity              [save,load] every artifact field, unknown top-level keys
//   null_and_absent_fields         [save,load] explicit null vs absent
//   weight_spec_fidelity           [save,load] quantization, groups, unknown keys, key order
//   model_names                    [save,load] spaces, '%', Unicode, '/'
//   load_missing_model             [load] not_found naming the URL or model
//   overwrite                      [save,load] the second save wins
//   list_models                    [save,list] URLs and byte counts of saved models
//   remove_model                   [save,remove] removed models are gone
//   remove_missing_model           [remove] not_found
//   concurrent_saves               [save,load] 8 threads, distinct names
//   handler_outlives_registry      [save,load] handlers keep working after the registries are
//                                  cleared (on a second instance of the plugin, so the other
//                                  cases keep their registries)
//   no_exception_escapes           every failure arrives as modelport::Error
//   errors_have_messages           every Error the suite saw has a message
boost::unit_test::test_suite* register_conformance_suite(const Config& config);

}  // namespace modelport::testkit
