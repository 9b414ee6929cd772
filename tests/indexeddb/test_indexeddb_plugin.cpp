// indexeddb:// (spec §3.4, §4, §6 items 43–53 and 129–143): the records TensorFlow.js writes,
// kept in SQLite, one database per origin; list and remove; the capacity estimate; bad input.
//
// Store-level checks (the estimate, the layout) open the database file with SQLite directly;
// everything else goes through the production plugin loader.
#include "idb_test_support.hpp"

#include "idb_store.hpp"

#include <modelport/memory_handlers.hpp>
#include <modelport/model_json.hpp>
#include <modelport/weight_stats.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <set>
#include <stop_token>
#include <sys/resource.h>
#include <sys/stat.h>
#include <thread>

using namespace idbtest;
using modelport::test::fixtures_dir;
using modelport::test::read_file;
using modelport::test::TempDir;
namespace idb = modelport::indexeddb_plugin;

namespace {

using Clock = std::chrono::system_clock;

// The golden model of tests/fixtures/golden (the tfjs-node save of the same Sequential model
// whose IndexedDB records browser-schemes.json shows).
ModelArtifacts golden_model() {
  const fs::path dir = fixtures_dir() / "golden/file-save/tfjs-node";
  ModelJson parsed = parse_model_json(read_file(dir / "model.json"), "golden model.json");
  ModelArtifacts a = parsed.artifacts;
  std::string bytes = read_file(dir / "weights.bin");
  a.weight_data = WeightData(Buffer::copy_of(std::string_view(bytes)));
  return a;
}

bj::value golden_indexeddb() {
  return json::parse(read_file(fixtures_dir() / "golden/browser-schemes.json")).at("with_fake_browser_globals").at("indexeddb");
}

std::uint64_t stat_size(const fs::path& p) {
  std::error_code ec;
  auto s = fs::file_size(p, ec);
  return ec ? 0 : s;
}

ModelArtifacts with_metadata(ModelArtifacts a) {
  a.format = bj::value("layers-model");
  a.generated_by = bj::value("TensorFlow.js v0.0.0");
  a.converted_by = bj::value(nullptr);
  a.model_initializer = bj::object();
  return a;
}

// Stats as in §6 item 7.
void check_stats(const ModelArtifactsInfo& info, const ModelArtifacts& a, Clock::time_point before) {
  BOOST_TEST(info.model_topology_type == "JSON");
  BOOST_TEST(*info.model_topology_bytes == json::stringify(std::get<bj::value>(*a.model_topology)).size());
  BOOST_TEST(*info.weight_specs_bytes == *get_model_artifacts_info(a).weight_specs_bytes);
  BOOST_TEST(*info.weight_data_bytes == a.weight_data->size());
  BOOST_TEST((info.date_saved >= std::chrono::floor<std::chrono::milliseconds>(before)));
}

bool same_tsd(const ModelArtifacts& a, const ModelArtifacts& b) {
  if (!b.model_topology || !b.weight_specs || !b.weight_data || a.weight_specs->size() != b.weight_specs->size()) return false;
  for (std::size_t i = 0; i < a.weight_specs->size(); ++i) {
    const WeightSpec& x = (*a.weight_specs)[i];
    const WeightSpec& y = (*b.weight_specs)[i];
    if (x.name != y.name || x.shape != y.shape || x.dtype != y.dtype) return false;
  }
  return std::get<bj::value>(*a.model_topology) == std::get<bj::value>(*b.model_topology) &&
         a.weight_data->join().view() == b.weight_data->join().view();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(indexeddb_layout)

// The two object stores of tfjs (keyPath modelPath) with the golden records' content: every field
// tfjs keeps, as the compact JSON text the core handed over, and the info with its byte counts.
BOOST_AUTO_TEST_CASE(records_match_what_tfjs_writes) {
  TempDir tmp;
  Store store{tmp.path()};
  const bj::value golden = golden_indexeddb();
  const auto& stores = golden.at("stores").at("objectStores");
  const auto& info_record = stores.at("model_info_store").at("records").at(0);
  const auto& model_record = stores.at("models_store").at("records").at(0);
  const std::string path = std::string(info_record.at("modelPath").as_string());  // demo/model-1
  BOOST_TEST(golden.at("stores").at("name").as_string() == "tensorflowjs");

  ModelArtifacts a = golden_model();
  auto before = Clock::now();
  SaveResult r = store.save(path, a);
  const auto& want = info_record.at("modelArtifactsInfo").as_object();
  BOOST_TEST(*r.model_artifacts_info.model_topology_bytes == want.at("modelTopologyBytes").to_number<std::uint64_t>());
  BOOST_TEST(*r.model_artifacts_info.weight_specs_bytes == want.at("weightSpecsBytes").to_number<std::uint64_t>());
  BOOST_TEST(*r.model_artifacts_info.weight_data_bytes == want.at("weightDataBytes").to_number<std::uint64_t>());

  BOOST_TEST_REQUIRE(fs::exists(store.db_file()));  // <data>/indexeddb/<origin>/tensorflowjs.sqlite
  Sql sql(store.db_file());
  BOOST_TEST(sql.value("PRAGMA user_version") == "1");
  BOOST_TEST(sql.value("SELECT count(*) FROM sqlite_schema WHERE type='table' AND name IN ('models_store','model_info_store')") == "2");
  auto info = sql.rows("SELECT modelPath, dateSaved, modelTopologyType, modelTopologyBytes, weightSpecsBytes, weightDataBytes FROM model_info_store");
  BOOST_TEST_REQUIRE(info.size() == 1u);
  BOOST_TEST(info[0][0] == path);
  const auto saved_ms = std::chrono::duration_cast<std::chrono::milliseconds>(before.time_since_epoch()).count();
  BOOST_TEST(std::stoll(info[0][1]) >= saved_ms);
  BOOST_TEST(info[0][2] == want.at("modelTopologyType").as_string());
  BOOST_TEST(info[0][3] == std::to_string(want.at("modelTopologyBytes").to_number<std::uint64_t>()));
  BOOST_TEST(info[0][4] == std::to_string(want.at("weightSpecsBytes").to_number<std::uint64_t>()));
  BOOST_TEST(info[0][5] == std::to_string(want.at("weightDataBytes").to_number<std::uint64_t>()));

  // models_store holds exactly the keys tfjs's record holds (weightData as chunks), each as the
  // compact JSON text of the field; convertedBy is an explicit null.
  const char* columns[] = {"modelTopology", "weightSpecs", "trainingConfig", "format", "generatedBy", "convertedBy",
                           "signature", "userDefinedMetadata", "modelInitializer", "initializerSignature"};
  std::string select = "SELECT modelPath";
  for (const char* c : columns) select += std::string(", ") + c;
  auto model = sql.rows(select + ", extraFields, hasWeightData FROM models_store");
  BOOST_TEST_REQUIRE(model.size() == 1u);
  BOOST_TEST(model[0][0] == path);
  std::set<std::string> present;
  for (std::size_t i = 0; i < std::size(columns); ++i) {
    if (model[0][i + 1] != "NULL") present.insert(columns[i]);
  }
  std::set<std::string> tfjs_keys;
  for (const auto& kv : model_record.at("modelArtifacts").as_object()) {
    if (kv.key() != "weightData") tfjs_keys.insert(std::string(kv.key()));
  }
  BOOST_TEST(present == tfjs_keys);
  BOOST_TEST(model[0][11] == "NULL");  // no unknown top-level keys
  BOOST_TEST(model[0][12] == "1");
  BOOST_TEST(model[0][1] == json::stringify(std::get<bj::value>(*a.model_topology)));
  BOOST_TEST(model[0][4] == "\"layers-model\"");
  BOOST_TEST(model[0][6] == "null");

  // The weight bytes: the chunks in order hash to the golden record's sha256.
  std::string joined;
  for (const auto& row : sql.rows("SELECT hex(data) FROM weight_chunks ORDER BY seq")) joined += row[0];
  std::vector<std::byte> bytes(joined.size() / 2);
  for (std::size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<std::byte>(std::stoi(joined.substr(2 * i, 2), nullptr, 16));
  BOOST_TEST(sha256_hex(bytes) == model_record.at("modelArtifacts").at("weightData").at("sha256").as_string());

  ModelArtifacts back = store.load(path);
  BOOST_TEST(same_model(a, back));
  BOOST_TEST(back.converted_by->is_null());
}

// Weight data is stored in rows of chunk_bytes and comes back as one buffer per row.
BOOST_AUTO_TEST_CASE(weights_in_chunks_one_buffer_per_row) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "1024";
  ModelArtifacts a = versioned(7, 5000, 9);
  store.save("chunked", a);
  Sql sql(store.db_file());
  auto rows = sql.rows("SELECT seq, length(data) FROM weight_chunks ORDER BY seq");
  BOOST_TEST_REQUIRE(rows.size() == 5u);
  for (int i = 0; i < 4; ++i) BOOST_TEST(rows[i][1] == "1024");
  BOOST_TEST(rows[4][1] == "904");
  ModelArtifacts back = store.load("chunked");
  BOOST_TEST(back.weight_data->buffers().size() == 5u);
  BOOST_TEST((version_of(back) == std::optional<std::uint64_t>(7)));
}

// Absent stays absent, null stays null; weight data absent is not weight data of 0 bytes.
BOOST_AUTO_TEST_CASE(absent_null_and_empty_are_kept_apart) {
  TempDir tmp;
  Store store{tmp.path()};
  ModelArtifacts a;
  a.model_topology = ModelTopology(topology_t());
  a.converted_by = bj::value(nullptr);
  a.signature = bj::value(nullptr);
  store.save("topology-only", a);
  ModelArtifacts back = store.load("topology-only");
  BOOST_TEST(!back.weight_data.has_value());
  BOOST_TEST(!back.weight_specs.has_value());
  BOOST_TEST((back.converted_by && back.converted_by->is_null()));
  BOOST_TEST((back.signature && back.signature->is_null()));
  BOOST_TEST(!back.format.has_value());
  BOOST_TEST(!back.training_config.has_value());

  ModelArtifacts empty_weights = model_tsd(0);
  empty_weights.weight_specs = std::vector<WeightSpec>{};
  empty_weights.weight_data = WeightData();
  store.save("no-bytes", empty_weights);
  back = store.load("no-bytes");
  BOOST_TEST((back.weight_data && back.weight_data->size() == 0u));
  auto listed = store.list();
  BOOST_TEST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(*listed[0].info.weight_data_bytes == 0u);
}

// Where the database lives: MODELPORT_DATA_DIR, else $XDG_DATA_HOME/modelport, else
// ~/.local/share/modelport; origin from the option, else MODELPORT_ORIGIN, else "default";
// origins that are not plain names are percent-encoded into one folder name.
BOOST_AUTO_TEST_CASE(data_folder_and_origin) {
  TempDir tmp;
  auto saved_env = [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  const auto home = saved_env("HOME"), xdg = saved_env("XDG_DATA_HOME");
  ModelArtifacts a = model_tsd();
  auto plain_save = [&](const std::string& url, SaveOptions o = {}) { modelport::save(url, a, o, env().routers); };

  ::setenv("HOME", (tmp.path() / "home").c_str(), 1);
  ::unsetenv("XDG_DATA_HOME");
  ::unsetenv("MODELPORT_DATA_DIR");
  ::unsetenv("MODELPORT_ORIGIN");
  plain_save("indexeddb://m");
  BOOST_TEST(fs::exists(tmp.path() / "home/.local/share/modelport/indexeddb/default/tensorflowjs.sqlite"));

  ::setenv("XDG_DATA_HOME", (tmp.path() / "xdg").c_str(), 1);
  ::setenv("MODELPORT_ORIGIN", "https://example.com:8080", 1);
  plain_save("indexeddb://m");
  BOOST_TEST(fs::exists(tmp.path() / "xdg/modelport/indexeddb/https%3A%2F%2Fexample.com%3A8080/tensorflowjs.sqlite"));

  ::setenv("MODELPORT_DATA_DIR", (tmp.path() / "data").c_str(), 1);
  SaveOptions o;
  o.plugin_options["origin"] = "..";
  plain_save("indexeddb://m", o);
  BOOST_TEST(fs::exists(tmp.path() / "data/indexeddb/%2E./tensorflowjs.sqlite"));
  // Each origin is its own store.
  CommonOptions dots;
  dots.plugin_options["origin"] = "..";
  BOOST_TEST(modelport::list_models("indexeddb://", dots, env().stores).size() == 1u);
  CommonOptions other;
  other.plugin_options["origin"] = "nothing-here";
  BOOST_TEST(modelport::list_models("indexeddb://", other, env().stores).empty());
  o.plugin_options["origin"] = "";
  Error e = error_of([&] { plain_save("indexeddb://m", o); });
  BOOST_TEST((e.code() == ErrorCode::invalid_argument), e.what());

  ::unsetenv("MODELPORT_DATA_DIR");
  ::unsetenv("MODELPORT_ORIGIN");
  home ? ::setenv("HOME", home->c_str(), 1) : ::unsetenv("HOME");
  xdg ? ::setenv("XDG_DATA_HOME", xdg->c_str(), 1) : ::unsetenv("XDG_DATA_HOME");
  BOOST_TEST(idb::encode_origin("default") == "default");
  BOOST_TEST(idb::encode_origin("a b/ü") == "a%20b%2F%C3%BC");
  BOOST_TEST(idb::encode_origin(".") == "%2E");
  BOOST_TEST(idb::encode_origin(".hidden.origin") == "%2Ehidden.origin");
  bool too_long = false;
  try {
    idb::encode_origin(std::string(100, '/'));  // 300 characters once escaped
  } catch (const modelport::sdk::Error& refused) {
    too_long = refused.code() == modelport::sdk::Code::invalid_argument;
  }
  BOOST_TEST(too_long);
}

// The rollback journal by default; WAL when asked, kept by later connections without the option;
// back to the rollback journal when asked.
BOOST_AUTO_TEST_CASE(journal_modes) {
  TempDir tmp;
  Store store{tmp.path()};
  auto mode = [&] { return Sql(store.db_file()).value("PRAGMA journal_mode"); };
  store.save("m", versioned(1, 100000));
  BOOST_TEST(mode() == "delete");  // a rollback journal (TRUNCATE is a per-connection choice)
  Store wal = store;
  wal.options["journal_mode"] = "wal";
  wal.save("m", versioned(2, 100000));
  BOOST_TEST(mode() == "wal");
  store.save("m", versioned(3, 100000));
  BOOST_TEST(mode() == "wal");
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(3)));
  Store rollback = store;
  rollback.options["journal_mode"] = "truncate";
  rollback.save("m", versioned(4, 100000));
  BOOST_TEST(mode() == "delete");
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(4)));
}

