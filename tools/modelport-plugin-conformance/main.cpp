// modelport-plugin-conformance: runs the conformance kit against one plugin file.
//
//   modelport-plugin-conformance [boost.test args] -- --plugin PATH [--url-base URL]
//       [--caps save,load,list,remove] [--max-weight-bytes N] [--require-info-byte-counts]
//
// Built from sdk/testkit/CMakeLists.txt; CTest runs it through modelport_add_plugin_conformance_test().
#include <modelport/testkit/conformance.hpp>

#include <boost/test/unit_test.hpp>

#include <iostream>
#include <stdexcept>
#include <string_view>

namespace {

bool init_runner() {
  auto& master = boost::unit_test::framework::master_test_suite();
  master.p_name.value = "modelport-plugin-conformance";
  modelport::testkit::Config config;
  try {
    config = modelport::testkit::parse_arguments(master.argc, master.argv);
  } catch (const std::invalid_argument& e) {
    std::cerr << "modelport-plugin-conformance: " << e.what() << "\n\n"
              << modelport::testkit::usage("modelport-plugin-conformance");
    // setup_error makes Boost.Test exit non-zero with this text instead of running nothing.
    throw boost::unit_test::framework::setup_error(e.what());
  }
  modelport::testkit::register_conformance_suite(config);
  return true;
}

}  // namespace

int main(int argc, char* argv[]) {
  // --help after "--" is ours; Boost.Test would otherwise start a run with no plugin.
  bool ours = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") ours = true;
    if (ours && (arg == "--help" || arg == "-h")) {
      std::cout << modelport::testkit::usage(argv[0]);
      return 0;
    }
  }
  return boost::unit_test::unit_test_main(&init_runner, argc, argv);
}
