#include "sqlite_db.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>
#include <thread>

namespace modelport::indexeddb_plugin {

using sdk::Code;
using sdk::Error;

namespace {

bool is_space_errno(int e) { return e == ENOSPC || e == EDQUOT || e == EFBIG; }
bool is_permission_errno(int e) { return e == EACCES || e == EPERM || e == EROFS; }

int checked_int(std::uint64_t value, const char* what) {
  if (value > static_cast<std::uint64_t>(std::numeric_limits<int>::max())) {
    throw Error(Code::invalid_argument, std::string(what) + " of " + std::to_string(value) + " bytes is too large for SQLite");
  }
  return static_cast<int>(value);
}

}  // namespace

Code code_for(int result, int system_errno) {
  switch (result & 0xFF) {
    case SQLITE_FULL: return Code::quota_exceeded;
    case SQLITE_IOERR: return is_space_errno(system_errno) ? Code::quota_exceeded : Code::unavailable;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT: return Code::corrupt;
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return Code::permission_denied;
    case SQLITE_CANTOPEN:
      if (is_permission_errno(system_errno)) return Code::permission_denied;
      if (system_errno == ENOENT || system_errno == ENOTDIR) return Code::not_found;
      return Code::unavailable;
    case SQLITE_BUSY:
    case SQLITE_LOCKED: return Code::unavailable;
    case SQLITE_INTERRUPT: return Code::cancelled;
    case SQLITE_TOOBIG: return Code::invalid_argument;
    case SQLITE_NOMEM: return Code::internal;
    default: return Code::internal;
  }
}

// ---- Statement ---------------------------------------------------------------------------

Statement::Statement(Database& db, std::string_view sql) : db_(&db) {
  int rc = sqlite3_prepare_v3(db.handle(), sql.data(), checked_int(sql.size(), "an SQL statement"), 0, &stmt_, nullptr);
  if (rc != SQLITE_OK) db.fail(rc, db.operation().empty() ? "preparing a statement" : db.operation());
}

Statement::~Statement() {
  if (stmt_) sqlite3_finalize(stmt_);
}

Statement& Statement::bind(int index, std::int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (rc != SQLITE_OK) db_->fail(rc, db_->operation());
  return *this;
}

Statement& Statement::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
  if (rc != SQLITE_OK) db_->fail(rc, db_->operation());
  return *this;
}

Statement& Statement::bind(int index, std::optional<std::string_view> text) {
  return text ? bind(index, *text) : bind_null(index);
}

Statement& Statement::bind_null(int index) {
  int rc = sqlite3_bind_null(stmt_, index);
  if (rc != SQLITE_OK) db_->fail(rc, db_->operation());
  return *this;
}

Statement& Statement::bind_zeroblob(int index, std::uint64_t bytes) {
  int rc = sqlite3_bind_zeroblob64(stmt_, index, bytes);
  if (rc != SQLITE_OK) db_->fail(rc, db_->operation());
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  db_->fail(rc, db_->operation());
}

void Statement::reset() {
  sqlite3_reset(stmt_);
  sqlite3_clear_bindings(stmt_);
}

bool Statement::is_null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }

std::int64_t Statement::int64(int column) const { return sqlite3_column_int64(stmt_, column); }

std::string Statement::text(int column) const {
  const auto* p = sqlite3_column_text(stmt_, column);
  int n = sqlite3_column_bytes(stmt_, column);
  return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

std::optional<std::string> Statement::optional_text(int column) const {
  if (is_null(column)) return std::nullopt;
  return text(column);
}

// ---- Database ----------------------------------------------------------------------------

Database::Database(const fs::path& file, OpenMode mode, const ConnectionSettings& settings) : file_(file) {
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
  if (mode == OpenMode::write) flags |= SQLITE_OPEN_CREATE;
  int rc = sqlite3_open_v2(file.c_str(), &db_, flags, nullptr);
  if (rc != SQLITE_OK) {
    int err = db_ ? sqlite3_system_errno(db_) : 0;
    std::string cause = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
    if (err) cause += std::string(" (") + std::strerror(err) + ")";
    sqlite3_close_v2(db_);
    db_ = nullptr;
    throw Error(code_for(rc, err), "cannot open the IndexedDB database '" + file.string() + "': " + cause);
  }
  sqlite3_extended_result_codes(db_, 1);
  busy_.timeout = settings.busy_timeout;
  busy_.context = settings.context;
  sqlite3_busy_handler(db_, &Database::on_busy, &busy_);
}

Database::~Database() {
  if (db_) sqlite3_close_v2(db_);
}

int Database::on_busy(void* state, int count) noexcept {
  auto& busy = *static_cast<BusyState*>(state);
  const auto now = std::chrono::steady_clock::now();
  if (count == 0) busy.started = now;
  try {
    if (busy.context && busy.context->cancelled()) {
      busy.cancelled = true;
      return 0;
    }
  } catch (...) {
    return 0;
  }
  if (now - busy.started >= busy.timeout) return 0;
  // Short sleeps first (another connection usually finishes quickly), then at most 20 ms.
  auto pause = std::chrono::microseconds(50) * (1 << std::min(count, 9));
  pause = std::min<std::chrono::microseconds>(pause, std::chrono::milliseconds(20));
  std::this_thread::sleep_for(pause);
  return 1;
}

void Database::exec(const std::string& sql) {
  char* message = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message);
  sqlite3_free(message);
  if (rc != SQLITE_OK) fail(rc, operation_.empty() ? "running '" + sql + "'" : operation_);
}