// Replacing a model journals only the b-tree pages that change, not the replaced weights: the
// new chunks go in before the old ones are deleted, and freed pages are not zeroed.
BOOST_AUTO_TEST_CASE(replacing_a_model_journals_little) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["journal_mode"] = "persist";  // the journal file keeps its size after the commit
  store.save("m", versioned(1, 8u << 20));
  store.save("other", versioned(2, 1000));
  store.save("m", versioned(3, 8u << 20));
  store.save("m", versioned(4, 8u << 20));
  const auto journal = stat_size(store.db_file().string() + "-journal");
  BOOST_TEST(journal < (1u << 20), "journal of " << journal << " bytes for replacing an 8 MiB model");
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(4)));
}

BOOST_AUTO_TEST_CASE(paths_with_slashes_spaces_and_unicode) {
  TempDir tmp;
  Store store{tmp.path()};
  const std::vector<std::string> paths = {"a/b/c", "with space", "with%20space", "模型/🙂 ü", "trailing/", "/leading"};
  for (std::size_t i = 0; i < paths.size(); ++i) store.save(paths[i], versioned(i, 100 + i));
  for (std::size_t i = 0; i < paths.size(); ++i) BOOST_TEST((version_of(store.load(paths[i])) == std::optional<std::uint64_t>(i)));
  auto urls = store.listed_urls();
  BOOST_TEST(urls.size() == paths.size());
  // A URL below the root lists the models whose path starts with what follows the scheme.
  BOOST_TEST(store.listed_urls("indexeddb://a/") == std::vector<std::string>{"indexeddb://a/b/c"});
  BOOST_TEST(store.listed_urls("indexeddb://with").size() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(indexeddb_tfjs_checklist)

BOOST_AUTO_TEST_CASE(item_43_save_and_load_with_one_handler) {
  TempDir tmp;
  Store store{tmp.path()};
  ModelArtifacts a = with_metadata(model_tsd());
  auto handlers = env().routers.get_save_handlers("indexeddb://FooModel", store.with_options<SaveOptions>());
  BOOST_TEST_REQUIRE(handlers.size() == 1u);
  auto& handler = *handlers[0].handler;
  auto before = Clock::now();
  SaveResult r = handler.save(a);
  check_stats(r.model_artifacts_info, a, before);
  BOOST_TEST(*r.model_artifacts_info.weight_data_bytes == 16u);
  ModelArtifacts back = handler.load();
  BOOST_TEST(same_tsd(a, back));
  BOOST_TEST(back.format->as_string() == "layers-model");
  BOOST_TEST(back.generated_by->as_string() == "TensorFlow.js v0.0.0");
  BOOST_TEST(back.converted_by->is_null());
  BOOST_TEST((back.model_initializer && back.model_initializer->as_object().empty()));
}

BOOST_AUTO_TEST_CASE(item_44_two_models_keep_their_own_stats) {
  TempDir tmp;
  Store store{tmp.path()};
  ModelArtifacts a1 = with_metadata(model_tsd());
  ModelArtifacts a2 = with_metadata(model_tsd(24));
  auto before = Clock::now();
  SaveResult r1 = store.save("Model/1", a1);
  SaveResult r2 = store.save("Model/2", a2);
  check_stats(r1.model_artifacts_info, a1, before);
  check_stats(r2.model_artifacts_info, a2, before);
  BOOST_TEST(*r2.model_artifacts_info.weight_data_bytes == 24u);
  BOOST_TEST((r2.model_artifacts_info.date_saved >= r1.model_artifacts_info.date_saved));
  BOOST_TEST(same_tsd(a1, store.load("Model/1")));
}

BOOST_AUTO_TEST_CASE(item_45_missing_model) {
  TempDir tmp;
  Store store{tmp.path()};
  Error e = error_of([&] { store.load("NonexistentModel"); });
  BOOST_TEST(std::string(e.what()) == "Cannot find model with path 'NonexistentModel' in IndexedDB.");
  BOOST_TEST(e.code() == ErrorCode::not_found);
  BOOST_TEST(!fs::exists(store.db_file()));  // reading never creates the database
  store.save("other", model_tsd());
  e = error_of([&] { store.load("NonexistentModel"); });
  BOOST_TEST(std::string(e.what()) == "Cannot find model with path 'NonexistentModel' in IndexedDB.");
}

BOOST_AUTO_TEST_CASE(item_46_empty_path) {
  TempDir tmp;
  Store store{tmp.path()};
  for (auto fn : std::initializer_list<std::function<void()>>{[&] { store.save("", model_tsd()); }, [&] { store.load(""); },
                                                               [&] { store.remove("indexeddb://"); }}) {
    Error e = error_of(fn);
    BOOST_TEST(std::string(e.what()) == "For IndexedDB, modelPath must not be null, undefined or empty.");
    BOOST_TEST(e.code() == ErrorCode::invalid_argument);
  }
}

BOOST_AUTO_TEST_CASE(item_47_router) {
  BOOST_TEST(env().routers.get_load_handlers("indexeddb://bar").size() == 1u);
  BOOST_TEST(env().routers.get_save_handlers("indexeddb://bar").size() == 1u);
  BOOST_TEST(env().routers.get_load_handlers("localstorage://bar").empty());
  BOOST_TEST(env().routers.get_save_handlers("qux").empty());
}

BOOST_AUTO_TEST_CASE(items_48_to_53_list_and_remove) {
  TempDir tmp;
  Store store{tmp.path()};
  BOOST_TEST(store.list().empty());  // 48
  ModelArtifacts a = with_metadata(model_tsd());
  SaveResult r = store.save("baz/QuxModel", a);  // 49
  auto listed = store.list();
  BOOST_TEST_REQUIRE(listed.size() == 1u);
  BOOST_TEST(listed[0].url == "indexeddb://baz/QuxModel");
  BOOST_TEST((listed[0].info == r.model_artifacts_info));

  TempDir tmp2;
  Store two{tmp2.path()};
  SaveResult r1 = two.save("QuxModel", a);  // 50
  SaveResult r2 = two.save("repeat/QuxModel", model_tsd(24));
  listed = two.list();
  BOOST_TEST_REQUIRE(listed.size() == 2u);
  BOOST_TEST(listed[0].url == "indexeddb://QuxModel");
  BOOST_TEST((listed[0].info == r1.model_artifacts_info));
  BOOST_TEST(listed[1].url == "indexeddb://repeat/QuxModel");
  BOOST_TEST((listed[1].info == r2.model_artifacts_info));

  // 51: the manager's removeModel with a bare path.
  auto manager = env().stores.manager_for("indexeddb://");
  ModelArtifactsInfo removed = manager->remove_model("QuxModel", two.with_options<CommonOptions>());
  BOOST_TEST((removed == r1.model_artifacts_info));
  BOOST_TEST(two.listed_urls() == std::vector<std::string>{"indexeddb://repeat/QuxModel"});
  // 52: with the scheme.
  two.save("QuxModel", a);
  two.remove("indexeddb://QuxModel");
  BOOST_TEST(two.listed_urls() == std::vector<std::string>{"indexeddb://repeat/QuxModel"});
  BOOST_TEST(error_of([&] { two.load("QuxModel"); }).code() == ErrorCode::not_found);
  // 53
  Error e = error_of([&] { two.remove("indexeddb://nonexistent"); });
  BOOST_TEST(std::string(e.what()) == "Cannot find model with path 'nonexistent' in IndexedDB.");
  BOOST_TEST(e.code() == ErrorCode::not_found);
}

BOOST_AUTO_TEST_CASE(overwrite_is_a_put) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", versioned(1, 300000));
  store.save("m", versioned(2, 1000));
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(2)));
  BOOST_TEST(store.list().size() == 1u);
  Sql sql(store.db_file());
  BOOST_TEST(sql.value("SELECT count(*) FROM weight_chunks") == "1");  // the old chunks are gone
  BOOST_TEST(sql.value("SELECT count(*) FROM models_store") == "1");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// Model management across media (§4, §6 items 129–143), with an in-process "ls://" store in the
