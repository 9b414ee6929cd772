// Integrity digests through the CLI: written by cp --digest, kept (recomputed) by copies across
// schemes, verified on every load, and a flipped byte caught by load and by verify.
#include <boost/test/unit_test.hpp>

#include "cli_test_support.hpp"

#include <modelport/weight_stats.hpp>

#include <filesystem>
#include <fstream>

namespace bj = boost::json;
namespace fs = std::filesystem;
using modelport::test::CliSandbox;
using modelport::test::fixtures_dir;
using modelport::test::q;
using modelport::test::read_file;
using modelport::test::RunResult;

namespace {

const fs::path kAge = fixtures_dir() / "real/human-age/age.json";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bj::object model_json(const fs::path& folder) { return modelport::json::parse(read_file(folder / "model.json")).as_object(); }

std::string sha256_of_file(const fs::path& path) {
  const std::string bytes = read_file(path);
  return modelport::sha256_hex(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

void flip_byte(const fs::path& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.get(c);
  f.seekp(static_cast<std::streamoff>(offset));
  f.put(static_cast<char>(c ^ 0x01));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_digests)

BOOST_AUTO_TEST_CASE(cp_digest_records_one_sha256_per_shard) {
  CliSandbox box;
  RunResult r = box.run("cp " + q(kAge) + " " + q(box.path("m")) + " --digest --shard-bytes 50000");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  bj::object json = model_json(box.path("m"));
  BOOST_TEST_REQUIRE(json.contains("modelportDigests"));
  const bj::object& record = json.at("modelportDigests").as_object();
  BOOST_TEST(record.at("algorithm").as_string() == "SHA-256");
  BOOST_TEST(record.at("chunkBytes").to_number<std::uint64_t>() == 50000u);
  BOOST_TEST(record.at("weightBytes").to_number<std::uint64_t>() == fs::file_size(fixtures_dir() / "real/human-age/age.bin"));
  const bj::array& digests = record.at("sha256").as_array();
  const bj::array& paths = json.at("weightsManifest").at(0).at("paths").as_array();
  BOOST_TEST_REQUIRE(digests.size() == paths.size());
  BOOST_TEST_REQUIRE(digests.size() == 4u);
  // Each digest is the SHA-256 of that shard file, computed here independently of the writer.
  for (std::size_t i = 0; i < paths.size(); ++i) {
    BOOST_TEST(digests[i].as_string() == sha256_of_file(box.path("m") / std::string(paths[i].as_string())));
  }
  // The record is the last key; everything before it is what tfjs-node writes.
  BOOST_TEST(json.begin()[json.size() - 1].key() == "modelportDigests");

  RunResult v = box.run_stdout("verify " + q(box.path("m")) + " --json");
  BOOST_TEST(v.exit_code == 0, v.out);
  BOOST_TEST(modelport::json::parse(v.out).at("digests").as_string() == "verified");
}

BOOST_AUTO_TEST_CASE(a_flipped_byte_is_caught_by_load_and_by_verify) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " " + q(box.path("m")) + " --digest --shard-bytes 50000").exit_code == 0);
  flip_byte(box.path("m/group1-shard3of4.bin"), 1234);

  // Any load: exit 1, corrupt, naming the URL and the shard.
  RunResult load = box.run("inspect " + q(box.path("m")));
  BOOST_TEST(load.exit_code == 1, load.out);
  BOOST_TEST(contains(load.out, "file://" + box.path("m").string()), load.out);
  BOOST_TEST(contains(load.out, "shard 3 of 4 (weight bytes 100000..149999)"), load.out);
  BOOST_TEST(contains(load.out, "[corrupt]"), load.out);
  BOOST_TEST(box.run("cp " + q(box.path("m")) + " indexeddb://x").exit_code == 1);

  // verify: exit 3, the shard file named.
  RunResult v = box.run_stdout("verify " + q(box.path("m")) + " --json");
  BOOST_TEST(v.exit_code == 3, v.out);
  bj::value report = modelport::json::parse(v.out);
  BOOST_TEST(report.at("digests").as_string() == "failed");
  BOOST_TEST_REQUIRE(report.at("problems").as_array().size() == 1u);
  BOOST_TEST(report.at("problems").at(0).at("kind").as_string() == "digest");
  BOOST_TEST(report.at("problems").at(0).at("shard").as_string() == (box.path("m") / "group1-shard3of4.bin").string());

