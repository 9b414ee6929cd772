// file:// and downloads:// (spec §3.1, §3.5): the tfjs-node layout byte for byte, atomic saves,
// zero-copy loads, safe shard paths, list/remove, browser-style download names, and bad input.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/weights_codec.hpp>

#include "plugin_env.hpp"
#include "test_errors.hpp"
#include "test_support.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace modelport;
using modelport::test::error_message_of;
using modelport::test::fixtures_dir;
using modelport::test::read_file;
using modelport::test::TempDir;

namespace {

// One manager and registries per test run, with the file plugin loaded the production way.
test::PluginEnv& env() {
  static auto* e = new test::PluginEnv{MODELPORT_FILE_PLUGIN};
  return *e;
}

std::string url_of(const fs::path& p) { return "file://" + p.string(); }

ModelArtifacts load_url(const std::string& url, LoadOptions options = {}) { return modelport::load(url, options, env().routers); }
SaveResult save_url(const std::string& url, const ModelArtifacts& a, SaveOptions options = {}) {
  return modelport::save(url, a, options, env().routers);
}

ModelArtifacts golden() { return load_url(url_of(fixtures_dir() / "golden/file-save/tfjs-node")); }


void write(const fs::path& p, const std::string& content) { std::ofstream(p, std::ios::binary) << content; }

// A model of `bytes` float32 bytes in one weight, held as several buffers.
ModelArtifacts synthetic(std::size_t floats, std::size_t pieces = 3) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(bj::value{{"class_name", "Sequential"}});
  a.format = bj::value("layers-model");
  a.generated_by = bj::value("test");
  a.converted_by = bj::value(nullptr);
  WeightSpec w;
  w.name = "dense/kernel";
  w.shape = {static_cast<std::int64_t>(floats)};
  w.dtype = "float32";
  a.weight_specs = std::vector<WeightSpec>{w};
  std::vector<std::byte> all(floats * 4);
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = std::byte(static_cast<unsigned char>(i * 7 + 3));
  WeightData data;
  std::size_t step = (all.size() + pieces - 1) / pieces;
  for (std::size_t at = 0; at < all.size(); at += step) {
    data.append(Buffer::copy_of(std::span<const std::byte>(all.data() + at, std::min(step, all.size() - at))));
  }
  a.weight_data = data;
  return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(file_save)

BOOST_AUTO_TEST_CASE(tfjs_node_layout_byte_for_byte) {
  TempDir tmp;
  fs::path dir = tmp.path() / "save-destination";  // does not exist yet: created (§6 175)
  SaveResult r = save_url(url_of(dir), golden());
  auto golden_dir = fixtures_dir() / "golden/file-save/tfjs-node";
  BOOST_TEST(read_file(dir / "model.json") == read_file(golden_dir / "model.json"));
  BOOST_TEST(read_file(dir / "weights.bin") == read_file(golden_dir / "weights.bin"));
  BOOST_TEST(*r.model_artifacts_info.model_topology_bytes == 1785u);
  BOOST_TEST(*r.model_artifacts_info.weight_data_bytes == 1452u);
  // Nothing else is left behind: no staging folder.
  std::size_t entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(tmp.path())) ++entries;
  BOOST_TEST(entries == 1u);
}

BOOST_AUTO_TEST_CASE(multi_buffer_weights_and_initializers_are_kept) {
  // tfjs-node writes garbage for an array of buffers and drops modelInitializer (spec §8.3).
  TempDir tmp;
  ModelArtifacts a = synthetic(1000, 7);
  a.model_initializer = bj::value{{"node", bj::array()}};
  a.initializer_signature = bj::value{{"outputs", bj::object()}};
  a.user_defined_metadata = bj::value{{"labels", bj::array{"a", "b"}}};
  save_url(url_of(tmp.path() / "m"), a);
  ModelArtifacts back = load_url(url_of(tmp.path() / "m"));
  BOOST_TEST(same_model(a, back));
  BOOST_TEST(back.model_initializer->at("node").is_array());
}

