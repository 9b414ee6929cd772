#include "web_storage.hpp"

#include <modelport/plugin_storage.hpp>

#include "tfjs_layout.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <map>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelport::localstorage {

namespace {

using Kind = StoreError::Kind;

constexpr int kApplicationId = 0x6D706C73;  // "mpls"
constexpr int kSchemaVersion = 1;

// The schema (see web_storage.hpp). Changing it means a new user_version and a migration.
constexpr const char* kSchema =
    "CREATE TABLE IF NOT EXISTS items("
    "seq INTEGER PRIMARY KEY, "
    "key TEXT NOT NULL UNIQUE, "
    "units INTEGER NOT NULL, "
    "value TEXT NOT NULL)";

}  // namespace

// ---- Unicode ---------------------------------------------------------------------------------------

std::optional<std::uint64_t> utf16_length(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  std::uint64_t units = 0;
  while (p < end) {
    // ASCII runs (base64, most JSON) eight bytes at a time.
    while (end - p >= 8) {
      std::uint64_t word;
      std::memcpy(&word, p, 8);
      if (word & 0x8080808080808080ull) break;
      units += 8;
      p += 8;
    }
    if (p == end) break;
    const unsigned char c = *p;
    if (c < 0x80) {
      ++units;
      ++p;
      continue;
    }
    std::size_t need;
    std::uint32_t cp;
    if (c >= 0xC2 && c <= 0xDF) {
      need = 1;
      cp = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      need = 2;
      cp = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      need = 3;
      cp = c & 0x07u;
    } else {
      return std::nullopt;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
    }
    if (static_cast<std::size_t>(end - p) <= need) return std::nullopt;
    for (std::size_t i = 1; i <= need; ++i) {
      if ((p[i] & 0xC0u) != 0x80u) return std::nullopt;
      cp = (cp << 6) | (p[i] & 0x3Fu);
    }
    if ((need == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (need == 3 && (cp < 0x10000 || cp > 0x10FFFF))) {
      return std::nullopt;
    }
    units += need == 3 ? 2 : 1;  // astral characters are surrogate pairs in UTF-16
    p += need + 1;
  }
  return units;
}

// ---- Locations -------------------------------------------------------------------------------------

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

fs::path absolute_path(const fs::path& p) {
  std::error_code ec;
  fs::path a = fs::absolute(p, ec);
  return (ec ? p : a).lexically_normal();
}


}  // namespace

fs::path default_data_dir() {
  if (auto dir = modelport::sdk::default_data_folder()) return absolute_path(*dir);
  throw StoreError(Kind::invalid_argument,
                   "cannot find the data folder for localStorage: set MODELPORT_DATA_DIR (HOME is not set)");
}

std::string default_origin() { return env("MODELPORT_ORIGIN").value_or("default"); }

std::string origin_file_stem(std::string_view origin) {
  if (origin.empty()) throw StoreError(Kind::invalid_argument, "the localStorage origin must not be empty");
  const std::string out = modelport::sdk::escape_origin(origin);
  // NAME_MAX is 255 on every file system we care about; ".sqlite-wal" must fit too.
  if (out.size() > 240) {
    throw StoreError(Kind::invalid_argument, "the localStorage origin '" + std::string(origin) +
                                                 "' is too long to name a file (" + std::to_string(out.size()) +
                                                 " characters once escaped; at most 240)");
  }
  return out;
}

StoreLocation store_location(std::optional<std::string_view> data_dir, std::optional<std::string_view> origin) {
  StoreLocation l;
  l.data_dir = data_dir ? absolute_path(fs::path(std::string(*data_dir))) : default_data_dir();
  l.origin = origin ? std::string(*origin) : default_origin();
  l.file = l.data_dir / "localstorage" / (origin_file_stem(l.origin) + ".sqlite");
  return l;
}

std::uint64_t parse_quota(std::string_view text, std::string_view what) {
  if (text == "unlimited") return kUnlimitedQuota;
  std::uint64_t value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || err != std::errc() || end != text.data() + text.size()) {
    throw StoreError(Kind::invalid_argument, std::string(what) + "=" + std::string(text) +
                                                 " must be a number of UTF-16 code units (e.g. 5242880) or 'unlimited'");
  }
  return value;
}

std::uint64_t resolve_quota(std::optional<std::string_view> explicit_value) {
  if (explicit_value) return parse_quota(*explicit_value, "quota");
  if (auto v = env("MODELPORT_LOCALSTORAGE_QUOTA")) return parse_quota(*v, "MODELPORT_LOCALSTORAGE_QUOTA");
  return kDefaultQuotaUnits;
}

