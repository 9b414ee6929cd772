#include "idb_store.hpp"

#include <modelport/plugin_storage.hpp>

#include "sqlite_db.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <pwd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>
#include <thread>
#include <vector>

namespace modelport::indexeddb_plugin {

using sdk::Code;
using sdk::Error;
using sdk::Field;

namespace {

// ---- Settings ----------------------------------------------------------------------------

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

std::uint64_t parse_count(std::string_view key, std::string_view text, std::uint64_t min, std::uint64_t max) {
  std::uint64_t value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    throw Error(Code::invalid_argument, "indexeddb option " + std::string(key) + "=" + std::string(text) +
                                            " must be a whole number from " + std::to_string(min) + " to " +
                                            std::to_string(max));
  }
  return value;
}

fs::path default_data_dir() {
  if (auto dir = sdk::default_data_folder()) return *dir;
  throw Error(Code::invalid_argument,
              "indexeddb: cannot find a data folder: set MODELPORT_DATA_DIR (or XDG_DATA_HOME, or HOME)");
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* journal_mode_name(JournalMode mode) {
  switch (mode) {
    case JournalMode::truncate: return "truncate";
    case JournalMode::persist: return "persist";
    case JournalMode::del: return "delete";
    case JournalMode::wal: return "wal";
  }
  return "truncate";
}

const char* synchronous_name(Synchronous s) {
  switch (s) {
    case Synchronous::off: return "OFF";
    case Synchronous::normal: return "NORMAL";
    case Synchronous::full: return "FULL";
    case Synchronous::extra: return "EXTRA";
  }
  return "FULL";
}

// Invalid UTF-8 shown as \xNN, so that an error message stays printable.
std::string printable(std::string_view text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x20 || c >= 0x80) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

bool valid_utf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const std::size_t n = s.size();
  std::size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      cp = c & 0x1Fu;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      cp = c & 0x0Fu;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      cp = c & 0x07u;
    } else {
      return false;
    }
    if (n - i <= extra) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3Fu);
    }
    // No overlong forms, no surrogates, nothing past U+10FFFF.
    if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) || (extra == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

// ---- Opening a store ---------------------------------------------------------------------

[[noreturn]] void throw_errno(int err, const std::string& what, const fs::path& path) {
  Code code = Code::unavailable;
  if (err == EACCES || err == EPERM || err == EROFS) code = Code::permission_denied;
  else if (err == ENOSPC || err == EDQUOT) code = Code::quota_exceeded;
  else if (err == ENOENT || err == ENOTDIR) code = Code::not_found;
  throw Error(code, what + " '" + path.string() + "': " + std::strerror(err));
}

constexpr const char* kSchema = R"sql(
CREATE TABLE model_info_store(
  modelPath TEXT PRIMARY KEY NOT NULL,
  dateSaved INTEGER NOT NULL,
  modelTopologyType TEXT NOT NULL,
  modelTopologyBytes INTEGER NOT NULL,
  weightSpecsBytes INTEGER NOT NULL,
  weightDataBytes INTEGER NOT NULL
);
CREATE TABLE models_store(
  modelPath TEXT PRIMARY KEY NOT NULL,
  modelId INTEGER NOT NULL UNIQUE,
  modelTopology TEXT,
  weightSpecs TEXT,
  trainingConfig TEXT,
  format TEXT,
  generatedBy TEXT,
  convertedBy TEXT,
  signature TEXT,
  userDefinedMetadata TEXT,
  modelInitializer TEXT,
  initializerSignature TEXT,
  extraFields TEXT,
  hasWeightData INTEGER NOT NULL,
  chunkCount INTEGER NOT NULL,
  dateSaved INTEGER NOT NULL,
  modelTopologyType TEXT NOT NULL,
  modelTopologyBytes INTEGER NOT NULL,
  weightSpecsBytes INTEGER NOT NULL,
  weightDataBytes INTEGER NOT NULL
);
CREATE TABLE weight_chunks(
  chunkId INTEGER PRIMARY KEY,
  modelId INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  data BLOB NOT NULL
);
CREATE UNIQUE INDEX weight_chunks_by_model ON weight_chunks(modelId, seq);
)sql";

// The artifact fields in models_store column order.
struct FieldColumn {
  Field field;
  const char* column;
};
constexpr std::array<FieldColumn, 11> kFieldColumns = {{
    {Field::model_topology, "modelTopology"},
    {Field::weight_specs, "weightSpecs"},
    {Field::training_config, "trainingConfig"},
    {Field::format, "format"},
    {Field::generated_by, "generatedBy"},
    {Field::converted_by, "convertedBy"},
    {Field::signature, "signature"},
    {Field::user_defined_metadata, "userDefinedMetadata"},
    {Field::model_initializer, "modelInitializer"},
    {Field::initializer_signature, "initializerSignature"},
    {Field::extra, "extraFields"},
}};

struct OpenedStore {
  std::unique_ptr<Database> db;
  bool has_schema = false;
};

// Connection settings every operation uses; `write` also sizes the page cache for a chunk.
void configure(Database& db, const StoreSettings& settings, bool write) {
  // Deleted rows are not zeroed on disk (Debian builds SQLite with SECURE_DELETE on, which would
  // rewrite, and journal, every page of a replaced model).
  db.exec("PRAGMA secure_delete=FAST");
  if (write) {
    // Room for two chunks, so that a zeroblob row is still cached when its bytes are written.
    const std::uint64_t kib = (2 * settings.chunk_bytes + (8u << 20)) / 1024;
    db.exec("PRAGMA cache_size=-" + std::to_string(kib));
  }
  if (settings.max_page_count) db.exec("PRAGMA max_page_count=" + std::to_string(*settings.max_page_count));
  db.exec("PRAGMA journal_size_limit=" + std::to_string(8u << 20));
}