BOOST_AUTO_TEST_CASE(converter_style_shards) {
  TempDir tmp;
  ModelArtifacts a = synthetic(1000);  // 4000 bytes
  SaveOptions options;
  options.plugin_options["shard_bytes"] = "1024";
  save_url(url_of(tmp.path() / "m"), a, options);
  for (int i = 1; i <= 4; ++i) {
    auto shard = tmp.path() / "m" / ("group1-shard" + std::to_string(i) + "of4.bin");
    BOOST_TEST_REQUIRE(fs::exists(shard));
    BOOST_TEST(fs::file_size(shard) == (i < 4 ? 1024u : 4000u - 3 * 1024u));
  }
  BOOST_TEST(!fs::exists(tmp.path() / "m" / "weights.bin"));
  ModelArtifacts back = load_url(url_of(tmp.path() / "m" / "model.json"));
  BOOST_TEST(back.weight_data->buffers().size() == 4u);
  BOOST_TEST(same_model(a, back));
  options.plugin_options["shard_bytes"] = "0";
  ErrorCode code{};
  BOOST_TEST(error_message_of([&] { save_url(url_of(tmp.path() / "z"), a, options); }, &code).find("shard_bytes") != std::string::npos);
  BOOST_TEST((code == ErrorCode::invalid_argument));
}

BOOST_AUTO_TEST_CASE(overwrite_switches_models_and_keeps_other_files) {
  TempDir tmp;
  fs::path dir = tmp.path() / "m";
  SaveOptions sharded;
  sharded.plugin_options["shard_bytes"] = "1000";
  save_url(url_of(dir), synthetic(1000), sharded);  // 4 shards
  write(dir / "README.txt", "notes of the user");
  fs::create_directory(dir / "assets");
  write(dir / "assets" / "labels.txt", "cat\ndog\n");
  ModelArtifacts second = synthetic(10);
  save_url(url_of(dir), second);
  BOOST_TEST(same_model(second, load_url(url_of(dir))));
  BOOST_TEST(!fs::exists(dir / "group1-shard1of4.bin"));  // the old model's own files are gone
  BOOST_TEST(read_file(dir / "README.txt") == "notes of the user");
  BOOST_TEST(read_file(dir / "assets" / "labels.txt") == "cat\ndog\n");
  for (const auto& e : fs::directory_iterator(tmp.path())) BOOST_TEST(e.path().filename() == "m");
}

BOOST_AUTO_TEST_CASE(path_that_is_a_file_is_refused) {  // §6 176
  TempDir tmp;
  write(tmp.path() / "taken", "x");
  std::string m = error_message_of([&] { save_url(url_of(tmp.path() / "taken"), synthetic(4)); });
  BOOST_TEST(m.find("exists as a file. The path must be nonexistent or point to a directory.") != std::string::npos, m);
  BOOST_TEST(read_file(tmp.path() / "taken") == "x");
}

BOOST_AUTO_TEST_CASE(missing_parents_are_created_unless_refused) {
  TempDir tmp;
  save_url(url_of(tmp.path() / "a" / "b" / "c"), synthetic(4));
  BOOST_TEST(fs::exists(tmp.path() / "a" / "b" / "c" / "model.json"));
  SaveOptions strict;
  strict.plugin_options["create_parents"] = "false";
  ErrorCode code{};
  std::string m = error_message_of([&] { save_url(url_of(tmp.path() / "x" / "y"), synthetic(4), strict); }, &code);
  BOOST_TEST((code == ErrorCode::not_found), m);
  BOOST_TEST(!fs::exists(tmp.path() / "x"));
}

BOOST_AUTO_TEST_CASE(disk_full_keeps_the_previous_model) {
  TempDir tmp;
  fs::path dir = tmp.path() / "m";
  ModelArtifacts first = synthetic(100);
  save_url(url_of(dir), first);
  // A child process with a 64 KiB file size limit stands in for a full disk (EFBIG).
  pid_t child = ::fork();
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{65536, 65536};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    int exit_code = 3;
    try {
      save_url(url_of(dir), synthetic(100000));
    } catch (const Error& e) {
      exit_code = e.code() == ErrorCode::quota_exceeded && std::string(e.what()).find("weights.bin") != std::string::npos ? 0 : 4;
    }
    std::_Exit(exit_code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "child exit code " << WEXITSTATUS(status));
  BOOST_TEST(same_model(first, load_url(url_of(dir))));
  for (const auto& e : fs::directory_iterator(tmp.path())) BOOST_TEST(e.path().filename() == "m");
}

