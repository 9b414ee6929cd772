// WebStorage: the browser's window.localStorage for native programs. One origin's string keys and
// string values, kept in one SQLite file, shared safely by every thread and process that opens it.
//
// This is the store behind the localstorage:// plugin, and a public API of its own: the
// `modelport localstorage` command and embedders use it directly (static library
// modelport_localstorage_store: SQLite and the C++ standard library, nothing of modelport).
//
// Semantics follow the Web Storage standard (https://html.spec.whatwg.org/#storage):
//   - get_item / set_item / remove_item / clear / length / key(n), strings in and out;
//   - key(n) order is insertion order: a new key goes last, overwriting a key keeps its place
//     (what JavaScript objects do, so JSON.stringify({...localStorage}) of a dump lists keys in
//     the same order as key(n));
//   - a quota per origin, counted as browsers count it: UTF-16 code units of every key plus its
//     value (an ASCII character is 1 unit, "é" 1, "😀" 2). A set_item that grows the origin past
//     the quota fails with StoreError(quota_exceeded) and changes nothing (Chromium's rule: a write
//     that does not grow the origin is always allowed);
//   - strings are Unicode: keys and values must be valid UTF-8 (invalid_argument otherwise).
//
// Beyond the standard: write_transaction() runs several calls atomically (all or nothing), which
// is how a model's five keys are saved without ever being half there.
//
// Storage (schema version 1). The file is a SQLite 3 database in WAL mode, marked with
// PRAGMA application_id = 0x6D706C73 ("mpls") and PRAGMA user_version = 1, holding one table:
//
//   CREATE TABLE items(
//     seq   INTEGER PRIMARY KEY,     -- insertion order; an overwrite keeps the row (and seq)
//     key   TEXT NOT NULL UNIQUE,    -- UTF-8
//     units INTEGER NOT NULL,        -- UTF-16 code units of key + value (the quota measure)
//     value TEXT NOT NULL            -- UTF-8
//   );
//
// Writers take the write lock up front (BEGIN IMMEDIATE) and wait for each other (busy timeout);
// readers see a consistent snapshot and never block writers (WAL). Every write transaction is
// durable when it returns (synchronous=FULL).
//
// Where the files live (store_location): <data>/localstorage/<origin>.sqlite, where <data> is
// MODELPORT_DATA_DIR, else $XDG_DATA_HOME/modelport, else ~/.local/share/modelport, and the
// origin is the caller's choice, else MODELPORT_ORIGIN, else "default" (characters outside
// [A-Za-z0-9._-] are written %XX in the file name).
//
// A WebStorage object is one SQLite connection: use it from one thread at a time (open one per
// thread; they all see the same store).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace modelport::localstorage {

namespace fs = std::filesystem;

// What browsers give an origin: 5 MiB of UTF-16 code units (Firefox: 5,120 KiB of units;
// Chromium: 10 MiB of bytes = 5 Mi units).
inline constexpr std::uint64_t kDefaultQuotaUnits = 5'242'880;
inline constexpr std::uint64_t kUnlimitedQuota = UINT64_MAX;

class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    quota_exceeded,     // the write would grow the origin past its quota
    invalid_argument,   // not UTF-8, a bad origin or quota text, ...
    corrupt,            // the file is not a SQLite database, or not a store of this kind
    permission_denied,  // the file or its folder cannot be read or written
    unavailable,        // locked by another writer for longer than the busy timeout
    io,                 // disk full, I/O error, anything else SQLite reports
  };
  StoreError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const noexcept { return kind_; }

 private:
  Kind kind_;
};

// ---- Unicode helpers ---------------------------------------------------------------------------

// JavaScript's `s.length` of a UTF-8 string (UTF-16 code units), or nullopt when the text is not
// valid UTF-8 (overlong forms, surrogates and values above U+10FFFF are invalid).
std::optional<std::uint64_t> utf16_length(std::string_view utf8) noexcept;

// ---- Where stores live -------------------------------------------------------------------------

// MODELPORT_DATA_DIR, else $XDG_DATA_HOME/modelport, else $HOME/.local/share/modelport (the home
// folder from the password database when HOME is unset). Relative values are made absolute.
fs::path default_data_dir();

// MODELPORT_ORIGIN, else "default".
std::string default_origin();

// The origin as a file name stem: [A-Za-z0-9._-] kept (a leading '.' escaped), every other byte
// written %XX. Throws invalid_argument for an empty origin or one too long for a file name.
std::string origin_file_stem(std::string_view origin);

