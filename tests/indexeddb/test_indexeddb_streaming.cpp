// Streaming copies through indexeddb:// (ABI 1.1): a streamed save stores what an ordinary save
// stores and keeps the previous model when its source fails mid-way; a streamed load reads each
// row only when asked and never hands out bytes of a version that replaced the one it loaded; a
// copy between two models of one database file in one process neither deadlocks nor times out.
#include "idb_test_support.hpp"
#include "test_streams.hpp"

#include <modelport/weight_stream.hpp>

#include <atomic>
#include <csignal>
#include <chrono>
#include <mutex>
#include <stop_token>
#include <thread>

using namespace idbtest;
using modelport::test::error_message_of;
using modelport::test::TempDir;

namespace {

std::vector<std::byte> all_weight_bytes(const ModelArtifacts& a) {
  std::vector<std::byte> out;
  for (const Buffer& b : a.weight_data->buffers()) out.insert(out.end(), b.span().begin(), b.span().end());
  return out;
}

std::vector<std::byte> bytes_of(const Buffer& b) { return {b.span().begin(), b.span().end()}; }

using modelport::test::PartsStream;

// The weight bytes of versioned(version, bytes) made part by part, so that the test itself never
// holds the whole model.
class VersionStream final : public WeightStream {
 public:
  VersionStream(std::uint64_t version, std::uint64_t bytes, std::uint64_t part)
      : WeightStream(cut(bytes, part)), version_(version), part_(part) {}
  std::function<void(std::size_t)> on_read;  // called before part `index` is handed out

 protected:
  Buffer read_part(std::size_t index) override {
    if (on_read) on_read(index);
    BufferBuilder b(static_cast<std::size_t>(part_sizes()[index]));
    fill_version_bytes(version_, index * part_, b.data());
    return std::move(b).finish();
  }