// The journal mode: the option when given; otherwise WAL stays WAL and everything else uses a
// truncated rollback journal. Then synchronous, which depends on it.
void choose_journal(Database& db, const StoreSettings& settings) {
  std::string current = db.pragma_text("journal_mode");
  JournalMode target = settings.journal_mode.value_or(current == "wal" ? JournalMode::wal : JournalMode::truncate);
  if (current != journal_mode_name(target)) {
    std::string now = db.pragma_text(std::string("journal_mode=") + journal_mode_name(target));
    if (now != journal_mode_name(target)) {
      throw Error(Code::unavailable, "cannot switch the IndexedDB database '" + db.file().string() + "' to journal_mode=" +
                                         journal_mode_name(target) + " (it stays " + now +
                                         "; switching to or from wal needs a moment with no other connection)");
    }
  }
  Synchronous sync = settings.synchronous.value_or(target == JournalMode::wal ? Synchronous::normal : Synchronous::full);
  db.exec(std::string("PRAGMA synchronous=") + synchronous_name(sync));
}

// Checks the schema version; creates the schema in a new database when `create`.
bool check_schema(Database& db, bool create) {
  auto version = db.pragma_int("user_version");
  auto check_version = [&](std::int64_t v) {
    if (v > kSchemaVersion) {
      throw Error(Code::unimplemented, "the IndexedDB database '" + db.file().string() + "' has schema version " +
                                           std::to_string(v) + ", newer than this indexeddb plugin understands (" +
                                           std::to_string(kSchemaVersion) +
                                           "); use a newer modelport to open it");
    }
    if (v > 0 && db.pragma_int("application_id") != kApplicationId) {
      throw Error(Code::corrupt, "'" + db.file().string() + "' is a SQLite database, but not a modelport IndexedDB store "
                                                            "(its application_id is " +
                                     std::to_string(db.pragma_int("application_id")) + ")");
    }
  };
  check_version(version);
  if (version == kSchemaVersion) return true;
  auto foreign_tables = [&] {
    Statement s(db, "SELECT count(*) FROM sqlite_schema");
    return s.step() && s.int64(0) > 0;
  };
  if (!create) {
    if (version == 0 && foreign_tables()) {
      throw Error(Code::corrupt, "'" + db.file().string() + "' is a SQLite database, but not a modelport IndexedDB store");
    }
    return false;  // an empty database: no models yet
  }
  Transaction tx(db, Transaction::Kind::write);
  version = db.pragma_int("user_version");  // another process may have been first
  check_version(version);
  if (version == 0) {
    if (foreign_tables()) {
      throw Error(Code::corrupt, "'" + db.file().string() + "' is a SQLite database, but not a modelport IndexedDB store");
    }
    db.exec(kSchema);
    db.exec("PRAGMA application_id=" + std::to_string(kApplicationId));
    db.exec("PRAGMA user_version=" + std::to_string(kSchemaVersion));
  }
  tx.commit();
  return true;
}

