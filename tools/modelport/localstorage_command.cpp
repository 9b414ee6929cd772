// modelport localstorage export|import|purge|usage
//
// The store is the file <data>/localstorage/<origin>.sqlite that localstorage:// uses (the schema
// is documented in plugins/localstorage/web_storage.hpp: table items(seq, key, units, value),
// insertion order = seq, quota counted in UTF-16 code units). This command uses the same
// WebStorage class as the plugin, so the quota, the key order and the locking are the plugin's.
#include "localstorage_command.hpp"

#include "commands.hpp"
#include "global_options.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>

#include <web_storage.hpp>

#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <unistd.h>

namespace modelport::cli {

namespace ls = modelport::localstorage;
namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: modelport localstorage <action> [--origin O] [--data-dir D] [--quota N] [arguments]\n"
    "The key-value store behind localstorage:// URLs: one origin's string keys and values, as in a\n"
    "browser's window.localStorage, kept in <data>/localstorage/<origin>.sqlite.\n"
    "\n"
    "actions:\n"
    "  export FILE            write every key and value as one JSON object, keys in insertion order\n"
    "                         (what JSON.stringify({...localStorage}) gives in a browser); - is stdout\n"
    "  import [--clear] FILE  set every key of such a JSON object, all or nothing (values must be\n"
    "                         strings; the quota applies); --clear empties the origin first; - is stdin\n"
    "  purge [--json]         remove every key under tensorflowjs_models/ (tfjs's\n"
    "                         purgeLocalStorageArtifacts) and print the model paths removed\n"
    "                         (--json: a JSON array of them)\n"
    "  usage [--json]         print the store file, its key count and its use of the quota\n"
    "                         (--json: {origin, file, exists, keys, used, quota, free})\n"
    "\n"
    "options (each also read from the global -o origin=, -o data_dir=, -o quota=):\n"
    "  --origin O     the origin (else MODELPORT_ORIGIN, else 'default')\n"
    "  --data-dir D   the data folder (else MODELPORT_DATA_DIR, else $XDG_DATA_HOME/modelport,\n"
    "                 else ~/.local/share/modelport)\n"
    "  --quota N      UTF-16 code units of keys and values the origin may hold, or 'unlimited'\n"
    "                 (else MODELPORT_LOCALSTORAGE_QUOTA, else 5242880, a browser's 5 MiB)\n"
    "\n"
    "A browser's dump: run  copy(JSON.stringify({...localStorage}))  in its console. To restore one\n"
    "there:  Object.entries(JSON.parse(dump)).forEach(([k, v]) => localStorage.setItem(k, v))\n"
    "Exit codes: 0 done, 1 failed (the store was not changed), 2 bad arguments.\n";

int usage(const std::string& problem = {}) {
  if (!problem.empty()) std::cerr << "modelport localstorage: " << problem << '\n';
  (problem.empty() ? std::cout : std::cerr) << kUsage;
  return problem.empty() ? kExitOk : kExitUsage;
}

ErrorCode code_of(ls::StoreError::Kind kind) {
  using Kind = ls::StoreError::Kind;
  switch (kind) {
    case Kind::quota_exceeded: return ErrorCode::quota_exceeded;
    case Kind::invalid_argument: return ErrorCode::invalid_argument;
    case Kind::corrupt: return ErrorCode::corrupt;
    case Kind::permission_denied: return ErrorCode::permission_denied;
    case Kind::unavailable: return ErrorCode::unavailable;
    case Kind::io: return ErrorCode::unavailable;
  }
  return ErrorCode::internal;
}

struct Args {
  std::string action;
  std::vector<std::string> positional;
  std::optional<std::string> origin, data_dir, quota;
  bool clear = false;
  bool help = false;
  bool json = false;  // purge, usage: one JSON document on stdout
  std::string bad;
};

Args parse(std::span<const std::string> args) {
  Args a;
  auto value = [&](std::size_t& i, std::string_view name, std::optional<std::string>& out) {
    const std::string& arg = args[i];
    if (arg == name) {
      if (i + 1 >= args.size()) {
        a.bad = std::string(name) + " needs a value";
        return true;
      }
      out = args[++i];
      return true;
    }
    if (arg.starts_with(std::string(name) + "=")) {
      out = arg.substr(name.size() + 1);
      return true;
    }
    return false;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg == "-h" || arg == "--help") {
      a.help = true;
    } else if (value(i, "--origin", a.origin) || value(i, "--data-dir", a.data_dir) || value(i, "--quota", a.quota)) {
      continue;
    } else if (arg == "--clear") {
      a.clear = true;
    } else if (arg == "--json") {
      a.json = true;
    } else if (arg.starts_with("-") && arg != "-") {
      a.bad = "unknown option '" + arg + "'";
    } else if (a.action.empty()) {
      a.action = arg;
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

std::optional<std::string> global_option(const char* key) {
  const auto& options = global_options().plugin_options;
  auto it = options.find(key);
  return it == options.end() ? std::nullopt : std::optional<std::string>(it->second);
}

struct Store {
  ls::StoreLocation location;
  std::uint64_t quota;
};

Store resolve(const Args& a) {
  Store s;
  auto data_dir = a.data_dir ? a.data_dir : global_option("data_dir");
  auto origin = a.origin ? a.origin : global_option("origin");
  auto quota = a.quota ? a.quota : global_option("quota");
  s.location = ls::store_location(data_dir ? std::optional<std::string_view>(*data_dir) : std::nullopt,
                                  origin ? std::optional<std::string_view>(*origin) : std::nullopt);
  s.quota = ls::resolve_quota(quota ? std::optional<std::string_view>(*quota) : std::nullopt);
  return s;
}

ls::WebStorage open(const Store& s, ls::WebStorage::Mode mode) {
  ls::WebStorage::Options options;
  options.quota = s.quota;
  options.mode = mode;
  return ls::WebStorage(s.location.file, options);
}

std::string origin_text(const Store& s) { return "origin '" + s.location.origin + "' (" + s.location.file.string() + ")"; }

// A JSON string literal as JSON.stringify writes it, streamed: runs of plain characters are
// written as they are.
void write_json_string(std::ostream& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.put('"');
  std::size_t run = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.write(text.data() + run, static_cast<std::streamsize>(i - run));
    run = i + 1;
    switch (c) {
      case '"': out << "\\\""; break;
      case '\\': out << "\\\\"; break;
      case '\b': out << "\\b"; break;
      case '\f': out << "\\f"; break;
      case '\n': out << "\\n"; break;
      case '\r': out << "\\r"; break;
      case '\t': out << "\\t"; break;
      default: out << "\\u00" << kHex[c >> 4] << kHex[c & 15];
    }
  }
  out.write(text.data() + run, static_cast<std::streamsize>(text.size() - run));
  out.put('"');
}

std::size_t write_dump(ls::WebStorage& store, std::ostream& out) {
  std::size_t count = 0;
  out.put('{');
  store.for_each([&](std::string_view key, std::string_view value) {
    if (count++) out.put(',');
    write_json_string(out, key);
    out.put(':');
    write_json_string(out, value);
  });
  out.put('}');
  return count;
}

int run_export(const Args& a) {
  if (a.positional.size() != 1) return usage("export needs one FILE (- for stdout)");
  const Store s = resolve(a);
  ls::WebStorage store = open(s, ls::WebStorage::Mode::read_only);
  const std::string& file = a.positional[0];
  std::size_t count = 0;
  if (file == "-") {
    count = write_dump(store, std::cout);
    std::cout.flush();
    if (!std::cout) throw Error(ErrorCode::unavailable, "cannot write the dump to stdout");
  } else {
    // Written beside the target, then renamed over it: a reader never sees half a dump.
    const std::filesystem::path target = std::filesystem::absolute(file);
    const std::filesystem::path temp =
        target.parent_path() / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    {
      std::ofstream out(temp, std::ios::binary | std::ios::trunc);
      if (!out) throw Error(ErrorCode::unavailable, "cannot create '" + temp.string() + "'");
      try {
        count = write_dump(store, out);
      } catch (...) {
        out.close();
        std::error_code ec;
        std::filesystem::remove(temp, ec);
        throw;
      }
      out.close();
      if (!out) {
        std::error_code ec;
        std::filesystem::remove(temp, ec);
        throw Error(ErrorCode::unavailable, "cannot write '" + temp.string() + "' (disk full?)");
      }
    }
    std::error_code ec;
    std::filesystem::rename(temp, target, ec);
    if (ec) {
      std::filesystem::remove(temp, ec);
      throw Error(ErrorCode::unavailable, "cannot move the dump into place at '" + target.string() + "': " + ec.message());
    }
  }
  if (!global_options().quiet) {
    (file == "-" ? std::cerr : std::cout) << "exported " << count << " keys of " << origin_text(s)
                                         << (file == "-" ? std::string() : " to " + file) << '\n';
  }
  return kExitOk;
}

const char* kind_name(const bj::value& v) {
  switch (v.kind()) {
    case bj::kind::null: return "null";
    case bj::kind::bool_: return "a boolean";
    case bj::kind::int64:
    case bj::kind::uint64:
    case bj::kind::double_: return "a number";
    case bj::kind::string: return "a string";
    case bj::kind::array: return "an array";
    case bj::kind::object: return "an object";
  }
  return "a value";
}

int run_import(const Args& a) {
  if (a.positional.size() != 1) return usage("import needs one FILE (- for stdin)");
  const std::string& file = a.positional[0];
  std::string text;
  if (file == "-") {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else {
    std::ifstream in(file, std::ios::binary);
    if (!in) throw Error(ErrorCode::not_found, "cannot open the dump '" + file + "'");
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  const std::string source = file == "-" ? std::string("stdin") : file;
  // JSON.parse semantics: a repeated key keeps its first place and its last value.
  const bj::value dump = json::parse(text, source);
  if (!dump.is_object()) {
    throw Error(ErrorCode::invalid_argument, "the dump '" + source + "' is " + kind_name(dump) +
                                                 ", not a JSON object of keys and values; nothing was imported");
  }
  for (const auto& kv : dump.as_object()) {
    if (!kv.value().is_string()) {
      throw Error(ErrorCode::invalid_argument, "in the dump '" + source + "', the value of key '" + std::string(kv.key()) +
                                                   "' is " + kind_name(kv.value()) +
                                                   ": localStorage holds only strings; nothing was imported");
    }
  }
  const Store s = resolve(a);
  ls::WebStorage store = open(s, ls::WebStorage::Mode::read_write);
  try {
    store.write_transaction([&] {
      if (a.clear) store.clear();
      for (const auto& kv : dump.as_object()) {
        const auto& value = kv.value().get_string();
        store.set_item(std::string_view(kv.key()), std::string_view(value.data(), value.size()));
      }
    });
  } catch (const ls::StoreError& e) {
    throw Error(code_of(e.kind()), "cannot import '" + source + "' into " + origin_text(s) + ": " + e.what() +
                                       "; nothing was imported");
  }
  store.compact();
  if (!global_options().quiet) {
    std::cout << "imported " << dump.as_object().size() << " keys into " << origin_text(s) << '\n';
  }
  return kExitOk;
}

int run_purge(const Args& a) {
  if (!a.positional.empty()) return usage("purge takes no arguments");
  const Store s = resolve(a);
  std::vector<std::string> paths;
  std::error_code ec;
  if (std::filesystem::exists(s.location.file, ec)) {
    ls::WebStorage store = open(s, ls::WebStorage::Mode::read_write);
    paths = ls::purge_local_storage_artifacts(store);
  }
  if (a.json) {
    bj::array list;
    for (const auto& p : paths) list.emplace_back(p);
    std::cout << json::stringify(list) << '\n';
  } else {
    for (const auto& p : paths) std::cout << p << '\n';
  }
  if (!global_options().quiet) std::cerr << "purged " << paths.size() << " models from " << origin_text(s) << '\n';
  return kExitOk;
}

int run_usage(const Args& a) {
  if (!a.positional.empty()) return usage("usage takes no arguments");
  const Store s = resolve(a);
  ls::WebStorage store = open(s, ls::WebStorage::Mode::read_only);
  std::size_t keys = 0;
  std::uint64_t used = 0;
  store.read_transaction([&] {
    keys = store.length();
    used = store.used_units();
  });
  if (a.json) {
    bj::object o;
    o["origin"] = s.location.origin;
    o["file"] = s.location.file.string();
    o["exists"] = store.exists();
    o["keys"] = keys;
    o["used"] = used;
    o["quota"] = s.quota == ls::kUnlimitedQuota ? bj::value("unlimited") : bj::value(s.quota);
    if (s.quota != ls::kUnlimitedQuota) o["free"] = used < s.quota ? s.quota - used : 0;
    std::cout << json::stringify(o) << '\n';
    return kExitOk;
  }
  std::cout << "origin:  " << s.location.origin << '\n'
            << "file:    " << s.location.file.string() << (store.exists() ? "" : " (not created yet)") << '\n'
            << "keys:    " << keys << '\n'
            << "used:    " << used << " UTF-16 code units\n"
            << "quota:   " << (s.quota == ls::kUnlimitedQuota ? std::string("unlimited") : std::to_string(s.quota) + " UTF-16 code units")
            << '\n';
  if (s.quota != ls::kUnlimitedQuota) std::cout << "free:    " << (used < s.quota ? s.quota - used : 0) << " UTF-16 code units\n";
  return kExitOk;
}

}  // namespace

int run_localstorage(std::span<const std::string> args) {
  Args a = parse(args);
  if (a.help) return usage();
  if (!a.bad.empty()) return usage(a.bad);
  if (a.clear && a.action != "import") return usage("--clear is an option of import");
  if (a.json && a.action != "purge" && a.action != "usage") return usage("--json is an option of purge and usage");
  try {
    if (a.action == "export") return run_export(a);
    if (a.action == "import") return run_import(a);
    if (a.action == "purge") return run_purge(a);
    if (a.action == "usage") return run_usage(a);
  } catch (const ls::StoreError& e) {
    throw Error(code_of(e.kind()), e.what());
  }
  if (a.action.empty()) return usage("needs an action: export, import, purge or usage");
  return usage("unknown action '" + a.action + "'");
}

}  // namespace modelport::cli