 private:
  static std::vector<std::uint64_t> cut(std::uint64_t total, std::uint64_t part) {
    std::vector<std::uint64_t> sizes;
    for (std::uint64_t at = 0; at < total; at += part) sizes.push_back(std::min(part, total - at));
    return sizes;
  }
  std::uint64_t version_;
  std::uint64_t part_;
};

// The handlers of `store` (its data folder, origin and options) for a model path.
HandlerPtr save_handler(const Store& store, const std::string& path) {
  return modelport::test::the_save_handler(env().routers, Store::url(path), store.with_options<SaveOptions>());
}
HandlerPtr load_handler(const Store& store, const std::string& path) {
  return modelport::test::the_load_handler(env().routers, Store::url(path), store.with_options<LoadOptions>());
}

SaveResult save_streamed(const Store& store, const std::string& path, const ModelArtifacts& a, WeightStream& weights) {
  ModelArtifacts meta = a;
  meta.weight_data.reset();
  return save_handler(store, path)->save_streamed(meta, &weights);
}

// load_streamed on a handler that is destroyed before the parts are read.
StreamedModel load_streamed(const Store& store, const std::string& path) { return load_handler(store, path)->load_streamed(); }

// The stored rows of a model: (seq, length) in order.
std::vector<std::vector<std::string>> rows_of(const Store& store, const std::string& path) {
  return Sql(store.db_file())
      .rows("SELECT w.seq, length(w.data) FROM weight_chunks AS w JOIN models_store AS m ON m.modelId = w.modelId "
            "WHERE m.modelPath = '" + path + "' ORDER BY w.seq");
}

// Every models_store column but the ones that differ between two saves of one model.
std::vector<std::vector<std::string>> record_of(const Store& store, const std::string& path) {
  return Sql(store.db_file())
      .rows("SELECT modelTopology, weightSpecs, trainingConfig, format, generatedBy, convertedBy, signature, "
            "userDefinedMetadata, modelInitializer, initializerSignature, extraFields, hasWeightData, chunkCount, "
            "modelTopologyType, modelTopologyBytes, weightSpecsBytes, weightDataBytes FROM models_store WHERE modelPath = '" +
            path + "'");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(indexeddb_streamed_save)

BOOST_AUTO_TEST_CASE(stores_what_a_normal_save_stores) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  const ModelArtifacts a = versioned(1, 300000);  // rows of 65536 bytes, the last 37856
  store.save("normal", a);
  // Parts smaller than a row, straddling row boundaries, larger than a row, the whole model.
  for (std::uint64_t part : {700u, 65536u, 100000u, 300000u}) {
    const std::string path = "streamed-" + std::to_string(part);
    PartsStream parts(all_weight_bytes(a), PartsStream::every(300000, part));
    SaveResult r = save_streamed(store, path, a, parts);
    BOOST_TEST(parts.parts_read() == parts.part_sizes().size(), "parts of " << part);
    BOOST_TEST(*r.model_artifacts_info.weight_data_bytes == 300000u);
    BOOST_TEST((version_of(store.load(path)) == std::optional<std::uint64_t>(1)), "parts of " << part);
    BOOST_TEST(same_model(store.load("normal"), store.load(path)), "parts of " << part);
    BOOST_TEST((rows_of(store, path) == rows_of(store, "normal")), "parts of " << part);
    BOOST_TEST((record_of(store, path) == record_of(store, "normal")), "parts of " << part);
  }
  BOOST_TEST(rows_of(store, "normal").size() == 5u);
  BOOST_TEST(rows_of(store, "normal").back().at(1) == "37856");
}

// The rows are written while the parts arrive: the save's page cache (two rows + 8 MiB) spills
// into the database file long before the last part of a 24 MiB model is read. A save that read
// the whole stream first would leave the file as it was until then.
BOOST_AUTO_TEST_CASE(rows_are_written_while_the_parts_arrive) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.save("small", versioned(1, 1000));
  const std::uint64_t size_before = fs::file_size(store.db_file());
  const ModelArtifacts a = versioned(2, 24u << 20, 5);
  PartsStream parts(all_weight_bytes(a), PartsStream::every(24u << 20, 1u << 20));
  std::uint64_t size_at_last_part = 0;
  parts.on_read = [&](std::size_t index) {
    if (index + 1 == parts.part_sizes().size()) size_at_last_part = fs::file_size(store.db_file());
  };
  save_streamed(store, "big", a, parts);
  BOOST_TEST(size_at_last_part > size_before + (8u << 20), size_at_last_part << " bytes, " << size_before << " before");
  BOOST_TEST((version_of(store.load("big")) == std::optional<std::uint64_t>(2)));
}

// The same for the FIRST save into a new database file, with the default chunk size. SQLite
// sizes a page cache given in KiB in pages of the page size at the time; setting the 64 KiB page
// size of a new database after cache_size left the connection with ~16x the intended cache
// (~250 MiB), so such a save held every page of a 64 MiB model in memory and wrote nothing until
// its commit. Checked twice, without timing: SQLite's own memory high-water mark (the page cache
// is SQLite's heap; the test's parts are not) stays under half the model, and the database file
// has grown by more than half the model before the last part is handed out.
BOOST_AUTO_TEST_CASE(a_first_save_into_a_new_database_keeps_only_its_page_cache) {
  TempDir tmp;
  Store store{tmp.path()};
  const std::uint64_t model_bytes = 64u << 20;
  ModelArtifacts a = versioned(3, 1000);  // the record, made to describe the streamed bytes
  a.user_defined_metadata = bj::value{{"version", 3}, {"bytes", model_bytes}};
  a.weight_specs = std::vector<WeightSpec>{{"v/kernel", {static_cast<std::int64_t>(model_bytes)}, "uint8", {}, {}, {}, {}}};
  VersionStream parts(3, model_bytes, 1u << 20);
  std::uint64_t size_at_last_part = 0;
  parts.on_read = [&](std::size_t index) {
    if (index + 1 == parts.part_sizes().size()) {
      std::error_code ec;
      size_at_last_part = fs::file_size(store.db_file(), ec);
    }
  };
  BOOST_TEST_REQUIRE(!fs::exists(store.db_file()));
  const auto used_before = static_cast<std::uint64_t>(sqlite3_memory_used());
  sqlite3_memory_highwater(1);  // from now on
  save_streamed(store, "first", a, parts);
  const auto peak = static_cast<std::uint64_t>(sqlite3_memory_highwater(0));
  const std::uint64_t sqlite_growth = peak > used_before ? peak - used_before : 0;
  BOOST_TEST_MESSAGE("first save of " << model_bytes << " bytes: SQLite heap +" << sqlite_growth << " bytes, "
                                       << size_at_last_part << " bytes in the file at the last part");
  BOOST_TEST(sqlite_growth < model_bytes / 2, "SQLite's heap grew by " << sqlite_growth << " bytes during the save of a "
                                                                        << model_bytes << "-byte model");
  BOOST_TEST(size_at_last_part > model_bytes / 2, size_at_last_part << " bytes in the new database at the last part");
  BOOST_TEST((version_of(store.load("first")) == std::optional<std::uint64_t>(3)));
}