// Opens the origin's database. For reading, a missing file means an empty store (nothing is
// created); for writing, the folders, the file and the schema are created as needed.
OpenedStore open_store(const StoreSettings& settings, OpenMode mode, const sdk::Context* context,
                       const std::string& operation) {
  try {
    const fs::path file = settings.database_file();
    struct stat st {};
    if (mode == OpenMode::read) {
      if (::stat(file.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return {};
        throw_errno(errno, "cannot read the IndexedDB database", file);
      }
    } else {
      std::error_code ec;
      const fs::path folder = file.parent_path();
      if (!fs::is_directory(folder, ec)) {
        fs::create_directories(folder, ec);
        if (ec) throw_errno(ec.value(), "cannot create the IndexedDB folder", folder);
        ::chmod(folder.c_str(), 0700);  // an origin's data is the user's own
      }
    }
    if (::stat(file.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      throw Error(Code::corrupt, "the IndexedDB database '" + file.string() + "' is not a regular file");
    }
    ConnectionSettings connection;
    connection.busy_timeout = settings.busy_timeout;
    connection.context = context;
    OpenedStore store;
    store.db = std::make_unique<Database>(file, mode, connection);
    Database& db = *store.db;
    db.set_operation(operation);
    // 64 KiB pages: a 4 MiB chunk is 64 overflow pages instead of 1024. Only a new, empty
    // database takes it (before the first table, and before WAL is turned on).
    // It must come before configure(): SQLite turns a cache_size given in KiB into a number of
    // pages, and when the page size of an empty database changes it keeps that NUMBER for the
    // new cache (sqlite3PcacheSetPageSize sizes the new cache with the old page size), so a
    // 16 MiB cache computed for 4 KiB pages would become ~250 MiB of 64 KiB pages and the
    // first save into a new database would keep every page of the model in memory.
    if (mode == OpenMode::write && db.pragma_int("page_count") == 0) db.exec("PRAGMA page_size=65536");
    configure(db, settings, mode == OpenMode::write);
    choose_journal(db, settings);
    store.has_schema = check_schema(db, mode == OpenMode::write);
    db.set_operation(operation);
    return store;
  } catch (const Error& e) {
    // Every message starts with what was being done ("Failed to load model 'm' from IndexedDB").
    if (std::string_view(e.what()).starts_with(operation)) throw;
    throw Error(e.code(), operation + ": " + e.what());
  }
}

std::string source_of(const std::string& model_path) { return std::string(kPrefix) + model_path; }

std::string not_found_message(const std::string& model_path) {
  return "Cannot find model with path '" + model_path + "' in IndexedDB.";
}

sdk::ModelInfo info_from_row(const Statement& s, int first) {
  sdk::ModelInfo info;
  info.date_saved_ms = s.int64(first);
  info.model_topology_type = s.text(first + 1);
  info.model_topology_bytes = s.int64(first + 2);
  info.weight_specs_bytes = s.int64(first + 3);
  info.weight_data_bytes = s.int64(first + 4);
  return info;
}

// ---- Reads during a save in the same process ----------------------------------------------
//
// A streaming copy between two models of one database file (`cp indexeddb://a indexeddb://b`)
// reads the source rows while the destination's save holds the write transaction. With a
// rollback journal that save takes the EXCLUSIVE lock as soon as its page cache spills, and
// keeps it until it commits; a reader on another connection would then wait for the save, which
// waits for the reader's bytes. So while a save of this process holds a file's write
// transaction, it publishes its connection here, and deferred reads of that file go through it
// (under its `use` mutex) instead of their own connection. Hand-written: SQLite has no way for
// two connections of one process to share a write transaction other than the deprecated shared
// cache, whose table locks would block the same way.
struct ActiveWriter {
  std::mutex use;           // held by whoever runs SQL on `db`
  Database* db = nullptr;   // null once the save has ended
};

// A file's published save, and the deferred reads of the file that run on connections of their
// own. The mutex is only ever held for a few instructions, never while SQL runs or while `use` is
// awaited: a save that fails must unpublish and roll back at once, even while a read waits for
// its connection (that read then finds the save gone and reads on its own connection, which
// waits for the rollback's lock, not the other way round).
struct FileGate {
  std::mutex mutex;
  std::condition_variable own_reads_done;
  std::shared_ptr<ActiveWriter> writer;  // the published save, if any
  // Deferred reads on their own connections in progress. A save publishes only when there are
  // none, so that from then on every deferred read of the file goes through it and none holds a
  // lock of its own that the save, once its cache spills, would wait out in SQLite's busy handler.
  std::size_t own_reads = 0;
};

std::string gate_key(const fs::path& file) {
  std::error_code ec;
  fs::path canonical = fs::weakly_canonical(file, ec);
  return (ec ? file : canonical).string();
}

// One gate per database file for the life of the process (a handful of origins at most).
FileGate& gate_for(const fs::path& file) {
  static std::mutex gates_mutex;
  static auto* gates = new std::map<std::string, std::unique_ptr<FileGate>>();
  std::lock_guard lock(gates_mutex);
  auto& gate = (*gates)[gate_key(file)];
  if (!gate) gate = std::make_unique<FileGate>();
  return *gate;
}

// A save's side of the gate: publishes the connection once the write transaction is ours, holds
// `use` whenever the save runs SQL, and unpublishes at the end (before a rollback, which then
// runs on the saving thread alone).
class PublishedWriter {
 public:
  explicit PublishedWriter(Database& db) : gate_(gate_for(db.file())), writer_(std::make_shared<ActiveWriter>()) {
    writer_->db = &db;
    {
      // The reads on their own connections are short and wait for nothing of this save (it
      // holds no more than a RESERVED lock so far, which lets readers in).
      std::unique_lock lock(gate_.mutex);
      gate_.own_reads_done.wait(lock, [&] { return gate_.own_reads == 0; });
      gate_.writer = writer_;
    }
    use_ = std::unique_lock(writer_->use);
  }
  PublishedWriter(const PublishedWriter&) = delete;
  PublishedWriter& operator=(const PublishedWriter&) = delete;
  ~PublishedWriter() { end(); }
  // Once the save has committed (or failed), its connection is no one else's business. Waits
  // only for a read that is using the connection right now, never for one on its own connection.
  void end() {
    if (ended_) return;
    ended_ = true;
    if (!use_.owns_lock()) use_.lock();
    writer_->db = nullptr;
    use_.unlock();
    std::lock_guard lock(gate_.mutex);
    if (gate_.writer == writer_) gate_.writer.reset();
  }
  // Lets deferred reads use the connection while the save waits for the next part of the weights.
  template <class Fn>
  void while_released(Fn&& fn) {
    use_.unlock();
    try {
      fn();
    } catch (...) {
      use_.lock();  // the rollback that follows runs SQL
      throw;
    }
    use_.lock();
  }
  std::mutex& use() noexcept { return writer_->use; }

 private:
  FileGate& gate_;
  std::shared_ptr<ActiveWriter> writer_;
  std::unique_lock<std::mutex> use_;
  bool ended_ = false;
};

// Cuts the weight stream into rows of `chunk_bytes` in one pass over for_each_chunk (a streamed
// save reads its source once, in order) and writes each row with incremental blob I/O as the
// bytes arrive: a zeroblob row is inserted when its first byte comes, then filled in place.
// Returns the number of rows.
std::int64_t write_chunks(Database& db, const StoreSettings& settings, std::int64_t model_id,
                          const sdk::ArtifactsView& artifacts, const sdk::Context& context, const std::string& url,
                          PublishedWriter& publisher) {
  const std::uint64_t total = artifacts.weight_data_size();
  Statement insert(db, "INSERT INTO weight_chunks(modelId, seq, data) VALUES(?1, ?2, zeroblob(?3))");
  Blob blob(db, "weight_chunks", "data", true);
  std::uint64_t done = 0;       // bytes written
  std::uint64_t row_start = 0;  // where the open row starts in the weight bytes
  std::uint64_t row_end = 0;    // and where it ends
  std::int64_t seq = 0;
  auto write = [&](std::span<const std::byte> bytes) {
    std::lock_guard use(publisher.use());
    while (!bytes.empty()) {
      if (done == row_end) {
        if (done == total) {
          throw Error(Code::internal, "saving '" + url + "': the weight data holds more bytes than weight_data_size (" +
                                          std::to_string(total) + ")");
        }
        context.throw_if_cancelled("saving '" + url + "'");
        const std::uint64_t row = std::min<std::uint64_t>(settings.chunk_bytes, total - done);
        insert.bind(1, model_id).bind(2, seq).bind(3, static_cast<std::int64_t>(row));
        insert.run();
        insert.reset();
        blob.open(sqlite3_last_insert_rowid(db.handle()));
        row_start = done;
        row_end = done + row;
        ++seq;
      }
      const std::uint64_t take = std::min<std::uint64_t>(bytes.size(), row_end - done);
      blob.write(bytes.first(static_cast<std::size_t>(take)), done - row_start);
      done += take;
      bytes = bytes.subspan(static_cast<std::size_t>(take));
      if (done == row_end) context.progress(done, total, url);
    }
  };
  publisher.while_released([&] { artifacts.for_each_chunk(write); });
  if (done != total) {
    throw Error(Code::internal, "saving '" + url + "': the weight data holds fewer bytes (" + std::to_string(done) +
                                    ") than weight_data_size (" + std::to_string(total) + ")");
  }
  blob.close_checked();
  return seq;
}

// A field's text as stored: the core always hands over the unknown top-level keys as an object,
// "{}" when there are none, which is stored as absent.
std::optional<std::string_view> stored_text(const sdk::ArtifactsView& artifacts, Field field) {
  auto text = artifacts.field(field);
  if (field == Field::extra && text && *text == "{}") return std::nullopt;
  return text;
}

std::int64_t text_bytes(const std::optional<std::string_view>& text) {
  return !text || *text == "null" ? 0 : static_cast<std::int64_t>(text->size());
}

}  // namespace

// ---- Settings ----------------------------------------------------------------------------

fs::path StoreSettings::database_file() const { return data_dir / "indexeddb" / encode_origin(origin) / "tensorflowjs.sqlite"; }

std::string encode_origin(std::string_view origin) {
  if (origin.empty()) throw Error(Code::invalid_argument, "indexeddb: the origin must not be empty");
  // The same name as localstorage:// gives an origin's file.
  const std::string out = sdk::escape_origin(origin);
  if (out.size() > 240) {
    throw Error(Code::invalid_argument, "indexeddb: the origin '" + printable(origin) + "' is too long to name a folder (" +
                                            std::to_string(out.size()) + " characters once escaped; at most 240)");
  }
  return out;
}

StoreSettings resolve_settings(const OptionLookup& option) {
  StoreSettings s;
  if (auto dir = option("data_dir"); dir && !dir->empty()) {
    s.data_dir = fs::path(std::string(*dir));
  } else {
    s.data_dir = default_data_dir();
  }
  std::error_code ec;
  fs::path absolute = fs::absolute(s.data_dir, ec);
  if (ec) throw Error(Code::invalid_argument, "indexeddb: cannot make the data folder '" + s.data_dir.string() + "' absolute: " + ec.message());
  s.data_dir = absolute.lexically_normal();
  if (auto origin = option("origin")) {
    s.origin = std::string(*origin);
  } else if (auto from_env = env("MODELPORT_ORIGIN")) {
    s.origin = *from_env;
  }
  encode_origin(s.origin);  // validates
  if (auto v = option("chunk_bytes")) s.chunk_bytes = parse_count("chunk_bytes", *v, kMinChunkBytes, kMaxChunkBytes);
  if (auto v = option("busy_timeout_ms")) {
    s.busy_timeout = std::chrono::milliseconds(parse_count("busy_timeout_ms", *v, 0, 24ull * 3600 * 1000));
  }
  if (auto v = option("max_page_count")) {
    s.max_page_count = static_cast<std::int64_t>(parse_count("max_page_count", *v, 1, 0xFFFFFFFEull));
  }
  if (auto v = option("journal_mode")) {
    if (*v == "truncate") s.journal_mode = JournalMode::truncate;
    else if (*v == "persist") s.journal_mode = JournalMode::persist;
    else if (*v == "delete") s.journal_mode = JournalMode::del;
    else if (*v == "wal") s.journal_mode = JournalMode::wal;
    else throw Error(Code::invalid_argument, "indexeddb option journal_mode=" + std::string(*v) + " must be truncate, persist, delete or wal");
  }
  if (auto v = option("synchronous")) {
    if (*v == "off") s.synchronous = Synchronous::off;
    else if (*v == "normal") s.synchronous = Synchronous::normal;
    else if (*v == "full") s.synchronous = Synchronous::full;
    else if (*v == "extra") s.synchronous = Synchronous::extra;
    else throw Error(Code::invalid_argument, "indexeddb option synchronous=" + std::string(*v) + " must be off, normal, full or extra");
  }
  return s;
}

StoreSettings resolve_settings(const sdk::Context& context) {
  return resolve_settings([&](std::string_view key) { return context.option(key); });
}

std::string model_path_of(std::string_view url) {
  std::string_view path = url.starts_with(kPrefix) ? url.substr(kPrefix.size()) : url;
  if (path.empty()) throw Error(Code::invalid_argument, "For IndexedDB, modelPath must not be null, undefined or empty.");
  if (!valid_utf8(path)) {
    throw Error(Code::invalid_argument, "For IndexedDB, modelPath must be valid UTF-8 text; '" + printable(path) + "' is not");
  }
  return std::string(path);
}

// ---- Operations --------------------------------------------------------------------------

void save_model(const StoreSettings& settings, const std::string& model_path, const sdk::ArtifactsView& artifacts,
                const sdk::Context& context, sdk::SaveResult& result) {
  if (artifacts.topology_is_binary()) {
    // The message of TensorFlow.js's IndexedDB handler (which really says LocalStorage).
    throw Error(Code::invalid_argument,
                "BrowserLocalStorage.save() does not support saving model topology in binary formats yet.");
  }
  bool any_field = artifacts.has_weight_data();
  for (const auto& fc : kFieldColumns) any_field = any_field || stored_text(artifacts, fc.field).has_value();
  if (!any_field) {
    throw Error(Code::invalid_argument, "Failed to save model '" + model_path +
                                            "' to IndexedDB: the model is empty (no topology, weights or metadata)");
  }
  const std::string url = source_of(model_path);

  // ModelArtifactsInfo as TensorFlow.js computes it, stored with the model so that list and
  // remove report what the save did.
  sdk::ModelInfo info;
  info.model_topology_bytes = text_bytes(artifacts.field(Field::model_topology));
  info.weight_specs_bytes = text_bytes(artifacts.field(Field::weight_specs));
  info.weight_data_bytes = static_cast<std::int64_t>(artifacts.weight_data_size());

  OpenedStore store = open_store(settings, OpenMode::write, &context, "Failed to save model '" + model_path + "' to IndexedDB");
  Database& db = *store.db;
  Transaction tx(db, Transaction::Kind::write);
  // Declared after the transaction, so gone before its rollback: once unpublished, no deferred
  // read touches this connection, and the rollback runs on this thread alone.
  PublishedWriter publisher(db);
  // The date once the write lock is ours: saves queued behind each other get increasing dates.
  info.date_saved_ms = now_ms();

  // The new version's chunks go in first, under a fresh id, and the old version's rows are
  // deleted afterwards: pages freed by this transaction are then never reused by it, so the
  // rollback journal only holds the few b-tree pages that change, not the replaced weights.
  std::int64_t model_id = 1;
  {
    Statement s(db,
                "SELECT max(coalesce((SELECT max(modelId) FROM models_store), 0), "
                "coalesce((SELECT max(modelId) FROM weight_chunks), 0)) + 1");
    if (s.step()) model_id = s.int64(0);
  }
  const std::int64_t chunk_count = write_chunks(db, settings, model_id, artifacts, context, url, publisher);

  std::optional<std::int64_t> old_id;
  {
    Statement s(db, "SELECT modelId FROM models_store WHERE modelPath = ?1");
    s.bind(1, std::string_view(model_path));
    if (s.step()) old_id = s.int64(0);
  }
  if (old_id) {
    Statement(db, "DELETE FROM weight_chunks WHERE modelId = ?1").bind(1, *old_id).run();
    Statement(db, "DELETE FROM models_store WHERE modelPath = ?1").bind(1, std::string_view(model_path)).run();
  }
  {
    std::string sql = "INSERT INTO models_store(modelPath, modelId";
    for (const auto& fc : kFieldColumns) sql += std::string(", ") + fc.column;
    sql += ", hasWeightData, chunkCount, dateSaved, modelTopologyType, modelTopologyBytes, weightSpecsBytes, "
           "weightDataBytes) VALUES(?1, ?2";
    for (std::size_t i = 0; i < kFieldColumns.size() + 7; ++i) sql += ", ?" + std::to_string(i + 3);
    sql += ")";
    Statement s(db, sql);
    s.bind(1, std::string_view(model_path)).bind(2, model_id);
    int at = 3;
    for (const auto& fc : kFieldColumns) s.bind(at++, stored_text(artifacts, fc.field));
    s.bind(at++, std::int64_t{artifacts.has_weight_data() ? 1 : 0});
    s.bind(at++, chunk_count);
    s.bind(at++, info.date_saved_ms);
    s.bind(at++, std::string_view(info.model_topology_type));
    s.bind(at++, *info.model_topology_bytes);
    s.bind(at++, *info.weight_specs_bytes);
    s.bind(at++, *info.weight_data_bytes);
    s.run();
  }
  Statement(db,
            "INSERT OR REPLACE INTO model_info_store(modelPath, dateSaved, modelTopologyType, modelTopologyBytes, "
            "weightSpecsBytes, weightDataBytes) VALUES(?1, ?2, ?3, ?4, ?5, ?6)")
      .bind(1, std::string_view(model_path))
      .bind(2, info.date_saved_ms)
      .bind(3, std::string_view(info.model_topology_type))
      .bind(4, *info.model_topology_bytes)
      .bind(5, *info.weight_specs_bytes)
      .bind(6, *info.weight_data_bytes)
      .run();
  tx.commit();
  publisher.end();

  if (db.pragma_text("journal_mode") == "wal" && artifacts.weight_data_size() > (64u << 20)) {
    // The commit's automatic checkpoint copied the frames back; give the WAL file's space back
    // too, unless a reader still needs it (then a later checkpoint does it).
    sqlite3_busy_timeout(db.handle(), 0);
    sqlite3_wal_checkpoint_v2(db.handle(), nullptr, SQLITE_CHECKPOINT_TRUNCATE, nullptr, nullptr);
  }
  result.set_info(info);
}

namespace {

// Loads at least this big get their buffers populated by a helper thread.
constexpr std::uint64_t kPrefaultFrom = 16u << 20;

// Asks the kernel to back `bytes` with memory now, in one call, instead of one page fault per
// page while SQLite copies into it (MADV_POPULATE_WRITE, Linux 5.14; elsewhere the call fails
// and the pages fault in as usual). The content is not touched.
void populate(std::span<std::byte> bytes) noexcept {
#ifdef MADV_POPULATE_WRITE
  const auto page = static_cast<std::uintptr_t>(::sysconf(_SC_PAGESIZE));
  const auto begin = reinterpret_cast<std::uintptr_t>(bytes.data());
  const std::uintptr_t first = (begin + page - 1) / page * page;
  const std::uintptr_t last = (begin + bytes.size()) / page * page;
  if (last > first) ::madvise(reinterpret_cast<void*>(first), last - first, MADV_POPULATE_WRITE);
#else
  (void)bytes;
#endif
}

// Fresh memory for a big model costs more than reading the bytes into it: the kernel allocates
// and zeroes every page at its first touch. A helper thread populates the buffers in order,
// ahead of the reads, so that the two overlap; the reader waits for a buffer only while the
// helper is still on it. (Two populating threads were slower than one: they contend in the
// kernel.)
class Prefaulter {
 public:
  Prefaulter(std::span<const std::span<std::byte>> buffers, bool enabled) : buffers_(buffers) {
    if (!enabled || buffers.size() < 2) return;
    try {
      thread_ = std::thread([this] { run(); });
    } catch (const std::exception&) {
      // No helper: the reads fault the pages in themselves.
    }
  }
  Prefaulter(const Prefaulter&) = delete;
  Prefaulter& operator=(const Prefaulter&) = delete;
  ~Prefaulter() {
    stop_.store(true, std::memory_order_relaxed);
    if (thread_.joinable()) thread_.join();
  }
  void wait_for(std::size_t index) {
    if (!thread_.joinable()) return;
    std::size_t ready = ready_.load(std::memory_order_acquire);
    while (ready <= index) {
      ready_.wait(ready, std::memory_order_acquire);
      ready = ready_.load(std::memory_order_acquire);
    }
  }

 private:
  void run() noexcept {
    for (std::size_t i = 0; i < buffers_.size() && !stop_.load(std::memory_order_relaxed); ++i) {
      populate(buffers_[i]);
      ready_.store(i + 1, std::memory_order_release);
      ready_.notify_one();
    }
    ready_.store(std::numeric_limits<std::size_t>::max(), std::memory_order_release);
    ready_.notify_one();
  }
  std::span<const std::span<std::byte>> buffers_;
  std::atomic<std::size_t> ready_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// ---- Deferred reads (the source of a streaming copy) ---------------------------------------

// What the deferred reads of one load share. The connection is their own (no context: it
// outlives the load call), used between reads with no transaction open, so a save of the same
// file is never held up by a copy that is slow to consume.
struct DeferredSource {
  std::unique_ptr<Database> db;
  std::string model_path;
  std::string url;
  std::int64_t model_id = 0;
  std::int64_t date_saved = 0;
};

std::string deferred_operation(const DeferredSource& source) {
  return "Failed to read the weights of '" + source.url + "' from IndexedDB for a copy";
}

// Row `seq` of the loaded version into `dest`, through `db` (inside a transaction). A save gives
// every version a fresh modelId and deletes the old rows in the same transaction, so a row found
// under the loaded modelId, path and date belongs to the loaded version; a replaced or removed
// model has none.
void read_deferred_row(Database& db, const DeferredSource& source, std::int64_t seq, std::span<std::byte> dest) {
  Statement s(db,
              "SELECT w.chunkId, length(w.data) FROM weight_chunks AS w JOIN models_store AS m ON m.modelId = w.modelId "
              "WHERE m.modelPath = ?1 AND m.modelId = ?2 AND m.dateSaved = ?3 AND w.seq = ?4");
  s.bind(1, std::string_view(source.model_path)).bind(2, source.model_id).bind(3, source.date_saved).bind(4, seq);
  if (!s.step()) {
    throw Error(Code::unavailable, deferred_operation(source) +
                                       ": the model changed while it was being copied (it was replaced or removed after "
                                       "it was loaded); copy it again");
  }
  const std::int64_t chunk_id = s.int64(0);
  const auto length = static_cast<std::uint64_t>(s.int64(1));
  s.reset();
  if (length != dest.size()) {
    throw Error(Code::corrupt, deferred_operation(source) + ": weight chunk " + std::to_string(seq) + " in '" +
                                   db.file().string() + "' holds " + std::to_string(length) + " bytes, not the " +
                                   std::to_string(dest.size()) + " it held when the model was loaded");
  }
  Blob blob(db, "weight_chunks", "data", false);
  blob.open(chunk_id);
  blob.read(dest, 0);
  blob.close();
}

// One deferred read: through the connection of a save of this process that holds the file's
// write transaction (see FileGate), else through the load's own connection in a short read
// transaction. The gate's mutex is not held while `use` is awaited nor during the read.
void fill_deferred_row(const DeferredSource& source, std::int64_t seq, std::span<std::byte> dest) {
  FileGate& gate = gate_for(source.db->file());
  std::shared_ptr<ActiveWriter> over;  // a published save found to have ended
  for (;;) {
    std::shared_ptr<ActiveWriter> writer;
    {
      std::lock_guard lock(gate.mutex);
      if (!gate.writer || gate.writer == over) {
        ++gate.own_reads;  // no save publishes until this read is done
        break;
      }
      writer = gate.writer;
    }
    std::lock_guard use(writer->use);
    // Only inside the save's transaction: the row lookup and the blob read must see one state.
    if (writer->db && !sqlite3_get_autocommit(writer->db->handle())) {
      Database& db = *writer->db;
      const std::string saving = db.operation();
      db.set_operation(deferred_operation(source));
      try {
        read_deferred_row(db, source, seq, dest);
      } catch (...) {
        db.set_operation(saving);
        throw;
      }
      db.set_operation(saving);
      return;
    }
    // That save has committed or failed (it unpublishes itself next); a newer one may have
    // been published meanwhile, so look again.
    over = std::move(writer);
  }
  struct OwnRead {
    FileGate& gate;
    ~OwnRead() {
      {
        std::lock_guard lock(gate.mutex);
        --gate.own_reads;
      }
      gate.own_reads_done.notify_all();
    }
  } own_read{gate};
  Database& db = *source.db;
  Transaction tx(db, Transaction::Kind::read);
  read_deferred_row(db, source, seq, dest);
  tx.commit();
}

}  // namespace

void load_model(const StoreSettings& settings, const std::string& model_path, const sdk::Context& context,
                sdk::LoadSink& sink) {
  OpenedStore store = open_store(settings, OpenMode::read, &context, "Failed to load model '" + model_path + "' from IndexedDB");
  if (!store.db || !store.has_schema) throw Error(Code::not_found, not_found_message(model_path));
  Database& db = *store.db;
  const std::string url = source_of(model_path);
  // One read transaction: the record and its chunks come from the same committed version.
  Transaction tx(db, Transaction::Kind::read);

  std::string sql = "SELECT modelId, hasWeightData, chunkCount, weightDataBytes, dateSaved";
  for (const auto& fc : kFieldColumns) sql += std::string(", ") + fc.column;
  sql += " FROM models_store WHERE modelPath = ?1";
  std::int64_t model_id = 0;
  bool has_weights = false;
  std::int64_t chunk_count = 0;
  std::int64_t weight_bytes = 0;
  std::int64_t date_saved = 0;
  {
    // Finalized here: a statement left on its row would keep the read lock after the commit,
    // and a deferred load hands the connection over to the fills.
    Statement record(db, sql);
    record.bind(1, std::string_view(model_path));
    if (!record.step()) throw Error(Code::not_found, not_found_message(model_path));
    model_id = record.int64(0);
    has_weights = record.int64(1) != 0;
    chunk_count = record.int64(2);
    weight_bytes = record.int64(3);
    date_saved = record.int64(4);
    for (std::size_t i = 0; i < kFieldColumns.size(); ++i) {
      const int column = static_cast<int>(5 + i);
      if (!record.is_null(column)) sink.set_field(kFieldColumns[i].field, record.text(column), url);
    }
  }
  if (!has_weights) {
    tx.commit();
    return;
  }

  auto incomplete = [&](const std::string& found) {
    return Error(Code::corrupt, "Failed to load model '" + model_path + "' from IndexedDB: its weight data in '" +
                                    db.file().string() + "' is incomplete: expected " + std::to_string(weight_bytes) +
                                    " bytes in " + std::to_string(chunk_count) + " chunks, found " + found);
  };
  // The rows and their sizes first: length() reads only the row's header, not its bytes.
  struct Row {
    std::int64_t id;
    std::uint64_t size;
  };
  std::vector<Row> rows;
  std::uint64_t total = 0;
  {
    Statement s(db, "SELECT chunkId, seq, length(data) FROM weight_chunks WHERE modelId = ?1 ORDER BY seq");
    s.bind(1, model_id);
    while (s.step()) {
      const auto seq = static_cast<std::size_t>(s.int64(1));
      if (seq != rows.size()) {
        throw incomplete("chunk " + std::to_string(seq) + " where chunk " + std::to_string(rows.size()) + " belongs");
      }
      rows.push_back({s.int64(0), static_cast<std::uint64_t>(s.int64(2))});
      total += rows.back().size;
    }
  }
  if (static_cast<std::int64_t>(rows.size()) != chunk_count || total != static_cast<std::uint64_t>(weight_bytes)) {
    throw incomplete(std::to_string(total) + " bytes in " + std::to_string(rows.size()) + " chunks");
  }
  if (rows.empty()) {
    sink.append_copy({});  // weight data present, and empty
    tx.commit();
    return;
  }
  if (sink.deferred_allowed()) {
    // The source of a streaming copy: each row is read when the copy needs it, by a fill that
    // may run after this call returned (so it owns its connection and knows nothing of `context`).
    tx.commit();
    auto source = std::make_shared<DeferredSource>();
    source->db = std::move(store.db);
    source->db->set_busy_context(nullptr);
    source->model_path = model_path;
    source->url = url;
    source->model_id = model_id;
    source->date_saved = date_saved;
    source->db->set_operation(deferred_operation(*source));
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const auto seq = static_cast<std::int64_t>(i);
      sink.append_deferred(rows[i].size, [source, seq](std::span<std::byte> dest) { fill_deferred_row(*source, seq, dest); });
    }
    return;
  }
  // The loaded model's buffers, one per row, allocated by the core; SQLite reads each row's
  // overflow pages straight into its buffer, past its own page cache.
  std::vector<std::span<std::byte>> buffers;
  buffers.reserve(rows.size());
  for (const Row& row : rows) buffers.push_back(sink.append_alloc(static_cast<std::size_t>(row.size)));
  Prefaulter prefault(buffers, total >= kPrefaultFrom);
  Blob blob(db, "weight_chunks", "data", false);
  std::uint64_t done = 0;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    context.throw_if_cancelled("loading '" + url + "'");
    prefault.wait_for(i);
    blob.open(rows[i].id);
    if (blob.size() != rows[i].size) throw incomplete("a chunk that changed size while it was read");
    blob.read(buffers[i], 0);
    done += rows[i].size;
    context.progress(done, static_cast<std::uint64_t>(weight_bytes), url);
  }
  blob.close();
  tx.commit();
}

