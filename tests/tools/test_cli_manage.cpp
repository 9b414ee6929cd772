// cp, mv, ls, rm and inspect --files end to end, through the plugins of this build.
#include <boost/test/unit_test.hpp>

#include <modelport/json.hpp>

#include "cli_runner.hpp"
#include "test_support.hpp"

#include <filesystem>
#include <fstream>

namespace bj = boost::json;
namespace fs = std::filesystem;
using modelport::test::fixtures_dir;
using modelport::test::quote;
using modelport::test::read_file;
using modelport::test::RunResult;

namespace {

RunResult run_cli(const std::string& args) { return modelport::test::run_program(MODELPORT_CLI, args); }

std::string q(const fs::path& p) { return quote(p.string()); }

// The per-weight digests of a model, as inspect --stats --json reports them.
std::vector<std::string> digests(const std::string& model) {
  RunResult r = run_cli("inspect --stats --json " + model);
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  std::vector<std::string> out;
  const bj::value report = modelport::json::parse(r.out);
  for (const auto& w : report.at("weights").as_array()) out.emplace_back(w.at("sha256").as_string());
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_manage)

BOOST_AUTO_TEST_CASE(cp_plain_paths_keeps_the_model_and_its_shard_layout) {
  modelport::test::TempDir tmp;
  fs::path source = fixtures_dir() / "synthetic/quantized-layers/model.json";
  RunResult r = run_cli("cp " + q(source) + " " + q(tmp.path() / "copy"));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  BOOST_TEST(r.out.find("copied file://") != std::string::npos, r.out);
  const auto original = digests(q(source));
  const auto copied = digests(q(tmp.path() / "copy"));
  BOOST_TEST(copied == original, boost::test_tools::per_element());
  // The source has 4 shards, not of one size: a copy writes tfjs-node's single weights.bin.
  BOOST_TEST(fs::exists(tmp.path() / "copy" / "weights.bin"));

  RunResult sharded = run_cli("cp " + q(tmp.path() / "copy") + " " + q(tmp.path() / "sharded") + " --shard-bytes 200");
  BOOST_TEST_REQUIRE(sharded.exit_code == 0, sharded.out);
  BOOST_TEST(fs::file_size(tmp.path() / "sharded" / "group1-shard1of4.bin") == 200u);
  // Copying a uniformly sharded model keeps its shard size.
  BOOST_TEST(run_cli("-q cp " + q(tmp.path() / "sharded") + " file://" + (tmp.path() / "again").string()).exit_code == 0);
  BOOST_TEST(fs::file_size(tmp.path() / "again" / "group1-shard3of4.bin") == 200u);
  const auto again = digests(q(tmp.path() / "again"));
  BOOST_TEST(again == original, boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(cp_to_memory_and_errors) {
  modelport::test::TempDir tmp;
  RunResult same = run_cli("cp " + q(tmp.path() / "x") + " " + q(tmp.path() / "x"));
  BOOST_TEST(same.exit_code == 1);
  BOOST_TEST(same.out.find("Old path and new path are the same") != std::string::npos, same.out);
  RunResult missing = run_cli("cp " + q(tmp.path() / "nothing") + " " + q(tmp.path() / "y"));
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.out.find("does not exist") != std::string::npos, missing.out);
  BOOST_TEST(!fs::exists(tmp.path() / "y"));
  RunResult scheme = run_cli("cp " + q(fixtures_dir() / "golden/file-save/tfjs-node") + " nosuch://x");
  BOOST_TEST(scheme.exit_code == 1);
  BOOST_TEST(scheme.out.find("no save handler is found for destination URL nosuch://x") != std::string::npos, scheme.out);
  BOOST_TEST(run_cli("cp onlyone").exit_code == 2);
  BOOST_TEST(run_cli("cp a b --bogus").exit_code == 2);
  BOOST_TEST(run_cli("cp --help").exit_code == 0);
  BOOST_TEST(run_cli("-o novalue cp a b").exit_code == 2);
}

BOOST_AUTO_TEST_CASE(ls_mv_rm) {
  modelport::test::TempDir tmp;
  fs::path source = fixtures_dir() / "golden/file-save/tfjs-node";
  BOOST_TEST_REQUIRE(run_cli("-q cp " + q(source) + " " + q(tmp.path() / "store" / "a")).exit_code == 0);
  BOOST_TEST_REQUIRE(run_cli("-q cp " + q(source) + " " + q(tmp.path() / "store" / "b")).exit_code == 0);
  RunResult ls = run_cli("ls --json " + q(tmp.path() / "store"));
  BOOST_TEST_REQUIRE(ls.exit_code == 0, ls.out);
  bj::value listed = modelport::json::parse(ls.out);
  BOOST_TEST_REQUIRE(listed.as_array().size() == 2u, ls.out);
  BOOST_TEST(listed.at(0).at("url").as_string() == "file://" + (tmp.path() / "store" / "a").string());
  BOOST_TEST(listed.at(0).at("modelTopologyBytes").to_number<double>() == 1785);
  BOOST_TEST(listed.at(0).at("weightDataBytes").to_number<double>() == 1452);

  RunResult mv = run_cli("mv " + q(tmp.path() / "store" / "a") + " " + q(tmp.path() / "moved"));
  BOOST_TEST(mv.exit_code == 0, mv.out);
  BOOST_TEST(!fs::exists(tmp.path() / "store" / "a"));
  BOOST_TEST(read_file(tmp.path() / "moved" / "model.json") == read_file(source / "model.json"));

  RunResult rm = run_cli("rm " + q(tmp.path() / "store" / "b") + " " + q(tmp.path() / "store" / "b"));
  BOOST_TEST(rm.exit_code == 1, rm.out);  // the second one is gone by then
  BOOST_TEST(rm.out.find("removed file://") != std::string::npos, rm.out);
  BOOST_TEST(rm.out.find("Cannot find model at path") != std::string::npos, rm.out);
  RunResult empty = run_cli("ls " + q(tmp.path() / "store"));
  BOOST_TEST(empty.exit_code == 0);
  BOOST_TEST(empty.out.empty(), empty.out);
  RunResult no_manager = run_cli("ls nosuch://");
  BOOST_TEST(no_manager.exit_code == 1);
  BOOST_TEST(no_manager.out.find("Cannot find model manager for scheme 'nosuch'") != std::string::npos, no_manager.out);
}

BOOST_AUTO_TEST_CASE(inspect_files_matches_shards_by_basename) {
  fs::path dir = fixtures_dir() / "synthetic/quantized-layers";
  // Weight files in a scrambled order: browserFiles goes by the manifest.
  RunResult r = run_cli("inspect --json --stats --files " + q(dir / "model.json") + " " + q(dir / "group2-shard1of1.bin") + " " +
                        q(dir / "group1-shard3of3.bin") + " " + q(dir / "group1-shard1of3.bin") + " " + q(dir / "group1-shard2of3.bin"));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  const auto by_url = digests(q(dir / "model.json"));
  BOOST_TEST(by_url.size() == 6u);
  std::vector<std::string> by_files;
  const bj::value report = modelport::json::parse(r.out);
  for (const auto& w : report.at("weights").as_array()) by_files.emplace_back(w.at("sha256").as_string());
  BOOST_TEST(by_files == by_url, boost::test_tools::per_element());
  RunResult missing = run_cli("inspect --files " + q(dir / "model.json") + " " + q(dir / "group1-shard1of3.bin"));
  BOOST_TEST(missing.exit_code == 1);
  BOOST_TEST(missing.out.find("Weight file with basename 'group1-shard2of3.bin' is not provided.") != std::string::npos, missing.out);
}

BOOST_AUTO_TEST_SUITE_END()