// ---- The store -------------------------------------------------------------------------------------

struct WebStorage::Impl {
  fs::path file;
  Options options;
  sqlite3* db = nullptr;
  std::map<std::string, sqlite3_stmt*, std::less<>> statements;
  int depth = 0;        // transaction nesting
  bool writing = false;  // the open transaction is a write transaction
  std::optional<std::uint64_t> used;  // cached within a write transaction

  ~Impl() { close(); }

  void close() noexcept {
    for (auto& [sql, stmt] : statements) sqlite3_finalize(stmt);
    statements.clear();
    if (db) sqlite3_close_v2(db);
    db = nullptr;
  }

  [[noreturn]] void fail(int rc, const std::string& doing) const {
    const std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const std::string where = "localStorage store '" + file.string() + "'";
    switch (rc & 0xFF) {
      case SQLITE_NOTADB:
      case SQLITE_CORRUPT:
        throw StoreError(Kind::corrupt, "the " + where + " is unreadable (" + detail + ") while " + doing +
                                            "; move it aside to start an empty store");
      case SQLITE_BUSY:
      case SQLITE_LOCKED:
        throw StoreError(Kind::unavailable, "the " + where + " stayed locked by another writer for more than " +
                                                std::to_string(options.busy_timeout_ms) + " ms while " + doing);
      case SQLITE_PERM:
      case SQLITE_READONLY:
      case SQLITE_AUTH:
        throw StoreError(Kind::permission_denied, "cannot write the " + where + " (" + detail + ") while " + doing);
      case SQLITE_CANTOPEN: {
        const int err = db ? sqlite3_system_errno(db) : 0;
        throw StoreError(err == EACCES || err == EPERM ? Kind::permission_denied : Kind::io,
                         "cannot open the " + where + " (" + detail + (err ? std::string(": ") + std::strerror(err) : "") +
                             ") while " + doing);
      }
      case SQLITE_FULL:
        throw StoreError(Kind::quota_exceeded, "the disk holding the " + where + " is full while " + doing);
      case SQLITE_TOOBIG:
        throw StoreError(Kind::quota_exceeded, "a value is too large for the " + where + " (" + detail + ") while " + doing);
      default:
        throw StoreError(Kind::io, "the " + where + " failed (" + detail + ") while " + doing);
    }
  }

