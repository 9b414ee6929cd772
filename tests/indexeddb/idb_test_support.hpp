// Helpers shared by the indexeddb:// test programs: the plugin loaded the production way, a store
// (data folder + origin) passed as plugin options, deterministic "versioned" models whose
// content can be recognised after a crash, and a little direct SQLite access for checking the
// database itself.
#pragma once

#include <boost/test/unit_test.hpp>

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>

#include "plugin_env.hpp"
#include "test_support.hpp"
#include "test_errors.hpp"

#include <sqlite3.h>

#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace modelport {
// Lets BOOST_TEST print an ErrorCode on failure (found by ADL).
inline std::ostream& boost_test_print_type(std::ostream& os, ErrorCode code) { return os << to_string(code); }
}  // namespace modelport

namespace idbtest {

using modelport::test::error_of;

namespace bj = boost::json;
namespace fs = std::filesystem;
using namespace modelport;

// One manager and registries per test program, with the indexeddb plugin loaded.
inline test::PluginEnv& env() {
  static auto* e = new test::PluginEnv{MODELPORT_INDEXEDDB_PLUGIN};
  return *e;
}

// A store: one data folder and origin, given to the plugin as options.
struct Store {
  explicit Store(fs::path dir) : data_dir(std::move(dir)) {}
  fs::path data_dir;
  std::string origin = "test";
  std::map<std::string, std::string> options;  // more plugin options

  template <class Options>
  Options with_options() const {
    Options o;
    o.plugin_options["data_dir"] = data_dir.string();
    o.plugin_options["origin"] = origin;
    for (const auto& [k, v] : options) o.plugin_options[k] = v;
    return o;
  }
  static std::string url(const std::string& path) { return "indexeddb://" + path; }
  SaveResult save(const std::string& path, const ModelArtifacts& a) const {
    return modelport::save(url(path), a, with_options<SaveOptions>(), env().routers);
  }
  ModelArtifacts load(const std::string& path) const {
    return modelport::load(url(path), with_options<LoadOptions>(), env().routers);
  }
  std::vector<ListedModel> list(const std::string& url = "indexeddb://") const {
    return modelport::list_models(url, with_options<CommonOptions>(), env().stores);
  }
  std::vector<std::string> listed_urls(const std::string& url = "indexeddb://") const {
    std::vector<std::string> out;
    for (const auto& m : list(url)) out.push_back(m.url);
    return out;
  }
  ModelArtifactsInfo remove(const std::string& url) const {
    return modelport::remove_model(url, with_options<CommonOptions>(), env().stores);
  }
  fs::path db_file() const { return data_dir / "indexeddb" / origin / "tensorflowjs.sqlite"; }
};


inline bool contains(std::string_view text, std::string_view part) { return text.find(part) != std::string_view::npos; }

// T, S and D of the tfjs tests (spec §6): a Dense topology, two float32 weights, 16 zero bytes.
inline bj::value topology_t() {
  return json::parse(
      R"({"class_name":"Sequential","keras_version":"2.1.4","config":[{"class_name":"Dense","config":{"kernel_initializer":)"
      R"({"class_name":"VarianceScaling","config":{"distribution":"uniform","scale":1,"seed":null,"mode":"fan_avg"}},)"
      R"("name":"dense","kernel_constraint":null,"bias_regularizer":null,"bias_constraint":null,"dtype":"float32",)"
      R"("activation":"linear","trainable":true,"kernel_regularizer":null,"bias_initializer":{"class_name":"Zeros",)"
      R"("config":{}},"units":1,"batch_input_shape":[null,3],"use_bias":true,"activity_regularizer":null}}],)"
      R"("backend":"tensorflow"})");
}

inline std::vector<WeightSpec> specs_s(std::size_t kernel_rows = 3) {
  WeightSpec kernel{"dense/kernel", {static_cast<std::int64_t>(kernel_rows), 1}, "float32", {}, {}, {}, {}};
  WeightSpec bias{"dense/bias", {1}, "float32", {}, {}, {}, {}};
  return {kernel, bias};
}

inline ModelArtifacts model_tsd(std::size_t weight_bytes = 16) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(topology_t());
  a.weight_specs = specs_s(weight_bytes / 4 - 1);
  a.weight_data = WeightData(Buffer::adopt(std::vector<std::byte>(weight_bytes)));
  return a;
}

// splitmix64: the byte stream of version v.
inline std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}
inline void fill_version_bytes(std::uint64_t version, std::uint64_t offset, std::span<std::byte> out) {
  std::size_t i = 0;
  while (i < out.size()) {
    const std::uint64_t at = offset + i;
    const std::uint64_t word = mix(version * 0x100000000ull + at / 8);
    for (std::uint64_t b = at % 8; b < 8 && i < out.size(); ++b, ++i) out[i] = static_cast<std::byte>(word >> (8 * b));
  }
}

