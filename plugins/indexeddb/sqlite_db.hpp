// Thin RAII wrappers over the SQLite C API for the indexeddb plugin: connections, statements,
// incremental blob handles, transactions, a cancellable busy handler, and SQLite result codes
// turned into SDK errors that name the database file.
#pragma once

#include <modelport/plugin.hpp>

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace modelport::indexeddb_plugin {

namespace fs = std::filesystem;

// The SDK code for a SQLite result: SQLITE_FULL and write errors with ENOSPC/EDQUOT/EFBIG ->
// quota_exceeded; CORRUPT/NOTADB -> corrupt; READONLY/PERM/AUTH and CANTOPEN with EACCES ->
// permission_denied; BUSY/LOCKED -> unavailable; INTERRUPT -> cancelled; TOOBIG ->
// invalid_argument; anything else -> internal.
sdk::Code code_for(int result, int system_errno);

class Database;

class Statement {
 public:
  Statement() = default;
  Statement(Database& db, std::string_view sql);
  Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Statement& operator=(Statement&&) = delete;
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement();

  // Parameters are 1-based, as in SQLite. Text and blobs are bound SQLITE_STATIC: they must stay
  // alive until the statement is reset.
  Statement& bind(int index, std::int64_t value);
  Statement& bind(int index, std::string_view text);
  Statement& bind(int index, std::optional<std::string_view> text);  // nullopt -> NULL
  Statement& bind_null(int index);
  Statement& bind_zeroblob(int index, std::uint64_t bytes);

  // One step: true with a row, false when done. Failures throw (see Database::fail).
  bool step();
  void run() {  // a statement that returns no rows
    while (step()) {
    }
  }
  void reset();

  bool is_null(int column) const;
  std::int64_t int64(int column) const;
  std::string text(int column) const;
  std::optional<std::string> optional_text(int column) const;

 private:
  Database* db_ = nullptr;
  sqlite3_stmt* stmt_ = nullptr;
};

// What a connection is for: reading never creates the file.
enum class OpenMode { read, write };

struct ConnectionSettings {
  std::chrono::milliseconds busy_timeout{120000};
  const sdk::Context* context = nullptr;  // cancellation while waiting for a lock
};

class Database {
 public:
  // Opens `file` (created when mode is write). Throws sdk::Error naming the file.
  Database(const fs::path& file, OpenMode mode, const ConnectionSettings& settings);
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();

  sqlite3* handle() const noexcept { return db_; }
  const fs::path& file() const noexcept { return file_; }

  void exec(const std::string& sql);
  std::int64_t pragma_int(const std::string& name);  // PRAGMA name, first column of the first row
  std::string pragma_text(const std::string& pragma);

  // Throws sdk::Error for `result` (not SQLITE_OK), mapped by code_for, with "<what>: <cause>".
  // `what` should name the operation and the model; the message always names the file.
  [[noreturn]] void fail(int result, const std::string& what) const;
  // The text that fail() would use for the cause, for callers that build their own message.
  std::string describe(int result) const;

  // The errno behind the last failure (0 when there is none).
  int last_errno() const;

  // A context that says what the current operation is, for errors thrown deep inside it.
  void set_operation(std::string what) { operation_ = std::move(what); }
  const std::string& operation() const noexcept { return operation_; }

  // True when the busy handler gave up because the caller cancelled.
  bool cancelled_while_waiting() const noexcept { return busy_.cancelled; }
  // The context the busy handler asks about cancellation; nullptr for a connection that outlives
  // the call that opened it (the deferred weight reads of a load).
  void set_busy_context(const sdk::Context* context) noexcept { busy_.context = context; }

 private:
  struct BusyState {
    std::chrono::milliseconds timeout{0};
    std::chrono::steady_clock::time_point started{};
    const sdk::Context* context = nullptr;
    bool cancelled = false;
    bool waiting = false;
  };
  static int on_busy(void* state, int count) noexcept;

  sqlite3* db_ = nullptr;
  fs::path file_;
  std::string operation_;
  BusyState busy_;
};

// BEGIN (deferred or IMMEDIATE) ... COMMIT, rolled back by the destructor unless committed.
class Transaction {
 public:
  enum class Kind { read, write };
  Transaction(Database& db, Kind kind);
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  ~Transaction();
  void commit();

 private:
  Database& db_;
  bool open_ = false;
};

// An incremental I/O handle on one BLOB column; moved across rows with reopen().
class Blob {
 public:
  Blob(Database& db, const char* table, const char* column, bool writable)
      : db_(db), table_(table), column_(column), writable_(writable) {}
  Blob(const Blob&) = delete;
  Blob& operator=(const Blob&) = delete;
  ~Blob();

  void open(std::int64_t rowid);  // opens, or moves the open handle to `rowid`
  std::uint64_t size() const;
  void read(std::span<std::byte> into, std::uint64_t offset);
  void write(std::span<const std::byte> from, std::uint64_t offset);
  void close();         // quietly (error paths)
  void close_checked();  // reports a failure to finish the last write

 private:
  Database& db_;
  const char* table_;
  const char* column_;
  bool writable_;
  sqlite3_blob* blob_ = nullptr;
};

}  // namespace modelport::indexeddb_plugin