  void check(int rc, const std::string& doing) const {
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) fail(rc, doing);
  }

  void exec(const char* sql, const std::string& doing) { check(sqlite3_exec(db, sql, nullptr, nullptr, nullptr), doing); }

  // A cached prepared statement, reset and unbound.
  sqlite3_stmt* statement(const char* sql) {
    auto it = statements.find(sql);
    if (it != statements.end()) {
      sqlite3_reset(it->second);
      sqlite3_clear_bindings(it->second);
      return it->second;
    }
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr), "preparing a query");
    statements.emplace(sql, stmt);
    return stmt;
  }

  static void bind_text(sqlite3_stmt* stmt, int index, std::string_view text) {
    // SQLITE_STATIC: the text outlives the step; no copy of a large value. (A null pointer would
    // bind SQL NULL, not an empty string.)
    sqlite3_bind_text64(stmt, index, text.data() ? text.data() : "", text.size(), SQLITE_STATIC, SQLITE_UTF8);
  }

  static std::string_view column_text(sqlite3_stmt* stmt, int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, column));
    const int size = sqlite3_column_bytes(stmt, column);
    return text ? std::string_view(text, static_cast<std::size_t>(size)) : std::string_view();
  }

  // Steps a statement that returns no rows, then resets it.
  void run(sqlite3_stmt* stmt, const std::string& doing) {
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc != SQLITE_DONE) fail(rc, doing);
  }

  void open() {
    std::error_code ec;
    const bool exists = fs::exists(file, ec);
    if (options.mode == Mode::read_only && !exists) return;  // an empty store; nothing is created
    if (!exists) {
      const fs::path folder = file.parent_path();
      if (!fs::is_directory(folder, ec)) {
        fs::create_directories(folder, ec);
        if (ec) {
          throw StoreError(ec == std::errc::permission_denied ? Kind::permission_denied : Kind::io,
                           "cannot create the localStorage folder '" + folder.string() + "': " + ec.message());
        }
        ::chmod(folder.c_str(), 0700);  // origins' data is the user's own
      }
    }
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (options.mode == Mode::read_write ? SQLITE_OPEN_CREATE : 0);
    int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
    if (rc != SQLITE_OK) fail(rc, "opening it");
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, options.busy_timeout_ms);
    // The first read of the header: a file that is not a database fails here (SQLITE_NOTADB).
    const std::string mode = pragma_text("PRAGMA journal_mode", "reading its header");
    check_schema();  // before anything is changed: a database that is not a store stays untouched
    if (!db) return;
    if (options.mode == Mode::read_write && mode != "wal") {
      // Persistent: set once for the file, by the first writer.
      pragma_text("PRAGMA journal_mode=WAL", "switching it to write-ahead logging");
    }
    exec("PRAGMA synchronous=FULL", "configuring durability");
    exec("PRAGMA journal_size_limit=67108864", "configuring the log size");
  }

  std::string pragma_text(const char* sql, const std::string& doing) {
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), doing);
    int rc = sqlite3_step(stmt);
    std::string out = rc == SQLITE_ROW ? std::string(column_text(stmt, 0)) : std::string();
    sqlite3_finalize(stmt);
    check(rc, doing);
    return out;
  }

  std::int64_t pragma_int(const char* sql, const std::string& doing) {
    sqlite3_stmt* stmt = nullptr;
    check(sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr), doing);
    int rc = sqlite3_step(stmt);
    std::int64_t out = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    check(rc, doing);
    return out;
  }

  bool has_items_table() {
    return pragma_int("SELECT count(*) FROM sqlite_master WHERE type='table' AND name='items'", "reading its schema") > 0;
  }

  void check_schema() {
    if (has_items_table()) {
      verify_identity();
      return;
    }
    if (options.mode == Mode::read_only) {
      if (pragma_int("SELECT count(*) FROM sqlite_master", "reading its schema") != 0) not_a_store();
      close();  // an empty database (a zero-byte file, say) is an empty store
      return;
    }
    // Free pages go back to the file system on compact(). Only possible before the first table
    // exists, and not inside a transaction (a no-op if another process created the store first).
    exec("PRAGMA auto_vacuum=INCREMENTAL", "creating the store");
    // Create it under the write lock, so two processes creating the same store take turns.
    exec("BEGIN IMMEDIATE", "creating the store");
    try {
      if (!has_items_table()) {
        if (pragma_int("SELECT count(*) FROM sqlite_master", "reading its schema") != 0) not_a_store();
        exec(kSchema, "creating the store");
        exec(("PRAGMA application_id=" + std::to_string(kApplicationId)).c_str(), "creating the store");
        exec(("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str(), "creating the store");
      }
      exec("COMMIT", "creating the store");
    } catch (...) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      throw;
    }
    verify_identity();
  }

  void verify_identity() {
    const std::int64_t app = pragma_int("PRAGMA application_id", "reading its header");
    const std::int64_t version = pragma_int("PRAGMA user_version", "reading its header");
    if (app != kApplicationId) not_a_store();
    if (version > kSchemaVersion) {
      throw StoreError(Kind::corrupt, "the localStorage store '" + file.string() + "' has schema version " +
                                          std::to_string(version) + ", newer than this modelport understands (" +
                                          std::to_string(kSchemaVersion) + ")");
    }
  }

  [[noreturn]] void not_a_store() const {
    throw StoreError(Kind::corrupt, "'" + file.string() +
                                        "' is a SQLite database but not a modelport localStorage store "
                                        "(application_id is not 0x6D706C73); it was left untouched");
  }

  void require_writable(std::string_view what) const {
    if (options.mode == Mode::read_only) {
      throw StoreError(Kind::permission_denied, "cannot " + std::string(what) + ": the localStorage store '" +
                                                    file.string() + "' was opened read-only");
    }
  }

  std::uint64_t used_units() {
    if (!db) return 0;
    if (writing && used) return *used;
    sqlite3_stmt* stmt = statement("SELECT COALESCE(SUM(units), 0) FROM items");
    int rc = sqlite3_step(stmt);
    std::uint64_t total = rc == SQLITE_ROW ? static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0)) : 0;
    sqlite3_reset(stmt);
    check(rc, "measuring its size");
    if (writing) used = total;
    return total;
  }

  std::optional<std::uint64_t> units_of(std::string_view key) {
    sqlite3_stmt* stmt = statement("SELECT units FROM items WHERE key = ?1");
    bind_text(stmt, 1, key);
    int rc = sqlite3_step(stmt);
    std::optional<std::uint64_t> out;
    if (rc == SQLITE_ROW) out = static_cast<std::uint64_t>(sqlite3_column_int64(stmt, 0));
    sqlite3_reset(stmt);
    check(rc, "reading an item");
    return out;
  }
};

