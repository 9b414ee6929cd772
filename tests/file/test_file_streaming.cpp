// Streaming copies through file:// and downloads:// (ABI 1.1): a streamed save writes the same
// files as an ordinary one and keeps the previous model when its source fails mid-way; a
// streamed load reads its shards only when asked, and never hands out bytes of a model that
// replaced the one it loaded.
#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/weight_stream.hpp>

#include "plugin_env.hpp"
#include "test_streams.hpp"
#include "test_errors.hpp"
#include "test_support.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <stop_token>

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace modelport;
using modelport::test::error_message_of;
using modelport::test::fixtures_dir;
using modelport::test::read_file;
using modelport::test::TempDir;

namespace {

test::PluginEnv& env() {
  static auto* e = new test::PluginEnv{MODELPORT_FILE_PLUGIN};
  return *e;
}

std::string url_of(const fs::path& p) { return "file://" + p.string(); }

SaveOptions sharded(std::uint64_t bytes) {
  SaveOptions o;
  o.plugin_options["shard_bytes"] = std::to_string(bytes);
  return o;
}

// A model with one float32 weight of `floats` values; `seed` varies the bytes (not the sizes).
ModelArtifacts synthetic(std::size_t floats, int seed = 0) {
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
  std::vector<std::byte> bytes(floats * 4);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = std::byte(static_cast<unsigned char>(i * 7 + 3 + seed * 101));
  WeightData data;
  data.append(Buffer::copy_of(std::span<const std::byte>(bytes)));
  a.weight_data = data;
  return a;
}

std::vector<std::byte> all_weight_bytes(const ModelArtifacts& a) {
  std::vector<std::byte> out;
  for (const Buffer& b : a.weight_data->buffers()) out.insert(out.end(), b.span().begin(), b.span().end());
  return out;
}

HandlerPtr save_handler(const std::string& url, const SaveOptions& options = {}) {
  return test::the_save_handler(env().routers, url, options);
}

HandlerPtr load_handler(const std::string& url, const LoadOptions& options = {}) {
  return test::the_load_handler(env().routers, url, options);
}

SaveResult save_streamed(const std::string& url, const ModelArtifacts& a, WeightStream& weights, const SaveOptions& options = {}) {
  ModelArtifacts meta = a;
  meta.weight_data.reset();
  return save_handler(url, options)->save_streamed(meta, &weights);
}

// Every file under `dir` (relative name -> bytes).
std::map<std::string, std::string> files_of(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) out[fs::relative(e.path(), dir).string()] = read_file(e.path());
  }
  return out;
}