BOOST_AUTO_TEST_CASE(killed_save_leaves_old_model_loadable) {
  TempDir tmp;
  fs::path dir = tmp.path() / "m";
  ModelArtifacts first = synthetic(100);
  save_url(url_of(dir), first);
  ModelArtifacts big = synthetic(8 << 20, 64);  // 32 MiB: the kill lands mid-save
  for (int round = 0; round < 5; ++round) {
    pid_t child = ::fork();
    if (child == 0) {
      try {
        SaveOptions o;
        o.plugin_options["shard_bytes"] = "1048576";
        save_url(url_of(dir), big, o);
      } catch (...) {
      }
      std::_Exit(0);
    }
    ::usleep(static_cast<useconds_t>(2000 + round * 5000));
    ::kill(child, SIGKILL);
    ::waitpid(child, nullptr, 0);
    // Either the old model or the complete new one: never a mix, never nothing.
    ModelArtifacts now = load_url(url_of(dir));
    BOOST_TEST((same_model(now, first) || same_model(now, big)), "round " << round);
  }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_load)

BOOST_AUTO_TEST_CASE(weights_are_memory_mapped_not_copied) {
  ModelArtifacts a = golden();
  const auto data = reinterpret_cast<std::uintptr_t>(a.weight_data->buffers().at(0).data());
  std::ifstream maps("/proc/self/maps");
  std::string line;
  bool inside_shard_mapping = false;
  while (std::getline(maps, line)) {
    if (line.find("tfjs-node/weights.bin") == std::string::npos) continue;
    std::uintptr_t lo = std::stoull(line.substr(0, line.find('-')), nullptr, 16);
    std::uintptr_t hi = std::stoull(line.substr(line.find('-') + 1), nullptr, 16);
    inside_shard_mapping |= data >= lo && data < hi;
  }
  BOOST_TEST(inside_shard_mapping);
  LoadOptions read;
  read.plugin_options["mmap"] = "false";
  BOOST_TEST(same_model(a, load_url(url_of(fixtures_dir() / "golden/file-save/tfjs-node"), read)));
}

BOOST_AUTO_TEST_CASE(hand_written_two_group_model) {  // §6 178
  TempDir tmp;
  float w1[3] = {-1.1f, -3.3f, -3.3f};
  float w2[1] = {-7.7f};
  std::ofstream(tmp.path() / "weights.1.bin", std::ios::binary).write(reinterpret_cast<const char*>(w1), 12);
  std::ofstream(tmp.path() / "weights.2.bin", std::ios::binary).write(reinterpret_cast<const char*>(w2), 4);
  write(tmp.path() / "model.json",
        R"({"modelTopology":{},"weightsManifest":[{"paths":["weights.1.bin"],"weights":[{"name":"a","shape":[3],"dtype":"float32"}]},)"
        R"({"paths":["./weights.2.bin"],"weights":[{"name":"b","shape":[1],"dtype":"float32"}]}]})");
  ModelArtifacts a = load_url(url_of(tmp.path() / "model.json"));
  BOOST_TEST(a.weight_specs->size() == 2u);
  auto tensors = decode_weights(*a.weight_specs, *a.weight_data);
  BOOST_TEST(tensors[0].at<float>(1) == -3.3f);
  BOOST_TEST(tensors[1].at<float>(0) == -7.7f);
}

