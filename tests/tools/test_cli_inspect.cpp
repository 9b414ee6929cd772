// `modelport inspect` end to end: the JSON report of every fixture matches the values
// TensorFlow.js computed, and bad input gives a clear message and a meaningful exit code.
#include <boost/test/unit_test.hpp>

#include <modelport/json.hpp>

#include "cli_runner.hpp"
#include "test_support.hpp"

#include <fstream>

namespace bj = boost::json;
using modelport::test::fixtures_dir;
using modelport::test::read_file;
namespace fs = std::filesystem;

using modelport::test::quote;
using modelport::test::RunResult;

namespace {

RunResult run_cli(const std::string& args) { return modelport::test::run_program(MODELPORT_CLI, args); }

void check_model(const std::string& set, const std::string& model, const std::string& entry) {
  RunResult r = run_cli("inspect --json --stats " + quote((fixtures_dir() / set / entry).string()));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  bj::value report = modelport::json::parse(r.out);
  bj::value reference = modelport::json::parse(read_file(fixtures_dir() / set / "reference.json"));
  const bj::object& ref = reference.at("models").at(model).as_object();
  const bj::array& got = report.at("weights").as_array();
  const bj::array& want = ref.at("weights").as_array();
  BOOST_TEST_REQUIRE(got.size() == want.size());
  BOOST_TEST(report.at("weightDataBytes").to_number<double>() == ref.at("weight_bytes").to_number<double>());
  if (ref.contains("generatedBy")) BOOST_TEST(report.at("generatedBy") == ref.at("generatedBy"));
  for (std::size_t i = 0; i < got.size(); ++i) {
    const bj::object& g = got[i].as_object();
    const bj::object& w = want[i].as_object();
    std::string label = model + ": " + std::string(w.at("name").as_string());
    BOOST_TEST(g.at("name") == w.at("name"), label);
    BOOST_TEST(g.at("offset").to_number<double>() == w.at("offset").to_number<double>(), label);
    BOOST_TEST(g.at("byteLength").to_number<double>() == w.at("byte_length").to_number<double>(), label);
    BOOST_TEST(g.at("sha256") == w.at("raw_sha256"), label);
    BOOST_TEST(g.at("quantization") == w.at("quantization"), label);
    if (g.contains("sum")) {
      double abs_sum = w.at("abs_sum").to_number<double>();
      BOOST_TEST(modelport::test::close_to_reference(g.at("sum").to_number<double>(), w.at("sum").to_number<double>(), abs_sum), label);
      BOOST_TEST(modelport::test::close_to_reference(g.at("absSum").to_number<double>(), abs_sum, abs_sum), label);
    } else {
      BOOST_TEST(g.at("count").to_number<double>() == w.at("count").to_number<double>(), label);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_inspect)

BOOST_AUTO_TEST_CASE(real_models_match_tfjs) {
  check_model("real", "human-age", "human-age/age.json");
  check_model("real", "human-antispoof", "human-antispoof/antispoof.json");
  check_model("real", "face-api-tiny-face-detector", "face-api-tiny-face-detector/tiny_face_detector_model-weights_manifest.json");
}

BOOST_AUTO_TEST_CASE(synthetic_models_match_tfjs) {
  check_model("synthetic", "dtypes", "dtypes/weights_manifest.json");
  check_model("synthetic", "quantized-layers", "quantized-layers/model.json");
}

BOOST_AUTO_TEST_CASE(text_report_and_folder_and_file_url) {
  fs::path dir = fixtures_dir() / "golden/file-save/tfjs-node";
  RunResult by_folder = run_cli("inspect " + quote(dir.string()));
  BOOST_TEST(by_folder.exit_code == 0, by_folder.out);
  BOOST_TEST(by_folder.out.find("format:             layers-model") != std::string::npos, by_folder.out);
  BOOST_TEST(by_folder.out.find("modelTopologyBytes: 1785") != std::string::npos, by_folder.out);
  BOOST_TEST(by_folder.out.find("dense1/kernel  float32[36,8]") != std::string::npos, by_folder.out);
  RunResult by_url = run_cli("inspect --json " + quote("file://" + (dir / "model.json").string()));
  BOOST_TEST(by_url.exit_code == 0, by_url.out);
  bj::value report = modelport::json::parse(by_url.out);
  BOOST_TEST(report.at("weightSpecsBytes").to_number<double>() == 332);
  BOOST_TEST(report.at("convertedBy").is_null());
  BOOST_TEST(!report.at("weights").at(0).as_object().contains("sha256"));  // only with --stats
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  BOOST_TEST(run_cli("inspect").exit_code == 2);
  BOOST_TEST(run_cli("inspect --bogus x").exit_code == 2);
  BOOST_TEST(run_cli("frobnicate").exit_code == 2);
  RunResult help = run_cli("inspect --help");
  BOOST_TEST(help.exit_code == 0);
  BOOST_TEST(help.out.find("--stats") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_models_exit_1_with_a_clear_message) {
  modelport::test::TempDir tmp;
  auto write = [&](const std::string& name, const std::string& content) {
    std::ofstream(tmp.path() / name, std::ios::binary) << content;
  };
  auto expect = [&](const std::string& target, const std::string& needle) {
    RunResult r = run_cli("inspect --stats " + quote((tmp.path() / target).string()));
    BOOST_TEST(r.exit_code == 1, r.out);
    BOOST_TEST(r.out.find(needle) != std::string::npos, "expected '" << needle << "' in: " << r.out);
  };
  expect("missing.json", "missing.json does not exist");
  write("notjson.json", "{oops");
  expect("notjson.json", "invalid JSON");
  write("manifest.json", R"({"weightsManifest":[{"paths":["w.bin"],"weights":[{"name":"k","shape":[4],"dtype":"float32"}]}]})");
  expect("manifest.json", "Weight file");
  write("w.bin", std::string(10, '\0'));
  expect("manifest.json", "weight group 1 needs 16 bytes but its shards hold 10: w.bin (10 bytes)");
  std::filesystem::create_directory(tmp.path() / "dir.bin");
  write("dirshard.json", R"({"weightsManifest":[{"paths":["dir.bin"],"weights":[]}]})");
  expect("dirshard.json", "is a directory");
}

BOOST_AUTO_TEST_SUITE_END()