// Now that a first save writes pages into the new database file before its commit, a process
// killed in the middle of one must leave an empty store: the hot journal takes the file back to
// the schema alone. The child kills itself once more than half the model is in the file (a
// child whose save had written nothing yet exits with 3 instead, and the test fails).
BOOST_AUTO_TEST_CASE(a_first_save_killed_after_it_wrote_pages_leaves_an_empty_store) {
  TempDir tmp;
  Store store{tmp.path()};
  env();  // the plugin is loaded before the fork
  const std::uint64_t model_bytes = 64u << 20;
  const int status = in_child([&] {
    ModelArtifacts a = versioned(4, 1000);
    a.user_defined_metadata = bj::value{{"version", 4}, {"bytes", model_bytes}};
    a.weight_specs = std::vector<WeightSpec>{{"v/kernel", {static_cast<std::int64_t>(model_bytes)}, "uint8", {}, {}, {}, {}}};
    VersionStream parts(4, model_bytes, 1u << 20);
    parts.on_read = [&](std::size_t index) {
      if (index + 1 < parts.part_sizes().size()) return;
      if (fs::file_size(store.db_file()) <= model_bytes / 2) std::_Exit(3);
      ::kill(::getpid(), SIGKILL);
    };
    save_streamed(store, "first", a, parts);
    return 4;  // the save finished: the kill never came
  });
  BOOST_TEST_REQUIRE(status == 128 + SIGKILL, "the child ended with " << status);
  BOOST_TEST(fs::file_size(store.db_file()) > model_bytes / 2);
  std::error_code ec;
  BOOST_TEST(fs::file_size(store.db_file().string() + "-journal", ec) > 0u);  // hot
  {
    Sql sql(store.db_file());
    BOOST_TEST(sql.value("PRAGMA integrity_check") == "ok");
    BOOST_TEST(sql.value("SELECT count(*) FROM weight_chunks") == "0");
  }
  BOOST_TEST(fs::file_size(store.db_file()) < (1u << 20));  // truncated back by the rollback
  BOOST_TEST(store.list().empty());
  store.save("first", versioned(5, 300000));
  BOOST_TEST((version_of(store.load("first")) == std::optional<std::uint64_t>(5)));
}