std::int64_t Database::pragma_int(const std::string& name) {
  Statement s(*this, "PRAGMA " + name);
  return s.step() ? s.int64(0) : 0;
}

std::string Database::pragma_text(const std::string& pragma) {
  Statement s(*this, "PRAGMA " + pragma);
  return s.step() ? s.text(0) : std::string();
}

int Database::last_errno() const {
  int err = sqlite3_system_errno(db_);
  // The errno SQLite recorded may be gone by the time the statement returns (a rollback ran in
  // between); the database file keeps the one of its last failed call.
  if (err == 0) sqlite3_file_control(db_, "main", SQLITE_FCNTL_LAST_ERRNO, &err);
  return err;
}

std::string Database::describe(int result) const {
  const int err = last_errno();
  const int primary = result & 0xFF;
  const char* text = sqlite3_errmsg(db_);
  std::string detail = text && *text ? text : sqlite3_errstr(result);
  if (err && primary != SQLITE_BUSY && primary != SQLITE_LOCKED) detail += std::string(": ") + std::strerror(err);
  const std::string where = "'" + file_.string() + "'";
  switch (primary) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      if (busy_.cancelled) return "cancelled while waiting for another connection to release " + where;
      return where + " stayed locked by another connection for longer than busy_timeout_ms=" +
             std::to_string(busy_.timeout.count());
    case SQLITE_FULL:
      return "there is no space left for it in " + where + " (disk full, or the max_page_count limit reached: " + detail + ")";
    case SQLITE_IOERR:
      if (is_space_errno(err)) return "there is no space left for it in " + where + " (" + detail + ")";
      return "I/O error on " + where + " (" + detail + ")";
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_FORMAT: return where + " is not a SQLite database or is damaged (" + detail + ")";
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH: return "no permission to write " + where + " (" + detail + ")";
    case SQLITE_CANTOPEN: return "cannot open " + where + " (" + detail + ")";
    default: return "the IndexedDB database " + where + ": " + detail;
  }
}

void Database::fail(int result, const std::string& what) const {
  Code code = code_for(result, last_errno());
  if (busy_.cancelled && ((result & 0xFF) == SQLITE_BUSY || (result & 0xFF) == SQLITE_LOCKED)) code = Code::cancelled;
  throw Error(code, (what.empty() ? std::string("IndexedDB") : what) + ": " + describe(result));
}

// ---- Transaction -------------------------------------------------------------------------

Transaction::Transaction(Database& db, Kind kind) : db_(db) {
  db_.exec(kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN");
  open_ = true;
}

Transaction::~Transaction() {
  // SQLite may have rolled back already (after SQLITE_FULL or an I/O error).
  if (open_ && !sqlite3_get_autocommit(db_.handle())) sqlite3_exec(db_.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
}

void Transaction::commit() {
  db_.exec("COMMIT");
  open_ = false;
}

// ---- Blob --------------------------------------------------------------------------------

Blob::~Blob() { close(); }

void Blob::open(std::int64_t rowid) {
  if (blob_) {
    if (sqlite3_blob_reopen(blob_, rowid) == SQLITE_OK) return;
    close();  // an expired handle cannot be moved: open a fresh one
  }
  int rc = sqlite3_blob_open(db_.handle(), "main", table_, column_, rowid, writable_ ? 1 : 0, &blob_);
  if (rc != SQLITE_OK) {
    sqlite3_blob_close(blob_);
    blob_ = nullptr;
    db_.fail(rc, db_.operation());
  }
}

std::uint64_t Blob::size() const { return static_cast<std::uint64_t>(sqlite3_blob_bytes(blob_)); }

void Blob::read(std::span<std::byte> into, std::uint64_t offset) {
  int rc = sqlite3_blob_read(blob_, into.data(), checked_int(into.size(), "a read"), checked_int(offset, "an offset"));
  if (rc != SQLITE_OK) db_.fail(rc, db_.operation());
}

void Blob::write(std::span<const std::byte> from, std::uint64_t offset) {
  int rc = sqlite3_blob_write(blob_, from.data(), checked_int(from.size(), "a write"), checked_int(offset, "an offset"));
  if (rc != SQLITE_OK) db_.fail(rc, db_.operation());
}

void Blob::close() {
  if (blob_) {
    sqlite3_blob_close(blob_);
    blob_ = nullptr;
  }
}

void Blob::close_checked() {
  if (!blob_) return;
  int rc = sqlite3_blob_close(blob_);
  blob_ = nullptr;
  if (rc != SQLITE_OK) db_.fail(rc, db_.operation());
}

}  // namespace modelport::indexeddb_plugin