BOOST_AUTO_TEST_CASE(bad_input_gives_clear_errors) {
  TempDir tmp;
  auto expect = [&](const std::string& url, ErrorCode want, const std::string& needle) {
    ErrorCode code{};
    std::string m = error_message_of([&] { load_url(url); }, &code);
    BOOST_TEST((code == want), url << ": " << m);
    BOOST_TEST(m.find(needle) != std::string::npos, "expected '" << needle << "' in: " << m);
  };
  expect(url_of(tmp.path() / "foo" / "model.json"), ErrorCode::not_found, "does not exist: loading failed");  // §6 179
  fs::create_directory(tmp.path() / "empty");
  expect(url_of(tmp.path() / "empty"), ErrorCode::not_found, "model.json does not exist");

  auto model = [&](const std::string& name, const std::string& paths, const std::string& shape = "[4]") {
    fs::create_directories(tmp.path() / name);
    write(tmp.path() / name / "model.json", R"({"modelTopology":{},"weightsManifest":[{"paths":)" + paths +
                                                R"(,"weights":[{"name":"w","shape":)" + shape + R"(,"dtype":"float32"}]}]})");
    return url_of(tmp.path() / name);
  };
  expect(model("missing", R"(["weights.2.bin"])"), ErrorCode::not_found, "Weight file");  // §6 180
  expect(model("missing", R"(["weights.2.bin"])"), ErrorCode::not_found, "weights.2.bin does not exist");
  std::string truncated = model("truncated", R"(["w.bin"])");
  write(tmp.path() / "truncated" / "w.bin", std::string(10, '\0'));
  expect(truncated, ErrorCode::corrupt, "needs 16 bytes but its shards hold 10: w.bin (10 bytes)");
  std::string dir_shard = model("dirshard", R"(["w.bin"])");
  fs::create_directory(tmp.path() / "dirshard" / "w.bin");
  expect(dir_shard, ErrorCode::corrupt, "is a directory");
  fs::create_directories(tmp.path() / "notjson");
  write(tmp.path() / "notjson" / "model.json", "{not json");
  expect(url_of(tmp.path() / "notjson"), ErrorCode::corrupt, "invalid JSON");
  fs::create_directories(tmp.path() / "notobject");
  write(tmp.path() / "notobject" / "model.json", "42");
  expect(url_of(tmp.path() / "notobject"), ErrorCode::corrupt, "neither an object");

  // Paths that leave the model folder are refused unless allowed.
  write(tmp.path() / "outside.bin", std::string(16, '\0'));
  std::string escape = model("escape", R"(["../outside.bin"])");
  expect(escape, ErrorCode::permission_denied, "leads outside the model folder");
  std::string absolute = model("absolute", "[" + json::stringify(bj::value((tmp.path() / "outside.bin").string())) + "]");
  expect(absolute, ErrorCode::permission_denied, "is absolute");
  std::string linked = model("linked", R"(["w.bin"])");
  fs::create_symlink(tmp.path() / "outside.bin", tmp.path() / "linked" / "w.bin");
  expect(linked, ErrorCode::permission_denied, "is a link leading outside");
  LoadOptions allow;
  allow.plugin_options["allow_outside"] = "true";
  BOOST_TEST(load_url(escape, allow).weight_data->size() == 16u);
  BOOST_TEST(load_url(linked, allow).weight_data->size() == 16u);
}

BOOST_AUTO_TEST_CASE(permission_denied_names_the_file) {
  TempDir tmp;
  fs::path dir = tmp.path() / "m";
  save_url(url_of(dir), synthetic(16));
  fs::permissions(dir / "weights.bin", fs::perms::none);
  fs::permissions(tmp.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                                  fs::perms::others_read | fs::perms::others_exec);
  // Root reads anything, so the checks run in a child that drops to an unprivileged user.
  pid_t child = ::fork();
  if (child == 0) {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) std::_Exit(10);
    int result = 0;
    try {
      load_url(url_of(dir));
      result = 11;
    } catch (const Error& e) {
      std::string m = e.what();
      if (e.code() != ErrorCode::permission_denied) result = 12;
      else if (m.find((dir / "weights.bin").string()) == std::string::npos) result = 13;
    }
    try {  // saving next to a folder this user may not write: refused, the old model stays
      save_url(url_of(dir), synthetic(4));
      result = result ? result : 14;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::permission_denied && result == 0) result = 15;
    }
    std::_Exit(result);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "child exit code " << WEXITSTATUS(status));
  fs::permissions(dir / "weights.bin", fs::perms::owner_read | fs::perms::owner_write);
  BOOST_TEST(same_model(synthetic(16), load_url(url_of(dir))));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_management)

