// `modelport cp` across every pair of schemes that can both save and load (file://,
// indexeddb://, localstorage://), byte-equal; shard layouts; `mv` that fails leaves its source.
// (memstore:// keeps models in its process only, so a CLI copy into it has nothing to check.)
#include <boost/test/unit_test.hpp>

#include "cli_test_support.hpp"

#include <modelport/model_json.hpp>

#include <filesystem>

namespace bj = boost::json;
namespace fs = std::filesystem;
using modelport::test::CliSandbox;
using modelport::test::fixtures_dir;
using modelport::test::q;
using modelport::test::read_file;
using modelport::test::RunResult;

namespace {

const fs::path kAgeDir = fixtures_dir() / "real/human-age";

struct StoredModel {
  std::string topology;      // modelTopology as compact JSON
  std::string weight_specs;  // the flattened manifest as compact JSON
  std::string weights;       // every shard's bytes, in manifest order
  std::vector<std::string> shard_names;
};

// Reads a file:// model from disk (not through modelport).
StoredModel read_stored(const fs::path& model_json) {
  const std::string text = read_file(model_json);
  modelport::ModelJson parsed = modelport::parse_model_json(text, model_json.string());
  StoredModel m;
  m.topology = modelport::json::stringify(*parsed.artifacts.topology_json());
  m.weight_specs = modelport::json::stringify(modelport::to_json(*parsed.artifacts.weight_specs));
  for (const auto& group : *parsed.weights_manifest) {
    for (const auto& path : group.paths) {
      m.weights += read_file(model_json.parent_path() / path);
      m.shard_names.push_back(path);
    }
  }
  return m;
}

std::string url_in(const CliSandbox& box, const std::string& scheme, const std::string& name) {
  return scheme == "file://" ? "file://" + box.path(name).string() : scheme + name;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_copy_matrix)

BOOST_AUTO_TEST_CASE(cp_between_every_pair_of_schemes_is_byte_equal) {
  const StoredModel original = read_stored(kAgeDir / "age.json");
  const std::string schemes[] = {"file://", "indexeddb://", "localstorage://"};
  for (const auto& from : schemes) {
    for (const auto& to : schemes) {
      BOOST_TEST_CONTEXT(from << " -> " << to) {
        CliSandbox box;
        const std::string source = url_in(box, from, "source");
        const std::string destination = url_in(box, to, "destination");
        RunResult seed = box.run("-q cp " + q(kAgeDir / "age.json") + " " + q(source));
        BOOST_TEST_REQUIRE(seed.exit_code == 0, seed.out);
        RunResult cp = box.run("cp " + q(source) + " " + q(destination));
        BOOST_TEST_REQUIRE(cp.exit_code == 0, cp.out);
        BOOST_TEST(cp.out.find("copied " + source + " -> " + destination) != std::string::npos, cp.out);
        // Bring the copy back to files and compare with the fixture itself.
        RunResult back = box.run("-q cp " + q(destination) + " " + q(box.path("back")));
        BOOST_TEST_REQUIRE(back.exit_code == 0, back.out);
        const StoredModel result = read_stored(box.path("back/model.json"));
        BOOST_TEST(result.topology == original.topology);
        BOOST_TEST(result.weight_specs == original.weight_specs);
        BOOST_TEST(result.weights.size() == original.weights.size());
        BOOST_TEST((result.weights == original.weights));
        // The source is untouched by a copy.
        BOOST_TEST(box.run("verify " + q(source)).exit_code == 0);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(cp_keeps_a_uniform_shard_layout_unless_told_otherwise) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAgeDir / "age.json") + " " + q(box.path("sharded")) + " --shard-bytes 50000").exit_code == 0);
  const StoredModel sharded = read_stored(box.path("sharded/model.json"));
  BOOST_TEST(sharded.shard_names.size() == 4u);  // 161240 bytes in pieces of 50000
  BOOST_TEST(fs::file_size(box.path("sharded/group1-shard1of4.bin")) == 50000u);
  BOOST_TEST(fs::file_size(box.path("sharded/group1-shard4of4.bin")) == 11240u);

  BOOST_TEST_REQUIRE(box.run("-q cp " + q(box.path("sharded")) + " " + q(box.path("same"))).exit_code == 0);
  const StoredModel same = read_stored(box.path("same/model.json"));
  BOOST_TEST(same.shard_names == sharded.shard_names, boost::test_tools::per_element());
  BOOST_TEST((same.weights == sharded.weights));

  BOOST_TEST_REQUIRE(box.run("-q cp " + q(box.path("sharded")) + " " + q(box.path("other")) + " --shard-bytes 100000").exit_code == 0);
  const StoredModel other = read_stored(box.path("other/model.json"));
  BOOST_TEST(other.shard_names.size() == 2u);
  BOOST_TEST((other.weights == sharded.weights));

  // localstorage holds one string of weights: the layout comes back only when asked for.
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(box.path("sharded")) + " localstorage://s").exit_code == 0);
  BOOST_TEST_REQUIRE(box.run("-q cp localstorage://s " + q(box.path("again")) + " --shard-bytes 50000").exit_code == 0);
  const StoredModel again = read_stored(box.path("again/model.json"));
  BOOST_TEST(again.shard_names == sharded.shard_names, boost::test_tools::per_element());
  BOOST_TEST((again.weights == sharded.weights));
}

