// The indexeddb:// store: TensorFlow.js's browser model database ("tensorflowjs", object stores
// models_store and model_info_store keyed by modelPath) kept in one SQLite file per origin. See
// plugins/indexeddb/README.md for the layout, the options and the journal settings.
#pragma once

#include <modelport/plugin.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace modelport::indexeddb_plugin {

namespace fs = std::filesystem;

inline constexpr std::string_view kPrefix = "indexeddb://";
inline constexpr std::int64_t kSchemaVersion = 1;           // PRAGMA user_version
inline constexpr std::int64_t kApplicationId = 0x6d704442;  // PRAGMA application_id, "mpDB"
inline constexpr std::uint64_t kDefaultChunkBytes = 4u << 20;
inline constexpr std::uint64_t kMinChunkBytes = 1u << 10;
inline constexpr std::uint64_t kMaxChunkBytes = 512u << 20;  // below SQLite's 1e9-byte value limit

enum class JournalMode { truncate, persist, del, wal };
enum class Synchronous { off, normal, full, extra };

struct StoreSettings {
  fs::path data_dir;       // absolute
  std::string origin = "default";
  std::uint64_t chunk_bytes = kDefaultChunkBytes;
  std::chrono::milliseconds busy_timeout{120000};
  std::optional<std::int64_t> max_page_count;   // a size limit for the database, in pages
  std::optional<JournalMode> journal_mode;      // unset: a new database gets truncate, an existing one keeps its mode
  std::optional<Synchronous> synchronous;       // unset: full (rollback journal), normal (wal)

  // <data_dir>/indexeddb/<encoded origin>/tensorflowjs.sqlite
  fs::path database_file() const;
};

// Looks a plugin option up (sdk::Context::option, or anything else in tests).
using OptionLookup = std::function<std::optional<std::string_view>(std::string_view)>;

// Options first, then the environment: data folder = option data_dir, else MODELPORT_DATA_DIR,
// else $XDG_DATA_HOME/modelport, else ~/.local/share/modelport; origin = option origin, else
// MODELPORT_ORIGIN, else "default". Throws sdk::Error(invalid_argument) for bad values.
StoreSettings resolve_settings(const OptionLookup& option);
StoreSettings resolve_settings(const sdk::Context& context);

// The origin as a folder name, as localstorage:// names its files: [A-Za-z0-9._-] kept (a leading
// '.' escaped), every other byte %XX; at most 240 characters.
std::string encode_origin(std::string_view origin);

// The model path of an indexeddb:// URL (a leading "indexeddb://" is removed, once). Empty ->
// invalid_argument "For IndexedDB, modelPath must not be null, undefined or empty."
std::string model_path_of(std::string_view url);

void save_model(const StoreSettings& settings, const std::string& model_path, const sdk::ArtifactsView& artifacts,
                const sdk::Context& context, sdk::SaveResult& result);
void load_model(const StoreSettings& settings, const std::string& model_path, const sdk::Context& context,
                sdk::LoadSink& sink);
// Models whose path starts with `path_prefix` (all for ""), from model_info_store only.
void list_models(const StoreSettings& settings, std::string_view path_prefix, sdk::ListSink& sink);
sdk::ModelInfo remove_model(const StoreSettings& settings, const std::string& model_path);

// navigator.storage.estimate() for one origin.
struct StorageEstimate {
  std::uint64_t usage = 0;           // bytes of the origin's files: database, journal or WAL, shared memory
  std::uint64_t quota = 0;           // usage + what can still be written (free disk, or the max_page_count room)
  std::uint64_t database_bytes = 0;  // page_count * page_size
  std::uint64_t free_bytes = 0;      // freelist pages: space of removed or replaced models, reused by later saves
  std::uint64_t model_count = 0;
  std::uint64_t weight_bytes = 0;    // sum of weightDataBytes over the models
};
StorageEstimate estimate_storage(const StoreSettings& settings);

}  // namespace modelport::indexeddb_plugin