WebStorage::WebStorage(fs::path file, Options options) : impl_(std::make_unique<Impl>()) {
  impl_->file = std::move(file);
  impl_->options = options;
  impl_->open();
}

WebStorage::~WebStorage() = default;
WebStorage::WebStorage(WebStorage&&) noexcept = default;
WebStorage& WebStorage::operator=(WebStorage&&) noexcept = default;

std::uint64_t WebStorage::quota() const noexcept { return impl_->options.quota; }
const fs::path& WebStorage::file() const noexcept { return impl_->file; }
bool WebStorage::exists() const noexcept { return impl_->db != nullptr; }

bool WebStorage::begin(bool write) {
  Impl& m = *impl_;
  if (m.depth > 0) {
    if (write && !m.writing) throw std::logic_error("WebStorage: a write transaction cannot be nested in a read transaction");
    ++m.depth;
    return false;
  }
  if (write) m.require_writable("write");
  if (m.db) m.exec(write ? "BEGIN IMMEDIATE" : "BEGIN DEFERRED", write ? "taking the write lock" : "starting a read");
  m.depth = 1;
  m.writing = write;
  m.used.reset();
  return true;
}

void WebStorage::commit() {
  Impl& m = *impl_;
  m.depth = 0;
  m.used.reset();
  if (!m.db) return;
  int rc = sqlite3_exec(m.db, "COMMIT", nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) {
    sqlite3_exec(m.db, "ROLLBACK", nullptr, nullptr, nullptr);
    m.fail(rc, "committing");
  }
}

void WebStorage::rollback() noexcept {
  Impl& m = *impl_;
  m.depth = 0;
  m.used.reset();
  if (m.db && !sqlite3_get_autocommit(m.db)) sqlite3_exec(m.db, "ROLLBACK", nullptr, nullptr, nullptr);
}

std::size_t WebStorage::length() {
  Impl& m = *impl_;
  if (!m.db) return 0;
  sqlite3_stmt* stmt = m.statement("SELECT count(*) FROM items");
  int rc = sqlite3_step(stmt);
  std::size_t n = rc == SQLITE_ROW ? static_cast<std::size_t>(sqlite3_column_int64(stmt, 0)) : 0;
  sqlite3_reset(stmt);
  m.check(rc, "counting keys");
  return n;
}

std::optional<std::string> WebStorage::key(std::size_t index) {
  Impl& m = *impl_;
  if (!m.db) return std::nullopt;
  sqlite3_stmt* stmt = m.statement("SELECT key FROM items ORDER BY seq LIMIT 1 OFFSET ?1");
  sqlite3_bind_int64(stmt, 1, static_cast<sqlite3_int64>(std::min<std::size_t>(index, INT64_MAX)));
  int rc = sqlite3_step(stmt);
  std::optional<std::string> out;
  if (rc == SQLITE_ROW) out = std::string(Impl::column_text(stmt, 0));
  sqlite3_reset(stmt);
  m.check(rc, "reading a key");
  return out;
}

bool WebStorage::visit_item(std::string_view key, const std::function<void(std::string_view)>& fn) {
  Impl& m = *impl_;
  if (!m.db) return false;
  sqlite3_stmt* stmt = m.statement("SELECT value FROM items WHERE key = ?1");
  Impl::bind_text(stmt, 1, key);
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) {
    sqlite3_reset(stmt);
    m.check(rc, "reading '" + std::string(key) + "'");
    return false;
  }
  try {
    fn(Impl::column_text(stmt, 0));
  } catch (...) {
    sqlite3_reset(stmt);
    throw;
  }
  sqlite3_reset(stmt);
  return true;
}

std::optional<std::string> WebStorage::get_item(std::string_view key) {
  std::optional<std::string> out;
  visit_item(key, [&](std::string_view value) { out.emplace(value); });
  return out;
}

