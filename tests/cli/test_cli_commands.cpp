// Every command of the modelport CLI: --help (stdout, exit 0), bad usage (exit 2), failures
// (exit 1), --json output, verify's exit 3, and the progress line on and off.
#include <boost/test/unit_test.hpp>

#include "cli_test_support.hpp"

#include <filesystem>
#include <fstream>
#include <vector>

namespace bj = boost::json;
namespace fs = std::filesystem;
using modelport::test::CliSandbox;
using modelport::test::fixtures_dir;
using modelport::test::q;
using modelport::test::RunResult;

namespace {

const fs::path kAge = fixtures_dir() / "real/human-age/age.json";

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_commands)

BOOST_AUTO_TEST_CASE(every_command_answers_help_on_stdout_with_exit_0) {
  CliSandbox box;
  for (std::string command : {"inspect", "plugins", "cp", "mv", "ls", "rm", "verify", "quantize", "localstorage"}) {
    RunResult r = box.run_stdout(command + " --help");
    BOOST_TEST_CONTEXT(command) {
      BOOST_TEST(r.exit_code == 0, r.out);
      BOOST_TEST(contains(r.out, "usage: modelport " + command), r.out);
      BOOST_TEST(contains(r.out, "Exit codes"), r.out);
    }
  }
  RunResult top = box.run_stdout("--help");
  BOOST_TEST(top.exit_code == 0);
  for (std::string command : {"verify", "quantize", "cp", "serve"}) BOOST_TEST(contains(top.out, "  " + command), top.out);
  // No command at all is a usage error, on stderr.
  RunResult none = box.run_stdout("");
  BOOST_TEST(none.exit_code == 2);
  BOOST_TEST(none.out.empty());
}

BOOST_AUTO_TEST_CASE(bad_command_lines_exit_2) {
  CliSandbox box;
  const std::string model = q(kAge);
  const std::string out = q(box.path("out"));
  const std::pair<std::string, std::string> cases[] = {
      {"frobnicate", "unknown command"},
      {"cp " + model, "needs SRC and DST"},
      {"cp " + model + " " + out + " --bogus", "bad option"},
      {"cp " + model + " " + out + " --shard-bytes 0", "positive integer"},
      {"cp " + model + " " + out + " --shard-bytes x1", "positive integer"},
      {"mv " + model, "needs SRC and DST"},
      {"ls", "needs one URL"},
      {"ls a b", "needs one URL"},
      {"rm", "needs at least one URL"},
      {"rm --force x", "unknown option"},
      {"verify", "needs one model"},
      {"verify a b", "needs one model"},
      {"verify " + model + " --stats", "unknown option"},
      {"quantize " + model + " " + out, "needs --dtype"},
      {"quantize " + model + " " + out + " --dtype int8", "must be uint8, uint16 or float16"},
      {"quantize " + model + " --dtype uint8", "needs SRC and DST"},
      {"quantize " + model + " " + out + " --dtype uint8 --shard-bytes -3", "positive integer"},
      {"inspect", "usage"},
      {"plugins --bogus", "unexpected argument"},
      {"localstorage", "needs an action"},
      {"localstorage frob", "unknown action"},
      {"-o novalue inspect " + model, "-o takes key=value"},
  };
  for (const auto& [args, message] : cases) {
    RunResult r = box.run(args);
    BOOST_TEST_CONTEXT(args) {
      BOOST_TEST(r.exit_code == 2, r.out);
      BOOST_TEST(contains(r.out, message), r.out);
    }
  }
  // Nothing was written by any of them.
  BOOST_TEST(!fs::exists(box.path("out")));
}

BOOST_AUTO_TEST_CASE(failures_exit_1_and_name_the_url) {
  CliSandbox box;
  const std::string missing = box.path("missing").string();
  for (const std::string& args : std::vector<std::string>{"inspect " + q(missing), "cp " + q(missing) + " " + q(box.path("x")),
                           "mv " + q(missing) + " " + q(box.path("x")), "rm " + q(missing),
                           "quantize " + q(missing) + " " + q(box.path("x")) + " --dtype uint8", "ls nosuchscheme://x",
                           "cp " + q(kAge) + " nosuchscheme://x"}) {
    RunResult r = box.run(args);
    BOOST_TEST_CONTEXT(args) {
      BOOST_TEST(r.exit_code == 1, r.out);
      BOOST_TEST((contains(r.out, "missing") || contains(r.out, "nosuchscheme")), r.out);
    }
  }
  // verify: a model that is not there cannot be read (1), which is not damage (3).
  RunResult r = box.run("verify " + q(missing));
  BOOST_TEST(r.exit_code == 1, r.out);
  // cp onto itself is refused before anything is touched.
  RunResult same = box.run("cp " + q(kAge) + " " + q(kAge));
  BOOST_TEST(same.exit_code == 1);
  BOOST_TEST(contains(same.out, "the same"), same.out);
}