void list_models(const StoreSettings& settings, std::string_view path_prefix, sdk::ListSink& sink) {
  OpenedStore store = open_store(settings, OpenMode::read, nullptr, "Failed to list the models in IndexedDB");
  if (!store.db || !store.has_schema) return;
  Database& db = *store.db;
  Statement s(db,
              "SELECT modelPath, dateSaved, modelTopologyType, modelTopologyBytes, weightSpecsBytes, weightDataBytes "
              "FROM model_info_store ORDER BY modelPath");
  while (s.step()) {
    std::string path = s.text(0);
    if (path.starts_with(path_prefix)) sink.add(path, info_from_row(s, 1));
  }
}

sdk::ModelInfo remove_model(const StoreSettings& settings, const std::string& model_path) {
  OpenedStore store = open_store(settings, OpenMode::read, nullptr, "Failed to remove model '" + model_path + "' from IndexedDB");
  if (!store.db || !store.has_schema) throw Error(Code::not_found, not_found_message(model_path));
  Database& db = *store.db;
  Transaction tx(db, Transaction::Kind::write);
  sdk::ModelInfo info;
  {
    Statement s(db,
                "SELECT dateSaved, modelTopologyType, modelTopologyBytes, weightSpecsBytes, weightDataBytes "
                "FROM model_info_store WHERE modelPath = ?1");
    s.bind(1, std::string_view(model_path));
    if (!s.step()) throw Error(Code::not_found, not_found_message(model_path));
    info = info_from_row(s, 0);
  }
  Statement(db, "DELETE FROM model_info_store WHERE modelPath = ?1").bind(1, std::string_view(model_path)).run();
  Statement(db, "DELETE FROM weight_chunks WHERE modelId IN (SELECT modelId FROM models_store WHERE modelPath = ?1)")
      .bind(1, std::string_view(model_path))
      .run();
  Statement(db, "DELETE FROM models_store WHERE modelPath = ?1").bind(1, std::string_view(model_path)).run();
  tx.commit();
  return info;
}