// A model whose every byte follows from `version`: userDefinedMetadata {"version": v}, weight
// bytes from fill_version_bytes, split into `pieces` buffers.
inline ModelArtifacts versioned(std::uint64_t version, std::size_t bytes, std::size_t pieces = 3) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(topology_t());
  a.format = bj::value("layers-model");
  a.generated_by = bj::value("indexeddb tests");
  a.converted_by = bj::value(nullptr);
  a.user_defined_metadata = bj::value{{"version", version}, {"bytes", bytes}};
  WeightSpec w{"v/kernel", {static_cast<std::int64_t>(bytes)}, "uint8", {}, {}, {}, {}};
  a.weight_specs = std::vector<WeightSpec>{w};
  WeightData data;
  const std::size_t step = bytes / pieces + 1;
  for (std::size_t at = 0; at < bytes; at += step) {
    BufferBuilder b(std::min(step, bytes - at));
    fill_version_bytes(version, at, b.data());
    data.append(std::move(b).finish());
  }
  a.weight_data = std::move(data);
  return a;
}

// The version of a model made by versioned(), when every field and byte is what that version
// saved; nullopt for anything else (a mix of versions, a torn write, a foreign model).
inline std::optional<std::uint64_t> version_of(const ModelArtifacts& a) {
  if (!a.user_defined_metadata || !a.user_defined_metadata->is_object()) return std::nullopt;
  const auto& meta = a.user_defined_metadata->as_object();
  if (!meta.contains("version") || !meta.contains("bytes")) return std::nullopt;
  const auto version = meta.at("version").to_number<std::uint64_t>();
  const auto bytes = meta.at("bytes").to_number<std::uint64_t>();
  if (!a.weight_data || a.weight_data->size() != bytes || !a.weight_specs || a.weight_specs->size() != 1 ||
      a.weight_specs->front().shape.at(0) != static_cast<std::int64_t>(bytes)) {
    return std::nullopt;
  }
  std::vector<std::byte> want(1 << 20), got(1 << 20);
  for (std::uint64_t at = 0; at < bytes; at += want.size()) {
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(want.size(), bytes - at));
    fill_version_bytes(version, at, std::span(want.data(), n));
    a.weight_data->copy_to(at, std::span(got.data(), n));
    if (std::memcmp(want.data(), got.data(), n) != 0) return std::nullopt;
  }
  return version;
}

// Direct access to the database file, for checks of its layout and integrity.
class Sql {
 public:
  // Read-write, so that opening rolls back what a killed writer left in the journal.
  explicit Sql(const fs::path& file) {
    int rc = sqlite3_open_v2(file.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
    if (rc != SQLITE_OK) throw std::runtime_error("cannot open " + file.string() + ": " + sqlite3_errstr(rc));
    sqlite3_busy_timeout(db_, 10000);
  }
  ~Sql() { sqlite3_close_v2(db_); }
  Sql(const Sql&) = delete;
  Sql& operator=(const Sql&) = delete;

  // Every row of a query, each column as text ("NULL" for SQL NULL).
  std::vector<std::vector<std::string>> rows(const std::string& sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
      throw std::runtime_error("cannot prepare '" + sql + "': " + sqlite3_errmsg(db_));
    }
    std::vector<std::vector<std::string>> out;
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        const auto* text = sqlite3_column_text(stmt, c);
        row.push_back(sqlite3_column_type(stmt, c) == SQLITE_NULL
                          ? std::string("NULL")
                          : std::string(reinterpret_cast<const char*>(text), static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
      }
      out.push_back(std::move(row));
    }
    std::string error = rc == SQLITE_DONE ? std::string() : sqlite3_errmsg(db_);
    sqlite3_finalize(stmt);
    if (!error.empty()) throw std::runtime_error("'" + sql + "' failed: " + error);
    return out;
  }
  std::string value(const std::string& sql) {
    auto r = rows(sql);
    return r.empty() || r[0].empty() ? std::string() : r[0][0];
  }
  void exec(const std::string& sql) {
    char* message = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
    std::string text = message ? message : "";
    sqlite3_free(message);
    if (rc != SQLITE_OK) throw std::runtime_error("'" + sql + "' failed: " + text);
  }

 private:
  sqlite3* db_ = nullptr;
};

// Runs `fn` in a forked child and returns its exit status (the child's _Exit code, or 128+signal).
inline int in_child(const std::function<int()>& fn) {
  pid_t child = ::fork();
  if (child == 0) {
    int code = 99;
    try {
      code = fn();
    } catch (...) {
      code = 98;
    }
    std::_Exit(code);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace idbtest