BOOST_AUTO_TEST_CASE(ls_and_rm_print_json) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " indexeddb://one").exit_code == 0);
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " indexeddb://two").exit_code == 0);
  RunResult ls = box.run_stdout("ls indexeddb:// --json");
  BOOST_TEST_REQUIRE(ls.exit_code == 0, ls.out);
  bj::value listed = modelport::json::parse(ls.out);
  BOOST_TEST_REQUIRE(listed.as_array().size() == 2u);
  for (const auto& m : listed.as_array()) {
    BOOST_TEST(m.at("weightDataBytes").to_number<std::uint64_t>() == fs::file_size(fixtures_dir() / "real/human-age/age.bin"));
    BOOST_TEST(m.as_object().contains("dateSaved"));
  }
  RunResult rm = box.run_stdout("rm indexeddb://one --json");
  BOOST_TEST_REQUIRE(rm.exit_code == 0, rm.out);
  bj::value removed = modelport::json::parse(rm.out);
  BOOST_TEST(removed.as_array().size() == 1u);
  BOOST_TEST(removed.at(0).at("url").as_string() == "indexeddb://one");
  // A missing model among several: exit 1, the others still go.
  RunResult partly = box.run("rm indexeddb://one indexeddb://two");
  BOOST_TEST(partly.exit_code == 1, partly.out);
  BOOST_TEST(contains(partly.out, "removed indexeddb://two"), partly.out);
  RunResult empty = box.run_stdout("ls indexeddb:// --json");
  BOOST_TEST(modelport::json::parse(empty.out).as_array().empty());
}

BOOST_AUTO_TEST_CASE(cp_and_mv_print_json_info) {
  CliSandbox box;
  RunResult cp = box.run_stdout("cp " + q(kAge) + " localstorage://a --json");
  BOOST_TEST_REQUIRE(cp.exit_code == 0, cp.out);
  bj::value info = modelport::json::parse(cp.out);
  BOOST_TEST(info.at("url").as_string() == "localstorage://a");
  BOOST_TEST(info.at("weightDataBytes").to_number<std::uint64_t>() == fs::file_size(fixtures_dir() / "real/human-age/age.bin"));
  RunResult mv = box.run_stdout("mv localstorage://a indexeddb://b --json");
  BOOST_TEST_REQUIRE(mv.exit_code == 0, mv.out);
  BOOST_TEST(modelport::json::parse(mv.out).at("url").as_string() == "indexeddb://b");
}

BOOST_AUTO_TEST_CASE(verify_passes_a_sound_model_and_reports_json) {
  CliSandbox box;
  RunResult text = box.run("verify " + q(kAge));
  BOOST_TEST(text.exit_code == 0, text.out);
  BOOST_TEST(contains(text.out, "ok file://"), text.out);
  BOOST_TEST(contains(text.out, "digests absent"), text.out);
  RunResult r = box.run_stdout("verify " + q(fixtures_dir() / "synthetic/quantized-layers") + " --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  bj::value report = modelport::json::parse(r.out);
  BOOST_TEST(report.at("ok").as_bool());
  BOOST_TEST(report.at("weights").to_number<int>() == 6);
  BOOST_TEST(report.at("digests").as_string() == "absent");
  BOOST_TEST(report.at("problems").as_array().empty());
}

BOOST_AUTO_TEST_CASE(verify_reports_a_truncated_shard_and_a_bad_weight_with_exit_3) {
  CliSandbox box;
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " " + q(box.path("m"))).exit_code == 0);
  // One byte short: the manifest's sizes no longer add up.
  fs::resize_file(box.path("m/weights.bin"), fs::file_size(box.path("m/weights.bin")) - 1);
  RunResult r = box.run_stdout("verify " + q(box.path("m")) + " --json");
  BOOST_TEST(r.exit_code == 3, r.out);
  bj::value report = modelport::json::parse(r.out);
  BOOST_TEST(!report.at("ok").as_bool());
  BOOST_TEST_REQUIRE(!report.at("problems").as_array().empty());
  BOOST_TEST(contains(std::string(report.at("problems").at(0).at("message").as_string()), "weights.bin"), r.out);

  // A weight whose quantization is unknown: the load succeeds, decoding that weight fails.
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " " + q(box.path("n"))).exit_code == 0);
  std::string json = modelport::test::read_file(box.path("n/model.json"));
  const std::string first = "\"dtype\":\"float32\"";
  auto at = json.find(first);
  BOOST_TEST_REQUIRE(at != std::string::npos);
  json.insert(at + first.size(), ",\"quantization\":{\"dtype\":\"uint4\"}");
  std::ofstream(box.path("n/model.json"), std::ios::binary | std::ios::trunc) << json;
  RunResult bad = box.run("verify " + q(box.path("n")));
  BOOST_TEST(bad.exit_code == 3, bad.out);
  BOOST_TEST(contains(bad.out, "uint4"), bad.out);
  BOOST_TEST(contains(bad.out, "FAILED"), bad.out);
}