BOOST_AUTO_TEST_CASE(mv_moves_across_schemes_and_removes_the_source) {
  CliSandbox box;
  const StoredModel original = read_stored(kAgeDir / "age.json");
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAgeDir / "age.json") + " " + q(box.path("src"))).exit_code == 0);
  RunResult mv = box.run("mv " + q(box.path("src")) + " indexeddb://moved");
  BOOST_TEST_REQUIRE(mv.exit_code == 0, mv.out);
  BOOST_TEST(!fs::exists(box.path("src/model.json")));
  RunResult mv2 = box.run("mv indexeddb://moved localstorage://moved");
  BOOST_TEST_REQUIRE(mv2.exit_code == 0, mv2.out);
  BOOST_TEST(box.run("inspect indexeddb://moved").exit_code == 1);
  BOOST_TEST_REQUIRE(box.run("-q cp localstorage://moved " + q(box.path("back"))).exit_code == 0);
  BOOST_TEST((read_stored(box.path("back/model.json")).weights == original.weights));
}

BOOST_AUTO_TEST_CASE(mv_whose_destination_fails_leaves_the_source_intact) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAgeDir / "age.json") + " " + q(box.path("src"))).exit_code == 0);
  const StoredModel before = read_stored(box.path("src/model.json"));
  // A localStorage quota far below the model's size: the save fails with quota_exceeded.
  RunResult mv = box.run("-o quota=10000 mv " + q(box.path("src")) + " localstorage://full");
  BOOST_TEST(mv.exit_code == 1, mv.out);
  BOOST_TEST(mv.out.find("quota") != std::string::npos, mv.out);
  const StoredModel after = read_stored(box.path("src/model.json"));
  BOOST_TEST((after.weights == before.weights));
  BOOST_TEST(after.topology == before.topology);
  BOOST_TEST(box.run("verify " + q(box.path("src"))).exit_code == 0);
  // ... and nothing half-written at the destination.
  BOOST_TEST(box.run("inspect localstorage://full").exit_code == 1);

  // The same from a store source: the indexeddb model stays listed and loadable.
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(box.path("src")) + " indexeddb://kept").exit_code == 0);
  RunResult mv2 = box.run("-o quota=10000 mv indexeddb://kept localstorage://full");
  BOOST_TEST(mv2.exit_code == 1, mv2.out);
  BOOST_TEST(box.run("verify indexeddb://kept").exit_code == 0);
}

BOOST_AUTO_TEST_SUITE_END()