struct StoreLocation {
  fs::path data_dir;
  std::string origin;
  fs::path file;  // data_dir / "localstorage" / (origin_file_stem(origin) + ".sqlite")
};

// Resolves the rules above; explicit values (a plugin option, a command-line flag) win.
StoreLocation store_location(std::optional<std::string_view> data_dir = std::nullopt,
                             std::optional<std::string_view> origin = std::nullopt);

// A quota given as text: a count of UTF-16 code units ("5242880"), or "unlimited".
// Throws invalid_argument naming `what` (e.g. "option quota") otherwise.
std::uint64_t parse_quota(std::string_view text, std::string_view what);

// The quota: `explicit_value` when given, else MODELPORT_LOCALSTORAGE_QUOTA, else 5,242,880.
std::uint64_t resolve_quota(std::optional<std::string_view> explicit_value = std::nullopt);

// ---- The store -----------------------------------------------------------------------------------

class WebStorage {
 public:
  enum class Mode {
    read_write,  // creates the file (and its folders) when missing
    read_only,   // never creates anything: a missing file is an empty store; writes fail
  };
  struct Options {
    std::uint64_t quota = kDefaultQuotaUnits;  // UTF-16 code units of keys + values
    Mode mode = Mode::read_write;
    int busy_timeout_ms = 60'000;  // how long to wait for another writer
  };

  explicit WebStorage(fs::path file) : WebStorage(std::move(file), Options{}) {}
  WebStorage(fs::path file, Options options);
  ~WebStorage();
  WebStorage(WebStorage&&) noexcept;
  WebStorage& operator=(WebStorage&&) noexcept;
  WebStorage(const WebStorage&) = delete;
  WebStorage& operator=(const WebStorage&) = delete;

  // -- the Web Storage API --
  std::size_t length();
  std::optional<std::string> key(std::size_t index);  // insertion order; nullopt past the end
  std::optional<std::string> get_item(std::string_view key);
  void set_item(std::string_view key, std::string_view value);
  void remove_item(std::string_view key);
  void clear();

  // -- beyond it --
  // Calls fn with the value in place (no copy; valid during the call). False when the key is absent.
  bool visit_item(std::string_view key, const std::function<void(std::string_view value)>& fn);
  std::vector<std::string> keys();                               // insertion order
  std::vector<std::string> keys_with_prefix(std::string_view prefix);  // insertion order
  // Every item in insertion order, values in place (valid during each call).
  void for_each(const std::function<void(std::string_view key, std::string_view value)>& fn);
  std::uint64_t used_units();  // UTF-16 code units of all keys and values
  // Gives the file's free pages back to the file system (outside a transaction; best effort).
  // clear() and purge do it themselves; call it after removing large items.
  void compact() noexcept;
  std::uint64_t quota() const noexcept;
  const fs::path& file() const noexcept;
  bool exists() const noexcept;  // false only for a read-only store whose file does not exist

  // Runs fn() in one transaction. Write: takes the write lock first (other writers wait), commits
  // when fn returns, rolls back every change when it throws. Read: one consistent snapshot.
  // Nested calls join the outer transaction.
  template <class Fn>
  decltype(auto) write_transaction(Fn&& fn) {
    return in_transaction(true, std::forward<Fn>(fn));
  }
  template <class Fn>
  decltype(auto) read_transaction(Fn&& fn) {
    return in_transaction(false, std::forward<Fn>(fn));
  }

 private:
  template <class Fn>
  decltype(auto) in_transaction(bool write, Fn&& fn) {
    const bool outer = begin(write);
    try {
      if constexpr (std::is_void_v<std::invoke_result_t<Fn&>>) {
        fn();
        if (outer) commit();
      } else {
        decltype(auto) result = fn();
        if (outer) commit();
        return result;
      }
    } catch (...) {
      if (outer) rollback();
      throw;
    }
  }
  bool begin(bool write);  // true when this call opened the transaction
  void commit();
  void rollback() noexcept;

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// tfjs's purgeLocalStorageArtifacts(): removes, in one transaction, every key that starts with
// "tensorflowjs_models/" and is longer than that, and returns the distinct model paths it removed
// (the text between the prefix and the key's last '/'), in insertion order.
std::vector<std::string> purge_local_storage_artifacts(WebStorage& storage);

}  // namespace modelport::localstorage
