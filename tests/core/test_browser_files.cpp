// browserFiles (§6 browser_files_test 59–69, io_utils 105–106).
#include <boost/test/unit_test.hpp>

#include <modelport/browser_files.hpp>
#include <modelport/error.hpp>
#include <modelport/weights_codec.hpp>

using namespace modelport;

namespace {

NamedFile file(std::string name, std::string content) { return {std::move(name), Buffer::copy_of(content)}; }

std::string bytes(std::initializer_list<int> v) {
  std::string s;
  for (int x : v) s.push_back(static_cast<char>(x));
  return s;
}

std::string manifest_json(const std::string& groups) {
  return R"({"modelTopology":{"class_name":"Sequential"},"format":"layers-model","generatedBy":"g","convertedBy":"1.13.1",)"
         R"("modelInitializer":{},"trainingConfig":{"loss":"mse"},"weightsManifest":)" + groups + "}";
}

std::string error_of(std::vector<NamedFile> files) {
  try {
    browser_files(std::move(files))->load();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

const std::string kTwoFiles = R"([{"paths":["./dir1/model.weights.1.bin","./dir2/model.weights.2.bin"],)"
                              R"("weights":[{"name":"w","shape":[8],"dtype":"bool"}]}])";

}  // namespace

BOOST_AUTO_TEST_SUITE(browser_files_loader)

BOOST_AUTO_TEST_CASE(files_are_matched_by_basename_in_manifest_order) {  // §6 59–62
  auto json = file("model.json", manifest_json(kTwoFiles));
  for (bool reversed : {false, true}) {
    std::vector<NamedFile> files = {json, file("model.weights.1.bin", bytes({1, 2, 3, 4})), file("model.weights.2.bin", bytes({10, 20, 30, 40}))};
    if (reversed) std::swap(files[1], files[2]);
    ModelArtifacts a = browser_files(files)->load();
    BOOST_TEST(a.weight_data->buffers().size() == 2u);
    Buffer joined = a.weight_data->join();
    BOOST_TEST(joined.view() == bytes({1, 2, 3, 4, 10, 20, 30, 40}));
    BOOST_TEST(a.converted_by->as_string() == "1.13.1");
    BOOST_TEST(a.model_initializer->is_object());
    BOOST_TEST(a.training_config->at("loss").as_string() == "mse");
    BOOST_TEST(a.weight_specs->size() == 1u);
  }
}

BOOST_AUTO_TEST_CASE(json_only_keeps_metadata_but_no_weights) {  // §6 63 (fixed: metadata kept)
  ModelArtifacts a = browser_files({file("model.json", manifest_json(kTwoFiles))})->load();
  BOOST_TEST(a.topology_json() != nullptr);
  BOOST_TEST(!a.weight_specs.has_value());
  BOOST_TEST(!a.weight_data.has_value());
  BOOST_TEST(a.format->as_string() == "layers-model");
}

BOOST_AUTO_TEST_CASE(errors_of_the_reference) {  // §6 64–69
  std::string one_path = R"([{"paths":["model.weights.1.bin"],"weights":[{"name":"w","shape":[4],"dtype":"bool"}]}])";
  BOOST_TEST(error_of({file("model.json", manifest_json(one_path)), file("model.weights.1.bin", bytes({1, 2, 3, 4})),
                       file("extra.bin", bytes({1}))}) ==
             "Mismatch in the number of files in weights manifest (1) and the number of weight files provided (2).");
  std::string two_paths = R"([{"paths":["model.weights.1.bin","model.weights.2.bin"],"weights":[]}])";
  BOOST_TEST(error_of({file("model.json", manifest_json(two_paths)), file("model.weights.1.bin", ""), file("model.weights.3.bin", "")}) ==
             "Weight file with basename 'model.weights.2.bin' is not provided.");
  std::string duplicate = R"([{"paths":["./dir1/model.weights.1.bin","./dir2/model.weights.1.bin"],"weights":[]}])";
  BOOST_TEST(error_of({file("model.json", manifest_json(duplicate)), file("model.weights.1.bin", ""), file("b", "")}) ==
             "Duplicate file basename found in weights manifest: 'model.weights.1.bin'");
  BOOST_TEST(error_of({file("model.json", R"({"weightsManifest":[]})")}).find("modelTopology field is missing from file model.json") == 0u);
  BOOST_TEST(error_of({file("model.json", R"({"modelTopology":{}})")}) == "weightManifest field is missing from file model.json");
  BOOST_TEST(error_of({file("model.json", "invalid")}).find("Failed to parse file model.json: ") == 0u);
  BOOST_CHECK_THROW(browser_files({}), Error);
  // Short weight files are caught before decoding, naming the files.
  BOOST_TEST(error_of({file("model.json", manifest_json(one_path)), file("model.weights.1.bin", bytes({1}))})
                 .find("weight group 1 needs 4 bytes but its shards hold 1: model.weights.1.bin (1 bytes)") == 0u);
}

BOOST_AUTO_TEST_CASE(basenames) {  // §6 105–106
  BOOST_TEST(browser_basename("foo.txt") == "foo.txt");
  BOOST_TEST(browser_basename("bar") == "bar");
  BOOST_TEST(browser_basename("qux/foo.txt") == "foo.txt");
  BOOST_TEST(browser_basename("qux/My Model.json") == "My Model.json");
  for (const char* p : {"foo/bar/baz", "/foo/bar/baz", "foo/bar/baz/", "foo/bar/baz//", "  foo/bar/baz  "}) {
    BOOST_TEST(browser_basename(p) == "baz", p);
  }
}

BOOST_AUTO_TEST_SUITE_END()