  // The check can be skipped: the bytes then load as they are.
  RunResult skipped = box.run("-o verify_digests=0 inspect " + q(box.path("m")));
  BOOST_TEST(skipped.exit_code == 0, skipped.out);

  // Two bad shards: verify reports both.
  flip_byte(box.path("m/group1-shard1of4.bin"), 0);
  RunResult two = box.run_stdout("verify " + q(box.path("m")) + " --json");
  BOOST_TEST(two.exit_code == 3);
  BOOST_TEST(modelport::json::parse(two.out).at("problems").as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(digests_travel_through_every_scheme_and_catch_damage_there) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " localstorage://d --digest").exit_code == 0);
  // Kept (recomputed) by a copy without --digest, through indexeddb and back to files.
  BOOST_TEST_REQUIRE(box.run("-q cp localstorage://d indexeddb://d").exit_code == 0);
  BOOST_TEST_REQUIRE(box.run("-q cp indexeddb://d " + q(box.path("back"))).exit_code == 0);
  BOOST_TEST(model_json(box.path("back")).contains("modelportDigests"));
  RunResult v = box.run_stdout("verify indexeddb://d --json");
  BOOST_TEST(modelport::json::parse(v.out).at("digests").as_string() == "verified");
  // --no-digest drops the record.
  BOOST_TEST_REQUIRE(box.run("-q cp indexeddb://d " + q(box.path("plain")) + " --no-digest").exit_code == 0);
  BOOST_TEST(!model_json(box.path("plain")).contains("modelportDigests"));

  // Damage inside the localstorage store (a weight byte changed in its base64 text through an
  // export / import round trip) is caught when it loads.
  BOOST_TEST_REQUIRE(box.run("localstorage export " + q(box.path("dump.json"))).exit_code == 0);
  bj::object dump = modelport::json::parse(read_file(box.path("dump.json"))).as_object();
  const std::string key = "tensorflowjs_models/d/weight_data";
  std::string data(dump.at(key).as_string());
  data[100] = data[100] == 'A' ? 'B' : 'A';
  dump[key] = data;
  std::ofstream(box.path("dump2.json"), std::ios::binary | std::ios::trunc) << modelport::json::stringify(dump);
  BOOST_TEST_REQUIRE(box.run("localstorage import " + q(box.path("dump2.json"))).exit_code == 0);
  RunResult load = box.run("inspect localstorage://d");
  BOOST_TEST(load.exit_code == 1, load.out);
  BOOST_TEST(contains(load.out, "localstorage://d"), load.out);
  BOOST_TEST(contains(load.out, "SHA-256"), load.out);
  BOOST_TEST(box.run("verify localstorage://d").exit_code == 3);
}

BOOST_AUTO_TEST_CASE(mv_keeps_digests_and_a_damaged_record_fails_loudly) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " " + q(box.path("a")) + " --digest").exit_code == 0);
  BOOST_TEST_REQUIRE(box.run("-q mv " + q(box.path("a")) + " " + q(box.path("b"))).exit_code == 0);
  BOOST_TEST(model_json(box.path("b")).contains("modelportDigests"));
  BOOST_TEST(box.run("verify " + q(box.path("b"))).exit_code == 0);

  // A record whose digest count does not fit the sizes is corruption, not "no digests".
  std::string text = read_file(box.path("b/model.json"));
  auto at = text.find("\"chunkBytes\":");
  BOOST_TEST_REQUIRE(at != std::string::npos);
  text.replace(at, std::string("\"chunkBytes\":").size(), "\"chunkBytes\":1000,\"x\":");
  std::ofstream(box.path("b/model.json"), std::ios::binary | std::ios::trunc) << text;
  RunResult load = box.run("inspect " + q(box.path("b")));
  BOOST_TEST(load.exit_code == 1, load.out);
  BOOST_TEST(contains(load.out, "modelportDigests"), load.out);
  BOOST_TEST(box.run("verify " + q(box.path("b"))).exit_code == 3);
}

BOOST_AUTO_TEST_SUITE_END()