// role of localstorage://, registered before indexeddb as the browser registers them.

namespace {

class LocalStore final : public ModelStoreManager {
 public:
  static std::string path_of(std::string_view url) {
    std::string path(url.starts_with("ls://") ? url.substr(5) : url);
    if (path.empty()) throw Error(ErrorCode::invalid_argument, "For local storage, modelPath must not be null, undefined or empty.");
    return path;
  }
  void put(const std::string& path, const ModelArtifacts& a) {
    std::lock_guard lock(mutex_);
    models_[path] = {a, get_model_artifacts_info(a)};
  }
  ModelArtifacts get(const std::string& path) {
    std::lock_guard lock(mutex_);
    auto it = models_.find(path);
    if (it == models_.end()) throw Error(ErrorCode::not_found, "In local storage, there is no model with name '" + path + "'");
    return it->second.first;
  }
  std::vector<ListedModel> list_models(std::string_view, const CommonOptions&) override {
    std::lock_guard lock(mutex_);
    std::vector<ListedModel> out;
    for (const auto& [path, m] : models_) out.push_back({"ls://" + path, m.second});
    return out;
  }
  ModelArtifactsInfo remove_model(std::string_view url, const CommonOptions&) override {
    std::lock_guard lock(mutex_);
    auto it = models_.find(path_of(url));
    if (it == models_.end()) throw Error(ErrorCode::not_found, "Cannot find model at path '" + path_of(url) + "'");
    auto info = it->second.second;
    models_.erase(it);
    return info;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::pair<ModelArtifacts, ModelArtifactsInfo>> models_;
};

class LocalHandler final : public IOHandler {
 public:
  LocalHandler(std::shared_ptr<LocalStore> s, std::string p) : store_(std::move(s)), path_(std::move(p)) {}
  bool can_save() const noexcept override { return true; }
  bool can_load() const noexcept override { return true; }
  SaveResult save(const ModelArtifacts& a) override {
    store_->put(path_, a);
    SaveResult r;
    r.model_artifacts_info = get_model_artifacts_info(a);
    return r;
  }
  ModelArtifacts load() override { return store_->get(path_); }