BOOST_AUTO_TEST_CASE(a_source_failing_at_part_2_keeps_the_previous_model) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.save("m", versioned(1, 300000));
  const std::string rows_before = Sql(store.db_file()).value("SELECT count(*) FROM weight_chunks");
  const ModelArtifacts second = versioned(2, 300000);
  PartsStream parts(all_weight_bytes(second), PartsStream::every(300000, 100000), /*fail_at=*/1);  // the 2nd part
  ErrorCode code{};
  std::string m = error_message_of([&] { save_streamed(store, "m", second, parts); }, &code);
  BOOST_TEST(contains(m, "part 2 is unreadable"), m);
  BOOST_TEST((code == ErrorCode::unavailable), m);
  BOOST_TEST(parts.reads == 2u);  // rows of part 1 were written when the source failed
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(1)));
  Sql sql(store.db_file());
  BOOST_TEST(sql.value("SELECT count(*) FROM weight_chunks") == rows_before);  // rolled back, no orphans
  BOOST_TEST(sql.value("PRAGMA integrity_check") == "ok");
  BOOST_TEST(store.list().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_failing_source_of_a_first_save_stores_nothing) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  const ModelArtifacts a = versioned(1, 300000);
  PartsStream parts(all_weight_bytes(a), PartsStream::every(300000, 65536), /*fail_at=*/2);  // the 3rd part
  BOOST_CHECK_THROW(save_streamed(store, "new", a, parts), Error);
  BOOST_TEST(store.list().empty());
  BOOST_TEST_REQUIRE(fs::exists(store.db_file()));  // the save had started: it creates the store
  BOOST_TEST(Sql(store.db_file()).value("SELECT count(*) FROM weight_chunks") == "0");
  BOOST_TEST(Sql(store.db_file()).value("PRAGMA integrity_check") == "ok");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(indexeddb_streamed_load)

BOOST_AUTO_TEST_CASE(parts_are_the_rows_read_when_asked) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  const ModelArtifacts a = versioned(1, 200000);
  store.save("m", a);
  StreamedModel model = load_streamed(store, "m");
  BOOST_TEST_REQUIRE(model.weights);
  BOOST_TEST((model.weights->part_sizes() == std::vector<std::uint64_t>{65536, 65536, 65536, 3392}));
  BOOST_TEST(!model.artifacts.weight_data.has_value());
  BOOST_TEST((model.artifacts.user_defined_metadata == a.user_defined_metadata));

  // Row 2 is overwritten in place (same version, same size) behind the plugin's back: a part read
  // when asked shows it; one read during the load would not.
  Sql(store.db_file()).exec("UPDATE weight_chunks SET data = zeroblob(65536) WHERE seq = 2");
  const std::vector<std::byte> want = all_weight_bytes(a);
  for (std::size_t i = 0; i < 4; ++i) {
    auto part = model.weights->next();
    BOOST_TEST_REQUIRE(part.has_value());
    const std::size_t at = i * 65536;
    std::vector<std::byte> expected(want.begin() + static_cast<std::ptrdiff_t>(at),
                                    want.begin() + static_cast<std::ptrdiff_t>(at + part->size()));
    if (i == 2) std::fill(expected.begin(), expected.end(), std::byte{0});
    BOOST_TEST((bytes_of(*part) == expected), "part " << i);
  }
  BOOST_TEST(!model.weights->next().has_value());
}

BOOST_AUTO_TEST_CASE(a_model_replaced_after_the_load_is_never_mixed_in) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.save("m", versioned(1, 200000));
  StreamedModel model = load_streamed(store, "m");
  auto first = model.weights->next();
  BOOST_TEST_REQUIRE(first.has_value());
  std::vector<std::byte> v1(65536);
  fill_version_bytes(1, 0, v1);
  BOOST_TEST((bytes_of(*first) == v1));

  store.save("m", versioned(2, 200000));  // same sizes, other bytes
  ErrorCode code{};
  std::string m = error_message_of([&] { model.weights->next(); }, &code);
  BOOST_TEST(contains(m, "changed while it was being copied"), m);
  BOOST_TEST(contains(m, "indexeddb://m"), m);
  BOOST_TEST((code == ErrorCode::unavailable), m);
}

