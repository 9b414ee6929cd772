// A plugin author's own conformance executable (the second way into the kit), built against the
// INSTALLED modelport::plugin_testkit by cmake_consumer/ and run by run_install_test.sh on the
// out-of-tree plugin named by MODELPORT_INSTALL_TEST_PLUGIN.
#include <modelport/testkit/conformance.hpp>

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <iostream>

namespace {

bool init() {
  const char* plugin = std::getenv("MODELPORT_INSTALL_TEST_PLUGIN");
  if (!plugin || !*plugin) {
    std::cerr << "testkit_consumer: set MODELPORT_INSTALL_TEST_PLUGIN to a plugin file\n";
    return false;
  }
  modelport::testkit::Config config;
  config.plugin = plugin;
  config.suite_name = "installed_kit";
  modelport::testkit::register_conformance_suite(config);
  return true;
}

}  // namespace

int main(int argc, char* argv[]) { return boost::unit_test::unit_test_main(&init, argc, argv); }