 private:
  std::shared_ptr<LocalStore> store_;
  std::string path_;
};

// Both media in registries of their own; the indexeddb plugin's data folder comes from
// MODELPORT_DATA_DIR here, as the management functions pass no plugin options.
struct Media {
  TempDir tmp;
  RouterRegistry routers;
  ModelStoreRegistry stores;
  std::shared_ptr<LocalStore> ls = std::make_shared<LocalStore>();
  PluginManager manager{routers, stores};
  Media() {
    ::setenv("MODELPORT_DATA_DIR", tmp.path().c_str(), 1);
    ::setenv("MODELPORT_ORIGIN", "media", 1);
    routers.register_scheme_save("test", "ls://", [s = ls](std::span<const std::string> u, const SaveOptions&) {
      return HandlerPtr(std::make_unique<LocalHandler>(s, LocalStore::path_of(u[0])));
    });
    routers.register_scheme_load("test", "ls://", [s = ls](std::span<const std::string> u, const LoadOptions&) {
      return HandlerPtr(std::make_unique<LocalHandler>(s, LocalStore::path_of(u[0])));
    });
    stores.register_manager("ls://", "test", ls);
    manager.load_plugin(MODELPORT_INDEXEDDB_PLUGIN);
  }
  ~Media() {
    manager.finalize();
    ::unsetenv("MODELPORT_DATA_DIR");
    ::unsetenv("MODELPORT_ORIGIN");
  }
  std::map<std::string, ModelArtifactsInfo> list_all() {
    std::map<std::string, ModelArtifactsInfo> out;
    for (const auto& scheme : stores.schemes()) {
      for (auto& m : modelport::list_models(scheme, {}, stores)) out.emplace(m.url, m.info);
    }
    return out;
  }
  std::vector<std::string> urls() {
    std::vector<std::string> out;
    for (const auto& [url, info] : list_all()) out.push_back(url);
    return out;
  }
  void save(const std::string& url, const ModelArtifacts& a) { modelport::save(url, a, {}, routers); }
  ModelArtifacts load(const std::string& url) { return modelport::load(url, {}, routers); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(indexeddb_model_management)

BOOST_AUTO_TEST_CASE(items_129_to_137_errors) {
  Media m;
  Error e = error_of([&] { copy_model("invalidurl", "indexeddb://a1/FooModel", {}, {}, m.routers); });
  BOOST_TEST(std::string(e.what()) == "Copying failed because no load handler is found for source URL invalidurl.");  // 129
  m.save("indexeddb://a1/FooModel", model_tsd());
  e = error_of([&] { copy_model("indexeddb://a1/FooModel", "invalidurl", {}, {}, m.routers); });
  BOOST_TEST(std::string(e.what()) == "Copying failed because no save handler is found for destination URL invalidurl.");  // 130
  e = error_of([&] { move_model("indexeddb://a1/FooModel", "invalidurl", {}, {}, m.routers, m.stores); });
  BOOST_TEST(std::string(e.what()) == "Copying failed because no save handler is found for destination URL invalidurl.");  // 131
  BOOST_TEST(m.urls() == std::vector<std::string>{"indexeddb://a1/FooModel"});
  e = error_of([&] { remove_model("foo", {}, m.stores); });  // 132
  BOOST_TEST(std::string(e.what()) == "The url string provided does not contain a scheme. Supported schemes are: ls,indexeddb");
  e = error_of([&] { remove_model("invalidscheme://foo", {}, m.stores); });  // 133
  BOOST_TEST(std::string(e.what()) == "Cannot find model manager for scheme 'invalidscheme'");
  e = error_of([&] { remove_model("indexeddb://nonexistent", {}, m.stores); });  // 134
  BOOST_TEST(std::string(e.what()) == "Cannot find model with path 'nonexistent' in IndexedDB.");
  e = error_of([&] { copy_model("indexeddb://nonexistent", "indexeddb://destination", {}, {}, m.routers); });  // 135
  BOOST_TEST(std::string(e.what()) == "Cannot find model with path 'nonexistent' in IndexedDB.");
  e = error_of([&] { copy_model("a/1", "a/1", {}, {}, m.routers); });  // 136
  BOOST_TEST(std::string(e.what()) == "Old path and new path are the same: 'a/1'");
  e = error_of([&] { move_model("a/1", "a/1", {}, {}, m.routers, m.stores); });  // 137
  BOOST_TEST(std::string(e.what()) == "Old path and new path are the same: 'a/1'");
}

BOOST_AUTO_TEST_CASE(items_138_to_143_across_media) {
  Media m;
  BOOST_TEST(m.list_all().empty());  // 138
  ModelArtifacts a = with_metadata(model_tsd());
  m.save("ls://baz/QuxModel", a);  // 139
  BOOST_TEST(m.urls() == std::vector<std::string>{"ls://baz/QuxModel"});
  m.save("ls://QuxModel", a);  // 140
  m.save("indexeddb://QuxModel", a);
  m.save("indexeddb://repeat/QuxModel", a);
  remove_model("indexeddb://repeat/QuxModel", {}, m.stores);  // 141
  remove_model("ls://baz/QuxModel", {}, m.stores);
  BOOST_TEST((m.urls() == std::vector<std::string>{"indexeddb://QuxModel", "ls://QuxModel"}));
  remove_model("indexeddb://QuxModel", {}, m.stores);
  remove_model("ls://QuxModel", {}, m.stores);
  BOOST_TEST(m.list_all().empty());

  m.save("ls://a1/FooModel", a);  // 142
  copy_model("ls://a1/FooModel", "indexeddb://a1/FooModel", {}, {}, m.routers);
  auto all = m.list_all();
  BOOST_TEST_REQUIRE(all.size() == 2u);
  const auto& src = all.at("ls://a1/FooModel");
  const auto& dst = all.at("indexeddb://a1/FooModel");
  BOOST_TEST((src.model_topology_bytes == dst.model_topology_bytes));
  BOOST_TEST((src.weight_specs_bytes == dst.weight_specs_bytes));
  BOOST_TEST((src.weight_data_bytes == dst.weight_data_bytes));
  BOOST_TEST(same_tsd(a, m.load("indexeddb://a1/FooModel")));
  remove_model("indexeddb://a1/FooModel", {}, m.stores);

  move_model("ls://a1/FooModel", "indexeddb://a1/FooModel", {}, {}, m.routers, m.stores);  // 143
  BOOST_TEST(m.urls() == std::vector<std::string>{"indexeddb://a1/FooModel"});
  BOOST_TEST(same_tsd(a, m.load("indexeddb://a1/FooModel")));
  // And back out of IndexedDB: the move removes the IndexedDB record after the copy checked out.
  move_model("indexeddb://a1/FooModel", "ls://a1/FooModel", {}, {}, m.routers, m.stores);
  BOOST_TEST(m.urls() == std::vector<std::string>{"ls://a1/FooModel"});
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(indexeddb_estimate)

// navigator.storage.estimate(): the ABI has no hook for it, so the plugin's function is called
// directly here (the plugin's store code is compiled into this test).
BOOST_AUTO_TEST_CASE(usage_and_quota) {
  TempDir tmp;
  Store store{tmp.path()};
  auto settings = [&](std::map<std::string, std::string> extra = {}) {
    extra["data_dir"] = tmp.path().string();
    extra["origin"] = "test";
    return idb::resolve_settings([extra](std::string_view key) -> std::optional<std::string_view> {
      auto it = extra.find(std::string(key));
      if (it == extra.end()) return std::nullopt;
      return std::string_view(it->second);
    });
  };
  idb::StorageEstimate e = idb::estimate_storage(settings());
  BOOST_TEST(e.usage == 0u);
  BOOST_TEST(e.model_count == 0u);
  BOOST_TEST(e.quota > 0u);
  BOOST_TEST(!fs::exists(store.db_file()));  // estimating creates nothing

  store.save("a", versioned(1, 3 << 20));
  store.save("b", versioned(2, 1 << 20));
  store.save("c", model_tsd());
  e = idb::estimate_storage(settings());
  BOOST_TEST(e.model_count == 3u);
  BOOST_TEST(e.weight_bytes == (3u << 20) + (1u << 20) + 16u);
  BOOST_TEST(e.database_bytes >= e.weight_bytes);
  BOOST_TEST(e.usage >= e.database_bytes);
  BOOST_TEST(e.usage == stat_size(store.db_file()) + stat_size(store.db_file().string() + "-journal"));
  BOOST_TEST(e.quota > e.usage);

  // The query the README documents gives the same database size.
  {
    Sql sql(store.db_file());
    BOOST_TEST(sql.value("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size") == std::to_string(e.database_bytes));
    BOOST_TEST(sql.value("SELECT sum(weightDataBytes) FROM model_info_store") == std::to_string(e.weight_bytes));
  }

  store.remove("indexeddb://a");
  idb::StorageEstimate after = idb::estimate_storage(settings());
  BOOST_TEST(after.model_count == 2u);
  BOOST_TEST(after.free_bytes >= (3u << 20));  // reused by later saves
  BOOST_TEST(after.database_bytes == e.database_bytes);

  idb::StorageEstimate capped = idb::estimate_storage(settings({{"max_page_count", "100"}}));
  BOOST_TEST(capped.quota <= capped.usage + 100u * 65536u);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_SUITE(indexeddb_bad_input)

BOOST_AUTO_TEST_CASE(not_a_database_file) {
  TempDir tmp;
  Store store{tmp.path()};
  fs::create_directories(store.db_file().parent_path());
  std::ofstream(store.db_file(), std::ios::binary) << std::string(70000, 'x');
  auto expect_corrupt = [&](const char* what, const std::function<void()>& fn) {
    Error e = error_of(fn);
    BOOST_TEST((e.code() == ErrorCode::corrupt), what << ": " << e.what());
    BOOST_TEST(contains(e.what(), store.db_file().string()), what << ": " << e.what());
  };
  expect_corrupt("load", [&] { store.load("m"); });
  expect_corrupt("save", [&] { store.save("m", model_tsd()); });
  expect_corrupt("list", [&] { store.list(); });
  expect_corrupt("remove", [&] { store.remove("indexeddb://m"); });
  BOOST_TEST(read_file(store.db_file()) == std::string(70000, 'x'));  // left as it was
}

BOOST_AUTO_TEST_CASE(damaged_pages) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", versioned(1, 200000));
  {
    // Garble the b-tree pages after the schema page (page 1): the tables' roots.
    std::fstream f(store.db_file(), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(65536);
    std::string junk(4 * 65536, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  Error e = error_of([&] { store.load("m"); });
  BOOST_TEST((e.code() == ErrorCode::corrupt), e.what());
  BOOST_TEST(contains(e.what(), store.db_file().string()), e.what());
  e = error_of([&] { store.list(); });
  BOOST_TEST((e.code() == ErrorCode::corrupt), e.what());
}

BOOST_AUTO_TEST_CASE(missing_weight_rows) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "1024";
  store.save("m", versioned(1, 5000));
  Sql(store.db_file()).exec("DELETE FROM weight_chunks WHERE seq = 2");
  Error e = error_of([&] { store.load("m"); });
  BOOST_TEST((e.code() == ErrorCode::corrupt), e.what());
  BOOST_TEST(contains(e.what(), "is incomplete: expected 5000 bytes in 5 chunks"), e.what());
  BOOST_TEST(contains(e.what(), store.db_file().string()), e.what());
  store.save("m", versioned(2, 5000));  // a save replaces the damaged version
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(2)));
}

BOOST_AUTO_TEST_CASE(newer_schema_version) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", model_tsd());
  Sql(store.db_file()).exec("PRAGMA user_version=2");
  for (auto fn : std::initializer_list<std::function<void()>>{[&] { store.load("m"); }, [&] { store.save("m", model_tsd(24)); },
                                                               [&] { store.list(); }}) {
    Error e = error_of(fn);
    BOOST_TEST((e.code() == ErrorCode::unimplemented), e.what());
    BOOST_TEST(contains(e.what(), "schema version 2, newer than this indexeddb plugin understands (1)"), e.what());
    BOOST_TEST(contains(e.what(), store.db_file().string()), e.what());
  }
  Sql sql(store.db_file());
  BOOST_TEST(sql.value("SELECT weightDataBytes FROM model_info_store") == "16");  // untouched
}

BOOST_AUTO_TEST_CASE(foreign_sqlite_database) {
  TempDir tmp;
  Store store{tmp.path()};
  fs::create_directories(store.db_file().parent_path());
  Sql(store.db_file()).exec("CREATE TABLE notes(x); INSERT INTO notes VALUES('mine')");
  Error e = error_of([&] { store.save("m", model_tsd()); });
  BOOST_TEST((e.code() == ErrorCode::corrupt), e.what());
  BOOST_TEST(contains(e.what(), "not a modelport IndexedDB store"), e.what());
  BOOST_TEST(error_of([&] { store.load("m"); }).code() == ErrorCode::corrupt);
  BOOST_TEST(Sql(store.db_file()).value("SELECT x FROM notes") == "mine");
}

BOOST_AUTO_TEST_CASE(refused_models_and_options) {
  TempDir tmp;
  Store store{tmp.path()};
  ModelArtifacts binary = model_tsd();
  binary.model_topology = ModelTopology(Buffer::copy_of(std::string_view("\0\1graphdef", 10)));
  Error e = error_of([&] { store.save("m", binary); });
  BOOST_TEST(std::string(e.what()) == "BrowserLocalStorage.save() does not support saving model topology in binary formats yet.");
  e = error_of([&] { store.save("m", ModelArtifacts{}); });
  BOOST_TEST((e.code() == ErrorCode::invalid_argument), e.what());
  e = error_of([&] { store.load("bad\xff\xfe"); });
  BOOST_TEST((e.code() == ErrorCode::invalid_argument), e.what());
  BOOST_TEST(contains(e.what(), "bad\\xff\\xfe"), e.what());
  for (auto [key, value] : std::initializer_list<std::pair<const char*, const char*>>{
           {"chunk_bytes", "0"}, {"chunk_bytes", "4M"}, {"journal_mode", "memory"}, {"synchronous", "sometimes"},
           {"busy_timeout_ms", "-1"}, {"max_page_count", "0"}}) {
    Store s = store;
    s.options[key] = value;
    e = error_of([&] { s.save("m", model_tsd()); });
    BOOST_TEST((e.code() == ErrorCode::invalid_argument), key << "=" << value << ": " << e.what());
    BOOST_TEST(contains(e.what(), key), e.what());
  }
  BOOST_TEST(store.list().empty());
}

// Tests run as root, which may write anywhere: the checks run in a child that drops to an
// unprivileged user.
BOOST_AUTO_TEST_CASE(read_only_folder) {
  TempDir tmp;
  Store store{tmp.path()};
  ModelArtifacts first = versioned(1, 5000);
  store.save("m", first);
  fs::permissions(tmp.path(), fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec | fs::perms::others_read |
                                  fs::perms::others_exec);
  for (const auto& p : fs::recursive_directory_iterator(tmp.path())) {
    fs::permissions(p.path(), p.is_directory() ? fs::perms(0555) : fs::perms(0444));
  }
  int code = in_child([&] {
    if (::geteuid() == 0 && (::setgid(65534) != 0 || ::setuid(65534) != 0)) return 10;
    // Reading works from a read-only store (rollback journal: nothing to write for a reader).
    if (version_of(store.load("m")) != std::optional<std::uint64_t>(1)) return 11;
    if (store.list().size() != 1) return 12;
    try {
      store.save("m", versioned(2, 5000));
      return 13;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::permission_denied) return 14;
      if (!contains(e.what(), store.db_file().string())) return 15;
    }
    try {
      store.remove("indexeddb://m");
      return 16;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::permission_denied) return 17;
    }
    // A new origin cannot even get its folder.
    Store fresh = store;
    fresh.origin = "fresh";
    try {
      fresh.save("m", versioned(3, 10));
      return 18;
    } catch (const Error& e) {
      if (e.code() != ErrorCode::permission_denied) return 19;
      if (!contains(e.what(), (tmp.path() / "indexeddb" / "fresh").string())) return 20;
    }
    return 0;
  });
  BOOST_TEST(code == 0, "child exit code " << code);
  for (const auto& p : fs::recursive_directory_iterator(tmp.path())) {
    fs::permissions(p.path(), p.is_directory() ? fs::perms(0755) : fs::perms(0644));
  }
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(1)));
}