// Parts read while a save of the same database holds the write lock (here: a save of a newer
// version of the very model being read, in this process) come through that save's connection:
// the loaded version's bytes, with no wait for the lock. Once that save has committed, the loaded
// version is gone and the next part is an error.
BOOST_AUTO_TEST_CASE(parts_read_during_a_save_of_the_same_file_are_the_loaded_version) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.options["busy_timeout_ms"] = "3000";
  constexpr std::size_t kBytes = 12u << 20;  // more than a save's page cache: its lock turns exclusive
  store.save("a", versioned(1, kBytes, 4));
  StreamedModel model = load_streamed(store, "a");
  BOOST_TEST_REQUIRE(model.weights->part_sizes().size() == kBytes / 65536);

  const ModelArtifacts second = versioned(2, kBytes, 4);
  PartsStream parts(all_weight_bytes(second), PartsStream::every(kBytes, 1u << 20));
  std::vector<std::byte> read;  // the loaded model's parts read so far, joined
  std::string failure;
  parts.on_read = [&](std::size_t index) {
    if (index == 0) return;
    try {
      for (int i = 0; i < 8; ++i) {
        auto part = model.weights->next();
        if (part) read.insert(read.end(), part->span().begin(), part->span().end());
      }
    } catch (const std::exception& e) {
      if (failure.empty()) failure = e.what();
    }
  };
  save_streamed(store, "a", second, parts);
  BOOST_TEST(failure.empty(), failure);
  BOOST_TEST(read.size() == 11u * 8 * 65536);
  std::vector<std::byte> v1(read.size());
  fill_version_bytes(1, 0, v1);
  BOOST_TEST((read == v1));
  BOOST_TEST((version_of(store.load("a")) == std::optional<std::uint64_t>(2)));
  std::string m = error_message_of([&] { model.weights->next(); });
  BOOST_TEST(contains(m, "changed while it was being copied"), m);
}

// A removed model whose path is saved again may get the same modelId back (ids are max + 1):
// the version is told apart by its save date too.
BOOST_AUTO_TEST_CASE(a_model_removed_and_saved_again_is_never_mixed_in) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.save("m", versioned(1, 200000));
  const std::string id = Sql(store.db_file()).value("SELECT modelId FROM models_store WHERE modelPath = 'm'");
  StreamedModel model = load_streamed(store, "m");
  store.remove("indexeddb://m");
  std::this_thread::sleep_for(std::chrono::milliseconds(5));  // another save date
  store.save("m", versioned(2, 200000));
  BOOST_TEST(Sql(store.db_file()).value("SELECT modelId FROM models_store WHERE modelPath = 'm'") == id);
  std::string m = error_message_of([&] { model.weights->next(); });
  BOOST_TEST(contains(m, "changed while it was being copied"), m);
}

BOOST_AUTO_TEST_CASE(a_removed_model_is_a_clear_error) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", versioned(1, 1000));
  StreamedModel model = load_streamed(store, "m");
  store.remove("indexeddb://m");
  std::string m = error_message_of([&] { model.weights->next(); });
  BOOST_TEST(contains(m, "changed while it was being copied"), m);
  BOOST_TEST(contains(m, "indexeddb://m"), m);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(indexeddb_streaming_copy)

// The destination's save spills its page cache (a model several times the cache), which makes
// its write lock exclusive: reads of the source on a connection of their own would wait for it
// while it waits for them. A short busy timeout turns such a deadlock into a quick failure.
BOOST_AUTO_TEST_CASE(copy_within_one_database_in_one_process) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.options["busy_timeout_ms"] = "3000";
  constexpr std::size_t kBytes = 24u << 20;
  store.save("a", versioned(1, kBytes, 7));
  store.save("b", versioned(2, 1000));  // replaced by the copy
  const auto load_options = store.with_options<LoadOptions>();
  const auto save_options = store.with_options<SaveOptions>();
  ModelArtifactsInfo info = copy_model("indexeddb://a", "indexeddb://b", load_options, save_options, env().routers);
  BOOST_TEST(*info.weight_data_bytes == kBytes);
  BOOST_TEST((version_of(store.load("b")) == std::optional<std::uint64_t>(1)));
  BOOST_TEST((version_of(store.load("a")) == std::optional<std::uint64_t>(1)));

  copy_model("indexeddb://a", "indexeddb://c", load_options, save_options, env().routers);
  BOOST_TEST((version_of(store.load("c")) == std::optional<std::uint64_t>(1)));
  move_model("indexeddb://c", "indexeddb://d", load_options, save_options, env().routers, env().stores);
  BOOST_TEST((version_of(store.load("d")) == std::optional<std::uint64_t>(1)));
  BOOST_TEST((store.listed_urls() == std::vector<std::string>{"indexeddb://a", "indexeddb://b", "indexeddb://d"}));
  BOOST_TEST(Sql(store.db_file()).value("PRAGMA integrity_check") == "ok");
}

