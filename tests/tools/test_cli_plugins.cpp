// `modelport plugins` and `modelport-plugin-info` end to end, against the plugins of this build
// (discovery finds them next to the core library without an install).
#include <boost/test/unit_test.hpp>

#include <modelport/json.hpp>

#include "cli_runner.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <fstream>

namespace bj = boost::json;
using modelport::test::quote;
using modelport::test::RunResult;

namespace {

RunResult run_cli(const std::string& args) { return modelport::test::run_program(MODELPORT_CLI, args); }
RunResult run_info(const std::string& args) { return modelport::test::run_program(MODELPORT_PLUGIN_INFO, args); }

const bj::object* find_plugin(const bj::value& report, std::string_view name) {
  for (const auto& p : report.at("plugins").as_array()) {
    if (p.at("name").as_string() == name) return &p.as_object();
  }
  return nullptr;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_plugins)

BOOST_AUTO_TEST_CASE(discovers_the_build_trees_plugins) {
  RunResult r = run_cli("plugins --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  bj::value report = modelport::json::parse(r.out);
  const bj::object* memstore = find_plugin(report, "memstore");
  BOOST_TEST_REQUIRE(memstore != nullptr, r.out);
  BOOST_TEST(memstore->at("abi").as_string() == "1.1");
  BOOST_TEST(memstore->at("prefixes").at(0).as_string() == "memstore://");
  BOOST_TEST(memstore->at("capabilities").at("memstore://").as_array().size() == 5u);
  BOOST_TEST(std::string(memstore->at("file").as_string()).ends_with("libmodelport_plugin_memstore.so"));
  BOOST_TEST(report.at("errors").as_array().empty(), r.out);

  RunResult text = run_cli("plugins");
  BOOST_TEST(text.exit_code == 0);
  BOOST_TEST(text.out.find("memstore://  save,load,list,remove") != std::string::npos, text.out);
}

BOOST_AUTO_TEST_CASE(plugin_path_failures_are_reported_not_fatal) {
  modelport::test::TempDir dir;
  // Not a shared object at all: the open stage fails, the command still lists the others.
  std::ofstream(dir.path() / "libmodelport_plugin_broken.so") << "not an ELF file";
  RunResult r = run_cli("--plugin-path " + quote(dir.path().string()) + " plugins --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  bj::value report = modelport::json::parse(r.out);
  BOOST_TEST(report.at("searched").at(0).as_string() == std::filesystem::canonical(dir.path()).string());
  BOOST_TEST(find_plugin(report, "memstore") != nullptr);
  const auto& errors = report.at("errors").as_array();
  BOOST_TEST_REQUIRE(errors.size() == 1u, r.out);
  BOOST_TEST(errors[0].at("stage").as_string() == "open");
  BOOST_TEST(std::string(errors[0].at("message").as_string()).find("libmodelport_plugin_broken.so") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(discovery_can_be_disabled) {
  RunResult r = modelport::test::run_program("env", "MODELPORT_PLUGIN_PATH=disable " + quote(MODELPORT_CLI) + " plugins --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(modelport::json::parse(r.out).at("plugins").as_array().empty(), r.out);
}

BOOST_AUTO_TEST_CASE(usage_errors) {
  BOOST_TEST(run_cli("plugins --bogus").exit_code == 2);
  BOOST_TEST(run_cli("--plugin-path").exit_code == 2);
}

BOOST_AUTO_TEST_CASE(plugin_info_reads_the_handshake) {
  RunResult r = run_info(quote(MODELPORT_MEMSTORE_PLUGIN) + " --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  bj::value info = modelport::json::parse(r.out);
  BOOST_TEST(info.at("name").as_string() == "memstore");
  BOOST_TEST(info.at("version").as_string() == "1.0.0");
  BOOST_TEST(info.at("schemes").at(0).at("capabilities").as_string() == "save,load,list,remove,save-streamed");
  BOOST_TEST(std::string(info.at("buildInfo").as_string()).find("stdlib=") != std::string::npos);

  RunResult missing = run_info("/nonexistent/libmodelport_plugin_x.so");
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.out.find("[find] plugin file '/nonexistent/libmodelport_plugin_x.so' does not exist") != std::string::npos,
             missing.out);
  BOOST_TEST(run_info("").exit_code == 2);
}

BOOST_AUTO_TEST_SUITE_END()