BOOST_AUTO_TEST_CASE(full_database_keeps_the_previous_model) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", versioned(1, 100000));
  SaveResult before = store.save("other", model_tsd());
  Store capped = store;
  capped.options["max_page_count"] = "40";  // 2.5 MiB of 64 KiB pages
  Error e = error_of([&] { capped.save("m", versioned(2, 8 << 20)); });
  BOOST_TEST((e.code() == ErrorCode::quota_exceeded), e.what());
  BOOST_TEST(contains(e.what(), "Failed to save model 'm' to IndexedDB"), e.what());
  BOOST_TEST(contains(e.what(), store.db_file().string()), e.what());
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(1)));
  BOOST_TEST(store.list().size() == 2u);
  BOOST_TEST(Sql(store.db_file()).value("PRAGMA integrity_check") == "ok");
  capped.save("small", versioned(3, 1000));  // what fits still fits
}

BOOST_AUTO_TEST_CASE(disk_full_keeps_the_previous_model) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", versioned(1, 100000));
  const std::uint64_t size = fs::file_size(store.db_file());
  // A child whose file size limit is just above the database stands in for a full disk (EFBIG).
  int code = in_child([&] {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit limit{size + 65536, size + 65536};
    ::setrlimit(RLIMIT_FSIZE, &limit);
    try {
      store.save("m", versioned(2, 8 << 20));
      return 3;
    } catch (const Error& e) {
      std::fprintf(stderr, "disk full child: %s\n", e.what());
      if (e.code() != ErrorCode::quota_exceeded) return 4;
      if (!contains(e.what(), store.db_file().string())) return 5;
    }
    return 0;
  });
  BOOST_TEST(code == 0, "child exit code " << code);
  BOOST_TEST(Sql(store.db_file()).value("PRAGMA integrity_check") == "ok");
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(1)));
}