StorageEstimate estimate_storage(const StoreSettings& settings) {
  StorageEstimate e;
  const fs::path file = settings.database_file();
  for (const char* suffix : {"", "-journal", "-wal", "-shm"}) {
    struct stat st {};
    if (::stat((file.string() + suffix).c_str(), &st) == 0) e.usage += static_cast<std::uint64_t>(st.st_size);
  }
  std::uint64_t page_size = 65536;
  OpenedStore store = open_store(settings, OpenMode::read, nullptr, "Failed to estimate the storage of IndexedDB");
  if (store.db) {
    Database& db = *store.db;
    Transaction tx(db, Transaction::Kind::read);
    page_size = static_cast<std::uint64_t>(db.pragma_int("page_size"));
    e.database_bytes = static_cast<std::uint64_t>(db.pragma_int("page_count")) * page_size;
    e.free_bytes = static_cast<std::uint64_t>(db.pragma_int("freelist_count")) * page_size;
    if (store.has_schema) {
      Statement s(db, "SELECT count(*), coalesce(sum(weightDataBytes), 0) FROM model_info_store");
      if (s.step()) {
        e.model_count = static_cast<std::uint64_t>(s.int64(0));
        e.weight_bytes = static_cast<std::uint64_t>(s.int64(1));
      }
    }
    tx.commit();
  }
  // What can still be written: free disk space where the database lives (or would live).
  fs::path where = file.parent_path();
  std::error_code ec;
  while (!where.empty() && !fs::exists(where, ec) && where != where.parent_path()) where = where.parent_path();
  struct statvfs vfs {};
  std::uint64_t room = e.free_bytes;  // freelist pages are reused before the file grows
  if (::statvfs(where.c_str(), &vfs) == 0) room += static_cast<std::uint64_t>(vfs.f_bavail) * vfs.f_frsize;
  if (settings.max_page_count) {
    const std::uint64_t limit = static_cast<std::uint64_t>(*settings.max_page_count) * page_size;
    const std::uint64_t left = limit > e.database_bytes ? limit - e.database_bytes : 0;
    room = std::min(room, left + e.free_bytes);
  }
  e.quota = e.usage + room;
  return e;
}

}  // namespace modelport::indexeddb_plugin