// A copy within one database whose save fails part-way: the copy's read-ahead thread is then
// fetching the next part of the source, and waits for the save's connection, which the save holds
// while it writes. The save is cancelled (the cancel request comes from its progress report,
// made while it holds the connection, after a pause that lets the read-ahead's fetch start and
// wait) once it has written more than its page cache holds, so its lock is exclusive until it
// rolls back. The fetch that finds the save gone must not keep anything the rollback needs:
// reading the source on a connection of its own while it held the file's gate made the rollback
// wait for the gate, and the read wait for the rollback's lock, until busy_timeout_ms (30 s here,
// 120 s by default). Failing within 20 s is a generous bound, not a speed target: without the
// deadlock each copy takes well under a second. Three cancel points, since which thread gets the
// connection first when the save fails is up to the scheduler.
BOOST_AUTO_TEST_CASE(a_copy_within_one_database_whose_save_fails_fails_promptly) {
  using namespace std::chrono;
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "100000";     // the source's rows, so the copy's parts
  store.options["busy_timeout_ms"] = "30000";  // how long a deadlock would last
  constexpr std::size_t kBytes = 24u << 20;
  store.save("a", versioned(1, kBytes, 7));
  store.save("b", versioned(2, 1000));  // the destination's previous model, to be kept
  for (std::uint64_t cancel_at : {std::uint64_t{12} << 20, std::uint64_t{16} << 20, std::uint64_t{20} << 20}) {
    std::stop_source stop;
    const auto load_options = store.with_options<LoadOptions>();
    auto save_options = store.with_options<SaveOptions>();
    // Rows of 1 MiB: a row ends inside a part, and the cancel is seen when the next row starts,
    // while the save still holds its connection.
    save_options.plugin_options["chunk_bytes"] = std::to_string(1u << 20);
    save_options.cancel = stop.get_token();
    save_options.on_progress = [&](const Progress& p) {
      if (stop.stop_requested() || p.bytes_done < cancel_at) return;
      std::this_thread::sleep_for(milliseconds(50));
      stop.request_stop();
    };
    const auto started = steady_clock::now();
    ErrorCode code{};
    const std::string m = error_message_of(
        [&] { copy_model("indexeddb://a", "indexeddb://b", load_options, save_options, env().routers); }, &code);
    const double seconds = duration<double>(steady_clock::now() - started).count();
    BOOST_TEST_MESSAGE("cancelled at " << cancel_at << " bytes: failed after " << seconds << " s: " << m);
    BOOST_TEST(seconds < 20.0, "cancelled at " << cancel_at << " bytes: the copy failed after " << seconds << " s: " << m);
    BOOST_TEST((code == ErrorCode::cancelled), "cancelled at " << cancel_at << " bytes: " << m);
    BOOST_TEST(contains(m, "indexeddb://b"), m);
    BOOST_TEST((version_of(store.load("b")) == std::optional<std::uint64_t>(2)), "cancelled at " << cancel_at);
    if (seconds >= 20.0) break;  // one deadlock is enough to know
  }
  BOOST_TEST((version_of(store.load("a")) == std::optional<std::uint64_t>(1)));
  BOOST_TEST(Sql(store.db_file()).value("PRAGMA integrity_check") == "ok");
  BOOST_TEST((store.listed_urls() == std::vector<std::string>{"indexeddb://a", "indexeddb://b"}));
}