BOOST_AUTO_TEST_CASE(cancelled_save_keeps_the_previous_model) {
  TempDir tmp;
  Store store{tmp.path()};
  store.options["chunk_bytes"] = "65536";
  store.save("m", versioned(1, 1000));
  std::stop_source stop;
  SaveOptions o = store.with_options<SaveOptions>();
  o.cancel = stop.get_token();
  o.on_progress = [&](const Progress& p) {
    if (p.bytes_done >= 4 * 65536) stop.request_stop();
  };
  Error e = error_of([&] { modelport::save("indexeddb://m", versioned(2, 1 << 20), o, env().routers); });
  BOOST_TEST((e.code() == ErrorCode::cancelled), e.what());
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(1)));
}

// A writer that holds the database longer than busy_timeout_ms: the save gives up with
// unavailable; readers still read while the writer has not started to commit.
BOOST_AUTO_TEST_CASE(busy_database) {
  TempDir tmp;
  Store store{tmp.path()};
  store.save("m", versioned(1, 1000));
  Sql holder(store.db_file());
  holder.exec("BEGIN IMMEDIATE");
  Store impatient = store;
  impatient.options["busy_timeout_ms"] = "200";
  auto start = std::chrono::steady_clock::now();
  Error e = error_of([&] { impatient.save("m", versioned(2, 1000)); });
  BOOST_TEST((e.code() == ErrorCode::unavailable), e.what());
  BOOST_TEST(contains(e.what(), "busy_timeout_ms=200"), e.what());
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::seconds(5)));
  BOOST_TEST((version_of(impatient.load("m")) == std::optional<std::uint64_t>(1)));
  holder.exec("ROLLBACK");
  impatient.save("m", versioned(2, 1000));
  BOOST_TEST((version_of(store.load("m")) == std::optional<std::uint64_t>(2)));
}

BOOST_AUTO_TEST_SUITE_END()