BOOST_AUTO_TEST_CASE(list_and_remove) {
  TempDir tmp;
  save_url(url_of(tmp.path() / "one"), synthetic(10));
  save_url(url_of(tmp.path() / "nested" / "two"), synthetic(20));
  fs::create_directories(tmp.path() / "not-a-model");
  fs::create_directories(tmp.path() / ".modelport-tmp-x-1");
  write(tmp.path() / ".modelport-tmp-x-1" / "model.json", "{}");
  auto listed = list_models(url_of(tmp.path()), {}, env().stores);
  BOOST_TEST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].url == url_of(tmp.path() / "nested" / "two"));
  BOOST_TEST(listed[1].url == url_of(tmp.path() / "one"));
  BOOST_TEST(*listed[1].info.weight_data_bytes == 40u);
  BOOST_TEST(*listed[1].info.weight_specs_bytes == *get_model_artifacts_info(synthetic(10)).weight_specs_bytes);

  write(tmp.path() / "one" / "keep.txt", "mine");
  ModelArtifactsInfo removed = remove_model(url_of(tmp.path() / "one"), {}, env().stores);
  BOOST_TEST(*removed.weight_data_bytes == 40u);
  BOOST_TEST(!fs::exists(tmp.path() / "one" / "model.json"));
  BOOST_TEST(!fs::exists(tmp.path() / "one" / "weights.bin"));
  BOOST_TEST(read_file(tmp.path() / "one" / "keep.txt") == "mine");
  remove_model(url_of(tmp.path() / "nested" / "two"), {}, env().stores);
  BOOST_TEST(!fs::exists(tmp.path() / "nested" / "two"));  // emptied folder removed
  ErrorCode code{};
  error_message_of([&] { remove_model(url_of(tmp.path() / "nested" / "two"), {}, env().stores); }, &code);
  BOOST_TEST((code == ErrorCode::not_found));
  BOOST_TEST(list_models(url_of(tmp.path()), {}, env().stores).empty());
}

BOOST_AUTO_TEST_CASE(move_between_folders) {
  TempDir tmp;
  ModelArtifacts a = synthetic(50);
  save_url(url_of(tmp.path() / "src"), a);
  move_model(url_of(tmp.path() / "src"), url_of(tmp.path() / "dst"), {}, {}, env().routers, env().stores);
  BOOST_TEST(!fs::exists(tmp.path() / "src"));
  BOOST_TEST(same_model(a, load_url(url_of(tmp.path() / "dst"))));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(downloads)

BOOST_AUTO_TEST_CASE(browser_names_never_overwrite) {
  TempDir tmp;
  ::setenv("MODELPORT_DOWNLOADS_DIR", (tmp.path() / "dl").c_str(), 1);
  ModelArtifacts a = golden();
  save_url("downloads://model", a);
  // Same layout as tfjs's http upload and downloads: byte-identical to what tfjs 4.22 sent.
  BOOST_TEST(read_file(tmp.path() / "dl" / "model.json") ==
             read_file(fixtures_dir() / "golden/http-save/store/upload/router/model.json"));
  BOOST_TEST(read_file(tmp.path() / "dl" / "model.weights.bin") == read_file(fixtures_dir() / "golden/file-save/tfjs-node/weights.bin"));
  save_url("downloads://model", a);
  save_url("downloads://model", a);
  BOOST_TEST(fs::exists(tmp.path() / "dl" / "model (2).weights.bin"));
  bj::value second = json::parse(read_file(tmp.path() / "dl" / "model (1).json"));
  BOOST_TEST(second.at("weightsManifest").at(0).at("paths").at(0).as_string() == "./model (1).weights.bin");
  save_url("downloads://", a);  // empty name: "model"
  BOOST_TEST(fs::exists(tmp.path() / "dl" / "model (3).json"));
  ModelArtifacts topology_only;
  topology_only.model_topology = ModelTopology(bj::value{{"a", 1}});
  save_url("downloads://test-model", topology_only);  // §6 57
  BOOST_TEST(fs::exists(tmp.path() / "dl" / "test-model.json"));
  BOOST_TEST(!fs::exists(tmp.path() / "dl" / "test-model.weights.bin"));
  // Save only: nothing loads from downloads://.
  BOOST_TEST(env().routers.get_load_handlers("downloads://model").empty());
  ::unsetenv("MODELPORT_DOWNLOADS_DIR");
}

BOOST_AUTO_TEST_SUITE_END()