// Copies of `a` while `a` is saved again and again, in one process: every copy either holds one
// whole version or fails with "changed while it was being copied"; none waits out the busy
// timeout (the saves of `a` and of `b` publish their connections to the copy's reads in turn).
// The copies must really meet the saves: each save of `a` pauses after its first part (it then
// holds the write transaction, with its lock still RESERVED, so the source can be loaded) until a
// copy has started since (or one that had started is still waiting for the lock), so that copy
// loads the version being replaced and reads it after the save has committed. Without the pauses
// the copies met no save at all.
BOOST_AUTO_TEST_CASE(copies_while_the_source_is_saved_again) {
  using namespace std::chrono;
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.options["busy_timeout_ms"] = "5000";
  constexpr std::size_t kBytes = 12u << 20;  // more than a save's page cache
  constexpr std::uint64_t kLastVersion = 7;
  store.save("a", versioned(1, kBytes, 4));
  const auto load_options = store.with_options<LoadOptions>();
  const auto save_options = store.with_options<SaveOptions>();
  std::atomic<bool> saving{true};
  std::atomic<int> copies_started{0};
  std::atomic<bool> in_copy{false};
  int saves_met = 0;  // saves of `a` during which a copy started (the saver's count)
  std::vector<std::string> unexpected;
  std::mutex unexpected_mutex;
  std::thread saver([&] {
    try {
      for (std::uint64_t v = 2; v <= kLastVersion; ++v) {
        const ModelArtifacts next = versioned(v, kBytes, 4);
        PartsStream parts(all_weight_bytes(next), PartsStream::every(kBytes, 1u << 20));
        parts.on_read = [&](std::size_t index) {
          if (index != 1) return;
          // A copy that starts from now on loads the version this save replaces; so does one
          // still running after a while (it waits for this save's lock to save `b`).
          const int before = copies_started.load();
          const auto opened = steady_clock::now();
          for (;;) {
            const auto waited = steady_clock::now() - opened;
            if (copies_started.load() != before || (in_copy.load() && waited > milliseconds(200))) {
              ++saves_met;
              std::this_thread::sleep_for(milliseconds(100));  // the copy's load of `a` takes a moment
              return;
            }
            if (waited > seconds(10)) return;
            std::this_thread::sleep_for(milliseconds(1));
          }
        };
        save_streamed(store, "a", next, parts);
        std::this_thread::sleep_for(milliseconds(30));
      }
    } catch (const std::exception& e) {
      std::lock_guard lock(unexpected_mutex);
      unexpected.push_back(std::string("save: ") + e.what());
    }
    saving = false;
  });
  int copies = 0;
  int changed = 0;
  while (saving || copies == 0) {
    ++copies;
    in_copy = true;
    ++copies_started;
    try {
      copy_model("indexeddb://a", "indexeddb://b", load_options, save_options, env().routers);
      in_copy = false;
      if (!version_of(store.load("b"))) {
        std::lock_guard lock(unexpected_mutex);
        unexpected.push_back("copy " + std::to_string(copies) + ": a mix of versions");
      }
    } catch (const Error& e) {
      in_copy = false;
      if (contains(e.what(), "changed while it was being copied")) {
        ++changed;
      } else {
        std::lock_guard lock(unexpected_mutex);
        unexpected.push_back(std::string("copy: ") + e.what());
      }
    }
  }
  saver.join();
  BOOST_TEST_MESSAGE(copies << " copies, " << changed << " met a newer version; " << saves_met << " saves met a copy");
  BOOST_TEST(unexpected.empty(), (unexpected.empty() ? std::string() : unexpected.front()));
  BOOST_TEST(saves_met == static_cast<int>(kLastVersion - 1));
  // Each save should meet a copy that loaded the version it replaced; one is required, since a
  // copy's load that the scheduler delays past the pause loads the new version instead.
  BOOST_TEST(changed >= 1, changed << " copies met a newer version");
  copy_model("indexeddb://a", "indexeddb://b", load_options, save_options, env().routers);
  BOOST_TEST((version_of(store.load("b")) == std::optional<std::uint64_t>(kLastVersion)));
}

BOOST_AUTO_TEST_SUITE_END()