void WebStorage::set_item(std::string_view key, std::string_view value) {
  Impl& m = *impl_;
  m.require_writable("set '" + std::string(key) + "'");
  const auto key_units = utf16_length(key);
  if (!key_units) {
    throw StoreError(Kind::invalid_argument, "a localStorage key must be well-formed Unicode text (it holds invalid UTF-8 "
                                             "or a lone UTF-16 surrogate)");
  }
  const auto value_units = utf16_length(value);
  if (!value_units) {
    throw StoreError(Kind::invalid_argument, "the value for localStorage key '" + std::string(key) +
                                                 "' is not well-formed Unicode text (it holds invalid UTF-8 or a lone UTF-16 "
                                                 "surrogate)");
  }
  const std::uint64_t units = *key_units + *value_units;
  write_transaction([&] {
    const std::uint64_t used = m.used_units();
    const std::uint64_t old = m.units_of(key).value_or(0);
    const std::uint64_t after = used - std::min(used, old) + units;
    if (units > old && after > m.options.quota) {
      throw StoreError(Kind::quota_exceeded,
                       "setting localStorage key '" + std::string(key) + "' (" + std::to_string(units) +
                           " UTF-16 code units with its key) would bring origin store '" + m.file.string() + "' to " +
                           std::to_string(after) + " code units, over its quota of " + std::to_string(m.options.quota));
    }
    sqlite3_stmt* stmt = m.statement(
        "INSERT INTO items(key, units, value) VALUES(?1, ?2, ?3) "
        "ON CONFLICT(key) DO UPDATE SET units = excluded.units, value = excluded.value");
    Impl::bind_text(stmt, 1, key);
    sqlite3_bind_int64(stmt, 2, static_cast<sqlite3_int64>(units));
    Impl::bind_text(stmt, 3, value);
    m.run(stmt, "setting '" + std::string(key) + "'");
    m.used = after;
  });
}

void WebStorage::remove_item(std::string_view key) {
  Impl& m = *impl_;
  if (!m.db) return;
  write_transaction([&] {
    const auto old = m.units_of(key);
    if (!old) return;
    sqlite3_stmt* stmt = m.statement("DELETE FROM items WHERE key = ?1");
    Impl::bind_text(stmt, 1, key);
    m.run(stmt, "removing '" + std::string(key) + "'");
    if (m.used) m.used = *m.used - std::min(*m.used, *old);
  });
}

void WebStorage::clear() {
  Impl& m = *impl_;
  if (!m.db) return;
  write_transaction([&] {
    m.run(m.statement("DELETE FROM items"), "clearing it");
    m.used = 0;
  });
  compact();
}

void WebStorage::compact() noexcept {
  Impl& m = *impl_;
  if (m.db && m.depth == 0 && m.options.mode == Mode::read_write) {
    sqlite3_exec(m.db, "PRAGMA incremental_vacuum", nullptr, nullptr, nullptr);
  }
}

std::vector<std::string> WebStorage::keys() { return keys_with_prefix({}); }

std::vector<std::string> WebStorage::keys_with_prefix(std::string_view prefix) {
  Impl& m = *impl_;
  std::vector<std::string> out;
  if (!m.db) return out;
  // Keys compare as bytes (BINARY collation), so the keys starting with `prefix` are the range
  // [prefix, prefix with its last byte incremented): one walk of the key index.
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (!end.empty()) end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  sqlite3_stmt* stmt = end.empty() ? m.statement("SELECT key FROM items WHERE key >= ?1 ORDER BY seq")
                                   : m.statement("SELECT key FROM items WHERE key >= ?1 AND key < ?2 ORDER BY seq");
  Impl::bind_text(stmt, 1, prefix);
  if (!end.empty()) Impl::bind_text(stmt, 2, end);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) out.emplace_back(Impl::column_text(stmt, 0));
  sqlite3_reset(stmt);
  m.check(rc, "listing keys");
  return out;
}

void WebStorage::for_each(const std::function<void(std::string_view, std::string_view)>& fn) {
  Impl& m = *impl_;
  if (!m.db) return;
  read_transaction([&] {
    sqlite3_stmt* stmt = m.statement("SELECT key, value FROM items ORDER BY seq");
    int rc;
    try {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) fn(Impl::column_text(stmt, 0), Impl::column_text(stmt, 1));
    } catch (...) {
      sqlite3_reset(stmt);
      throw;
    }
    sqlite3_reset(stmt);
    m.check(rc, "reading every item");
  });
}

std::uint64_t WebStorage::used_units() { return impl_->used_units(); }

std::vector<std::string> purge_local_storage_artifacts(WebStorage& storage) {
  const std::string prefix = std::string(kModelsPrefix) + "/";
  std::vector<std::string> paths;
  storage.write_transaction([&] {
    for (const std::string& key : storage.keys_with_prefix(prefix)) {
      if (key.size() <= prefix.size()) continue;
      storage.remove_item(key);
      // tfjs's getModelPathFromKey: the segments between the first and the last. A key with fewer
      // than 3 segments makes tfjs throw half-way; here it is removed like the others.
      const auto last = key.rfind('/');
      if (last < prefix.size()) continue;
      std::string path = key.substr(prefix.size(), last - prefix.size());
      if (std::find(paths.begin(), paths.end(), path) == paths.end()) paths.push_back(std::move(path));
    }
  });
  storage.compact();
  return paths;
}

}  // namespace modelport::localstorage