BOOST_AUTO_TEST_CASE(progress_line_only_when_asked_or_on_a_terminal) {
  CliSandbox box;
  // Forced on (as a terminal would have it): bytes, total, percentage on stderr.
  RunResult on = box.run_stderr("cp " + q(kAge) + " indexeddb://p1", "MODELPORT_PROGRESS=1");
  BOOST_TEST(on.exit_code == 0, on.out);
  const std::string total = "157.5 KiB";  // age.bin: 161240 bytes
  BOOST_TEST(contains(on.out, "save indexeddb://p1"), on.out);
  BOOST_TEST(contains(on.out, "/ " + total + "  100%"), on.out);
  BOOST_TEST(contains(on.out, "\r"), on.out);
  // Not a terminal (the tests' pipes) and not forced: no progress output at all.
  RunResult off = box.run_stderr("cp " + q(kAge) + " indexeddb://p2");
  BOOST_TEST(off.exit_code == 0);
  BOOST_TEST(off.out.empty(), off.out);
  // -q wins over everything.
  RunResult quiet = box.run("-q cp " + q(kAge) + " indexeddb://p3", "MODELPORT_PROGRESS=1");
  BOOST_TEST(quiet.exit_code == 0);
  BOOST_TEST(quiet.out.empty(), quiet.out);
}

BOOST_AUTO_TEST_CASE(localstorage_actions_answer_help_and_run) {
  CliSandbox box;
  for (std::string action : {"export", "import", "purge", "usage"}) {
    RunResult r = box.run_stdout("localstorage " + action + " --help");
    BOOST_TEST_CONTEXT(action) {
      BOOST_TEST(r.exit_code == 0);
      BOOST_TEST(contains(r.out, "usage: modelport localstorage"));
    }
  }
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(kAge) + " localstorage://ls1").exit_code == 0);
  RunResult usage = box.run_stdout("localstorage usage");
  BOOST_TEST(usage.exit_code == 0);
  BOOST_TEST(contains(usage.out, "keys:    5"), usage.out);
  RunResult usage_json = box.run_stdout("localstorage usage --json");
  BOOST_TEST_REQUIRE(usage_json.exit_code == 0, usage_json.out);
  const bj::value measured = modelport::json::parse(usage_json.out);
  BOOST_TEST(measured.at("keys").to_number<int>() == 5);
  BOOST_TEST(measured.at("quota").to_number<std::uint64_t>() == 5242880u);
  BOOST_TEST(measured.at("used").to_number<std::uint64_t>() + measured.at("free").to_number<std::uint64_t>() == 5242880u);
  BOOST_TEST(box.run("localstorage export --json x").exit_code == 2);
  RunResult exported = box.run("localstorage export " + q(box.path("dump.json")));
  BOOST_TEST(exported.exit_code == 0, exported.out);
  RunResult purge = box.run_stdout("localstorage purge --json");
  BOOST_TEST(purge.exit_code == 0);
  const bj::value purged = modelport::json::parse(purge.out);
  BOOST_TEST_REQUIRE(purged.as_array().size() == 1u);
  BOOST_TEST(purged.at(0).as_string() == "ls1");
  BOOST_TEST(box.run("inspect localstorage://ls1").exit_code == 1);
  RunResult imported = box.run("localstorage import " + q(box.path("dump.json")));
  BOOST_TEST(imported.exit_code == 0, imported.out);
  BOOST_TEST(box.run("verify localstorage://ls1").exit_code == 0);
  RunResult missing = box.run("localstorage import " + q(box.path("nothing.json")));
  BOOST_TEST(missing.exit_code == 1, missing.out);
}

BOOST_AUTO_TEST_SUITE_END()