std::vector<std::string> entries_of(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// True when a save into `parent` has a staging folder holding weight bytes already: run from a
// stream's last read, it shows that the save writes parts as they come, not after the last.
bool staging_holds_bytes(const fs::path& parent) {
  for (const auto& e : fs::directory_iterator(parent)) {
    if (!e.path().filename().string().starts_with(".modelport-tmp-")) continue;
    for (const auto& f : fs::directory_iterator(e.path())) {
      if (f.is_regular_file() && f.file_size() > 0) return true;
    }
  }
  return false;
}

std::string text_of(const Buffer& b) { return std::string(b.view()); }

// Backdates a file so that a rewrite now gives it a different modification time even on a file
// system whose clock ticks coarsely.
void backdate(const fs::path& p) { fs::last_write_time(p, fs::last_write_time(p) - std::chrono::hours(1)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(file_streamed_save)

BOOST_AUTO_TEST_CASE(single_weights_file_is_byte_identical_to_a_normal_save) {
  TempDir tmp;
  ModelArtifacts golden = load(url_of(fixtures_dir() / "golden/file-save/tfjs-node"), {}, env().routers);
  save(url_of(tmp.path() / "normal"), golden, {}, env().routers);
  const std::vector<std::byte> parts_bytes = all_weight_bytes(golden);
  test::PartsStream parts(parts_bytes, test::PartsStream::every(parts_bytes.size(), 100));  // 1452 bytes: 15 parts
  bool written_before_the_last_part = false;
  parts.on_read = [&](std::size_t index) {
    if (index == 14) written_before_the_last_part = staging_holds_bytes(tmp.path());
  };
  SaveResult r = save_streamed(url_of(tmp.path() / "streamed"), golden, parts);
  BOOST_TEST(written_before_the_last_part);
  BOOST_TEST(parts.parts_read() == parts.part_sizes().size());
  BOOST_TEST(*r.model_artifacts_info.weight_data_bytes == 1452u);
  auto streamed = files_of(tmp.path() / "streamed");
  BOOST_TEST(streamed.size() == 2u);
  BOOST_TEST((streamed == files_of(tmp.path() / "normal")));
  BOOST_TEST(streamed["weights.bin"] == read_file(fixtures_dir() / "golden/file-save/tfjs-node/weights.bin"));
  BOOST_TEST(streamed["model.json"] == read_file(fixtures_dir() / "golden/file-save/tfjs-node/model.json"));
  BOOST_TEST((entries_of(tmp.path()) == std::vector<std::string>{"normal", "streamed"}));
}

BOOST_AUTO_TEST_CASE(shards_are_byte_identical_to_a_normal_save) {
  TempDir tmp;
  ModelArtifacts a = synthetic(1000);  // 4000 bytes
  save(url_of(tmp.path() / "normal"), a, sharded(1024), env().routers);
  // Parts of 700 bytes straddle the 1024-byte shard boundaries; parts larger than a shard too.
  for (std::uint64_t part : {700u, 3000u, 4000u}) {
    const fs::path dir = tmp.path() / ("streamed-" + std::to_string(part));
    const std::vector<std::byte> parts_bytes = all_weight_bytes(a);
    test::PartsStream parts(parts_bytes, test::PartsStream::every(parts_bytes.size(), part));
    bool written_before_the_last_part = false;
    parts.on_read = [&](std::size_t index) {
      if (index + 1 == parts.part_sizes().size()) written_before_the_last_part = staging_holds_bytes(tmp.path());
    };
    save_streamed(url_of(dir), a, parts, sharded(1024));
    BOOST_TEST(written_before_the_last_part == (part < 4000), "parts of " << part);
    auto streamed = files_of(dir);
    BOOST_TEST(streamed.size() == 5u, "parts of " << part);
    BOOST_TEST((streamed == files_of(tmp.path() / "normal")), "parts of " << part);
    BOOST_TEST(fs::file_size(dir / "group1-shard4of4.bin") == 4000u - 3 * 1024u);
  }
}

BOOST_AUTO_TEST_CASE(a_source_failing_at_part_2_keeps_the_previous_model) {
  for (bool with_shards : {false, true}) {
    TempDir tmp;
    const fs::path dir = tmp.path() / "m";
    const SaveOptions options = with_shards ? sharded(1024) : SaveOptions{};
    ModelArtifacts first = synthetic(1000, 1);
    save(url_of(dir), first, options, env().routers);
    std::ofstream(dir / "notes.txt") << "kept";
    const auto before = files_of(dir);

    ModelArtifacts second = synthetic(1000, 2);
    const std::vector<std::byte> parts_bytes = all_weight_bytes(second);
    test::PartsStream parts(parts_bytes, test::PartsStream::every(parts_bytes.size(), 700), std::size_t{1});
    ErrorCode code{};
    std::string m = error_message_of([&] { save_streamed(url_of(dir), second, parts, options); }, &code);
    BOOST_TEST(m.find("part 2 is unreadable") != std::string::npos, m);
    BOOST_TEST((code == ErrorCode::unavailable), m);
    BOOST_TEST(parts.reads == 2u);  // the save had started writing when the source failed

    BOOST_TEST((files_of(dir) == before), "shards " << with_shards);
    BOOST_TEST(same_model(first, load(url_of(dir), {}, env().routers)));
    BOOST_TEST((entries_of(tmp.path()) == std::vector<std::string>{"m"}), "no staging folder left, shards " << with_shards);
  }
}

BOOST_AUTO_TEST_CASE(a_save_cancelled_mid_stream_keeps_the_previous_model) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  ModelArtifacts first = synthetic(1000, 1);
  save(url_of(dir), first, sharded(1024), env().routers);
  const auto before = files_of(dir);
  std::stop_source stop;
  SaveOptions options = sharded(1024);
  options.cancel = stop.get_token();
  ModelArtifacts second = synthetic(1000, 2);
  const std::vector<std::byte> parts_bytes = all_weight_bytes(second);
  test::PartsStream parts(parts_bytes, test::PartsStream::every(parts_bytes.size(), 700));
  parts.on_read = [&](std::size_t index) {
    if (index == 1) stop.request_stop();  // while the first shard is being written
  };
  ErrorCode code{};
  std::string m = error_message_of([&] { save_streamed(url_of(dir), second, parts, options); }, &code);
  BOOST_TEST((code == ErrorCode::cancelled), m);
  BOOST_TEST(parts.reads < parts.part_sizes().size());
  BOOST_TEST((files_of(dir) == before));
  BOOST_TEST((entries_of(tmp.path()) == std::vector<std::string>{"m"}));
}

BOOST_AUTO_TEST_CASE(a_failing_source_of_a_first_save_leaves_nothing) {
  TempDir tmp;
  ModelArtifacts a = synthetic(1000);
  const std::vector<std::byte> parts_bytes = all_weight_bytes(a);
  test::PartsStream parts(parts_bytes, test::PartsStream::every(parts_bytes.size(), 1000), std::size_t{2});
  BOOST_CHECK_THROW(save_streamed(url_of(tmp.path() / "new"), a, parts, sharded(1024)), Error);
  BOOST_TEST(entries_of(tmp.path()).empty());
}

BOOST_AUTO_TEST_CASE(copy_model_between_folders_keeps_every_byte) {
  TempDir tmp;
  ModelArtifacts a = synthetic(5000);
  save(url_of(tmp.path() / "src"), a, sharded(4096), env().routers);
  copy_model(url_of(tmp.path() / "src"), url_of(tmp.path() / "dst"), {}, sharded(4096), env().routers);
  BOOST_TEST((files_of(tmp.path() / "dst") == files_of(tmp.path() / "src")));
  // Re-sharded on the way: shard boundaries of source and destination differ.
  copy_model(url_of(tmp.path() / "src"), url_of(tmp.path() / "one"), {}, {}, env().routers);
  BOOST_TEST(same_model(a, load(url_of(tmp.path() / "one"), {}, env().routers)));
  BOOST_TEST(fs::file_size(tmp.path() / "one" / "weights.bin") == 20000u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(file_streamed_load)

BOOST_AUTO_TEST_CASE(parts_are_the_shard_files) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  save(url_of(dir), synthetic(1000), sharded(1024), env().routers);
  StreamedModel model = load_handler(url_of(dir))->load_streamed();
  BOOST_TEST_REQUIRE(model.weights);
  BOOST_TEST((model.weights->part_sizes() == std::vector<std::uint64_t>{1024, 1024, 1024, 928}));
  BOOST_TEST(!model.artifacts.weight_data.has_value());
  BOOST_TEST(model.artifacts.weight_specs->size() == 1u);
  for (int i = 1; i <= 4; ++i) {
    auto part = model.weights->next();
    BOOST_TEST_REQUIRE(part.has_value());
    BOOST_TEST(text_of(*part) == read_file(dir / ("group1-shard" + std::to_string(i) + "of4.bin")), "part " << i);
  }
  BOOST_TEST(!model.weights->next().has_value());
}

BOOST_AUTO_TEST_CASE(a_big_shard_goes_in_windows_and_keeps_its_layout) {
  // 40 MiB in one weights.bin (the tfjs-node layout): parts of at most 16 MiB, one shard.
  TempDir tmp;
  const fs::path dir = tmp.path() / "big";
  constexpr std::size_t kFloats = 10u << 20;
  ModelArtifacts a = synthetic(kFloats);
  save(url_of(dir), a, {}, env().routers);
  StreamedModel model = load_handler(url_of(dir))->load_streamed();
  BOOST_TEST_REQUIRE(model.weights);
  BOOST_TEST((model.weights->part_sizes() == std::vector<std::uint64_t>{16u << 20, 16u << 20, 8u << 20}));
  BOOST_TEST((model.weights->shard_sizes() == std::vector<std::uint64_t>{40u << 20}));
  const std::string file = read_file(dir / "weights.bin");
  std::string joined;
  while (auto part = model.weights->next()) joined += text_of(*part);
  BOOST_TEST((joined == file));
  // A copy that keeps the layout writes one weights.bin again, not 16 MiB shards.
  SaveOptions keep;
  keep.keep_shard_layout = true;
  copy_model(url_of(dir), url_of(tmp.path() / "copy"), {}, keep, env().routers);
  BOOST_TEST((files_of(tmp.path() / "copy") == files_of(dir)));
}

BOOST_AUTO_TEST_CASE(a_model_replaced_after_the_load_is_never_mixed_in) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  save(url_of(dir), synthetic(1000, 1), sharded(1024), env().routers);
  const auto old_files = files_of(dir);
  StreamedModel model = load_handler(url_of(dir))->load_streamed();  // the handler is gone already
  auto first = model.weights->next();
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(text_of(*first) == old_files.at("group1-shard1of4.bin"));

  // Same layout and sizes, other bytes: only the content tells the versions apart.
  save(url_of(dir), synthetic(1000, 2), sharded(1024), env().routers);
  BOOST_TEST(read_file(dir / "group1-shard2of4.bin") != old_files.at("group1-shard2of4.bin"));
  // The shards are read only now (lazily), from the folder that was loaded: its files are gone,
  // so the part is a clear error. (An eager load would give the old bytes; one that opens the
  // shards by path later would give the new ones.)
  ErrorCode code{};
  std::string m = error_message_of([&] { model.weights->next(); }, &code);
  BOOST_TEST(m.find("changed while it was being copied") != std::string::npos, m);
  BOOST_TEST(m.find("group1-shard2of4.bin") != std::string::npos, m);
  BOOST_TEST((code == ErrorCode::unavailable), m);
}

BOOST_AUTO_TEST_CASE(a_folder_moved_away_is_still_read_where_it_went) {
  // The loaded folder is renamed and a new model saved at its old path: the parts still come
  // from the folder that was loaded (its model.json and its shards belong together).
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  save(url_of(dir), synthetic(1000, 1), sharded(1024), env().routers);
  const auto old_files = files_of(dir);
  StreamedModel model = load_handler(url_of(dir))->load_streamed();
  fs::rename(dir, tmp.path() / "moved");
  save(url_of(dir), synthetic(1000, 2), sharded(1024), env().routers);
  for (int i = 1; i <= 4; ++i) {
    auto part = model.weights->next();
    BOOST_TEST_REQUIRE(part.has_value());
    BOOST_TEST(text_of(*part) == old_files.at("group1-shard" + std::to_string(i) + "of4.bin"), "part " << i);
  }
}

BOOST_AUTO_TEST_CASE(a_shard_rewritten_in_place_is_refused_not_read) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "m";
  save(url_of(dir), synthetic(1000, 1), sharded(1024), env().routers);
  for (int i = 1; i <= 4; ++i) backdate(dir / ("group1-shard" + std::to_string(i) + "of4.bin"));
  StreamedModel model = load_handler(url_of(dir))->load_streamed();
  const std::string replacement(1024, 'x');
  std::ofstream(dir / "group1-shard2of4.bin", std::ios::binary | std::ios::trunc) << replacement;  // same size
  BOOST_TEST(model.weights->next().has_value());
  std::string m = error_message_of([&] { model.weights->next(); });
  BOOST_TEST(m.find("changed while it was being copied") != std::string::npos, m);

  // A removed model: the same clear error, naming the shard.
  StreamedModel again = load_handler(url_of(dir))->load_streamed();
  remove_model(url_of(dir), {}, env().stores);
  m = error_message_of([&] { again.weights->next(); });
  BOOST_TEST(m.find("group1-shard1of4.bin") != std::string::npos, m);
  BOOST_TEST(m.find("changed while it was being copied") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(load_errors_come_at_load_time) {
  TempDir tmp;
  ErrorCode code{};
  std::string m = error_message_of([&] { load_handler(url_of(tmp.path() / "none"))->load_streamed(); }, &code);
  BOOST_TEST(m.find("does not exist: loading failed") != std::string::npos, m);
  BOOST_TEST((code == ErrorCode::not_found));
  save(url_of(tmp.path() / "m"), synthetic(10), {}, env().routers);
  fs::remove(tmp.path() / "m" / "weights.bin");
  m = error_message_of([&] { load_handler(url_of(tmp.path() / "m"))->load_streamed(); }, &code);
  BOOST_TEST(m.find("weights.bin does not exist") != std::string::npos, m);
  BOOST_TEST((code == ErrorCode::not_found));
  std::ofstream(tmp.path() / "m" / "weights.bin") << "short";
  m = error_message_of([&] { load_handler(url_of(tmp.path() / "m"))->load_streamed(); }, &code);
  BOOST_TEST((code == ErrorCode::corrupt), m);
  BOOST_TEST(m.find("weights.bin") != std::string::npos, m);
}

BOOST_AUTO_TEST_CASE(shards_outside_the_folder_only_when_allowed) {
  TempDir tmp;
  fs::create_directories(tmp.path() / "m");
  std::ofstream(tmp.path() / "outside.bin", std::ios::binary) << std::string(16, 'o');
  std::ofstream(tmp.path() / "m" / "model.json")
      << R"({"modelTopology":{},"weightsManifest":[{"paths":["../outside.bin"],"weights":[{"name":"w","shape":[4],"dtype":"float32"}]}]})";
  ErrorCode code{};
  std::string m = error_message_of([&] { load_handler(url_of(tmp.path() / "m"))->load_streamed(); }, &code);
  BOOST_TEST((code == ErrorCode::permission_denied), m);
  BOOST_TEST(m.find("leads outside the model folder") != std::string::npos, m);
  LoadOptions allow;
  allow.plugin_options["allow_outside"] = "true";
  StreamedModel model = load_handler(url_of(tmp.path() / "m"), allow)->load_streamed();
  auto part = model.weights->next();
  BOOST_TEST_REQUIRE(part.has_value());
  BOOST_TEST(text_of(*part) == std::string(16, 'o'));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(downloads_streamed_save)

BOOST_AUTO_TEST_CASE(streamed_download_matches_and_a_failure_leaves_no_files) {
  TempDir tmp;
  test::ScopedEnv dl("MODELPORT_DOWNLOADS_DIR", (tmp.path() / "dl").c_str());
  ModelArtifacts golden = load(url_of(fixtures_dir() / "golden/file-save/tfjs-node"), {}, env().routers);
  const std::vector<std::byte> parts_bytes = all_weight_bytes(golden);
  test::PartsStream parts(parts_bytes, test::PartsStream::every(parts_bytes.size(), 500));
  bool written_before_the_last_part = false;
  parts.on_read = [&](std::size_t index) {
    const fs::path weights = tmp.path() / "dl" / "model.weights.bin";
    if (index == 2) written_before_the_last_part = fs::exists(weights) && fs::file_size(weights) == 1000u;
  };
  save_streamed("downloads://model", golden, parts);
  BOOST_TEST(written_before_the_last_part);
  BOOST_TEST(read_file(tmp.path() / "dl" / "model.json") ==
             read_file(fixtures_dir() / "golden/http-save/store/upload/router/model.json"));
  BOOST_TEST(read_file(tmp.path() / "dl" / "model.weights.bin") ==
             read_file(fixtures_dir() / "golden/file-save/tfjs-node/weights.bin"));

  const std::vector<std::byte> failing_bytes = all_weight_bytes(golden);
  test::PartsStream failing(failing_bytes, test::PartsStream::every(failing_bytes.size(), 500), std::size_t{1});
  std::string m = error_message_of([&] { save_streamed("downloads://broken", golden, failing); });
  BOOST_TEST(m.find("part 2 is unreadable") != std::string::npos, m);
  BOOST_TEST((entries_of(tmp.path() / "dl") == std::vector<std::string>{"model.json", "model.weights.bin"}));
}

BOOST_AUTO_TEST_SUITE_END()
