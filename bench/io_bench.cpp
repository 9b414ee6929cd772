// modelport-bench-io: the candidate side of `bench/run file` (see bench/README.md).
//
//   modelport-bench-io load URL [-o key=value ...]
//   modelport-bench-io save SRC DST [--shard-bytes N] [-o key=value ...]
//
// load: modelport::load(URL), then reads every byte of every weight buffer (an XOR of 8-byte
// words; mmap'd shards are faulted in by this pass) and prints the checksum to stderr, so the
// work cannot be optimized away and the time covers "bytes usable by the caller", not just
// "files mapped".
//
// save: modelport::load(SRC) (the file:// plugin maps the shards), then modelport::save(DST)
// with the plugin's defaults (durable: every file and folder is fsynced before save returns).
// DST is removed first when it holds a model, so every run writes fresh files, as
// `rm -rf DST; cp -r SRC DST && sync` does. The shard size of the copy is the source's (when
// the source is converter-sharded), like `modelport cp`, unless --shard-bytes N is given.
//
// -o key=value passes a plugin option (LoadOptions/SaveOptions::plugin_options), e.g.
// -o mmap=false or -o durable=false, for experiments.
//
// Plugins are found by PluginManager::discover_plugins() (in the build tree: lib/modelport/
// plugins/abi1 next to libmodelport.so). Phase timings, byte counts and the checksum go to
// stderr; stdout stays empty. Exit status: 0 success, 1 a modelport or system error, 2 usage.

#include <modelport/modelport.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iostream>
#include <limits>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::string_view kUsage =
    "usage: modelport-bench-io load URL [-o key=value ...]\n"
    "       modelport-bench-io save SRC DST [--shard-bytes N] [-o key=value ...]\n"
    "\n"
    "load  loads URL, then reads every byte of every weight buffer; prints the checksum,\n"
    "      the byte count and the phase times to stderr.\n"
    "save  loads SRC, removes DST when it holds a model, then saves to DST (the plugin's\n"
    "      defaults: durable, fsynced). The copy keeps SRC's shard size unless --shard-bytes N\n"
    "      (K, M, G suffixes: powers of 1024) is given.\n"
    "  -o key=value   a plugin option for the load and the save (repeatable), e.g. -o mmap=false,\n"
    "                 -o durable=false\n";

double ms_since(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

std::uint64_t parse_size(std::string_view text, std::string_view option) {
  std::uint64_t multiplier = 1;
  if (!text.empty()) {
    switch (text.back()) {
      case 'k': case 'K': multiplier = 1024; break;
      case 'm': case 'M': multiplier = 1024 * 1024; break;
      case 'g': case 'G': multiplier = 1024 * 1024 * 1024; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  if (text.empty()) throw UsageError(std::string(option) + ": empty value");
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') throw UsageError(std::string(option) + ": not a size: '" + std::string(text) + "'");
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      throw UsageError(std::string(option) + ": value too large");
    }
    value = value * 10 + digit;
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) throw UsageError(std::string(option) + ": value too large");
  if (value * multiplier == 0) throw UsageError(std::string(option) + " must be > 0");
  return value * multiplier;
}

struct Args {
  std::vector<std::string> positional;
  std::optional<std::uint64_t> shard_bytes;
  std::vector<std::pair<std::string, std::string>> plugin_options;
};

Args parse_args(int argc, char** argv, int first) {
  Args args;
  for (int i = first; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--shard-bytes" || a.starts_with("--shard-bytes=")) {
      std::string_view value;
      if (a == "--shard-bytes") {
        if (i + 1 >= argc) throw UsageError("--shard-bytes needs a value");
        value = argv[++i];
      } else {
        value = a.substr(std::strlen("--shard-bytes="));
      }
      args.shard_bytes = parse_size(value, "--shard-bytes");
    } else if (a == "-o") {
      if (i + 1 >= argc) throw UsageError("-o needs key=value");
      std::string_view kv = argv[++i];
      const auto eq = kv.find('=');
      if (eq == std::string_view::npos || eq == 0) throw UsageError("-o: expected key=value, got '" + std::string(kv) + "'");
      args.plugin_options.emplace_back(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
    } else if (a.starts_with("-") && a.size() > 1) {
      throw UsageError("unknown option '" + std::string(a) + "'");
    } else {
      args.positional.emplace_back(a);
    }
  }
  return args;
}

void discover_plugins() {
  const modelport::DiscoveryReport report = modelport::PluginManager::global().discover_plugins();
  for (const auto& e : report.errors) std::cerr << "modelport-bench-io: warning: " << e.what() << '\n';
}

// XOR of all 8-byte words (the tail bytes are folded in one by one). Four independent 16-byte
// accumulators (SSE2 on x86-64, NEON on arm64) keep the loop bound by memory and page faults,
// like the copy inside cat's read(); a scalar loop is measurably slower than cat's copy here.
using Word2 = std::uint64_t __attribute__((vector_size(16)));

std::uint64_t checksum(std::span<const std::byte> bytes) {
  const std::byte* p = bytes.data();
  std::size_t n = bytes.size();
  Word2 a0{0, 0}, a1{0, 0}, a2{0, 0}, a3{0, 0};
  while (n >= 64) {
    Word2 w0, w1, w2, w3;
    std::memcpy(&w0, p, 16);
    std::memcpy(&w1, p + 16, 16);
    std::memcpy(&w2, p + 32, 16);
    std::memcpy(&w3, p + 48, 16);
    a0 ^= w0;
    a1 ^= w1;
    a2 ^= w2;
    a3 ^= w3;
    p += 64;
    n -= 64;
  }
  a0 ^= a1 ^ a2 ^ a3;
  std::uint64_t acc = a0[0] ^ a0[1];
  while (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, sizeof w);
    acc ^= w;
    p += 8;
    n -= 8;
  }
  for (std::size_t i = 0; i < n; ++i) acc ^= static_cast<std::uint64_t>(std::to_integer<unsigned>(p[i])) << (8 * i);
  return acc;
}


int cmd_load(const Args& args) {
  if (args.positional.size() != 1) throw UsageError("load takes exactly one URL");
  if (args.shard_bytes) throw UsageError("load: --shard-bytes is for save");
  modelport::LoadOptions options;
  for (const auto& [k, v] : args.plugin_options) options.plugin_options[k] = v;

  const auto t0 = Clock::now();
  discover_plugins();
  const double discover_ms = ms_since(t0);

  const auto t1 = Clock::now();
  modelport::ModelArtifacts artifacts = modelport::load(args.positional[0], options);
  const double load_ms = ms_since(t1);

  const auto t2 = Clock::now();
  std::uint64_t sum = 0;
  std::uint64_t bytes = 0;
  std::size_t buffers = 0;
  if (artifacts.weight_data) {
    for (const auto& b : artifacts.weight_data->buffers()) {
      sum ^= checksum(b.span());
      bytes += b.size();
      ++buffers;
    }
  }
  const double touch_ms = ms_since(t2);

  std::fprintf(stderr,
               "load %s: %llu bytes in %zu buffer(s), xor64 %016llx; discover %.1f ms, load %.1f ms, touch %.1f ms\n",
               args.positional[0].c_str(), static_cast<unsigned long long>(bytes), buffers,
               static_cast<unsigned long long>(sum), discover_ms, load_ms, touch_ms);
  return 0;
}

// Removes the folder of a previous run at DST: only a folder that holds a model.json, or an
// empty one, so a mistyped DST never deletes unrelated files.
void remove_previous_output(const std::string& url) {
  if (!url.starts_with("file://")) return;
  const fs::path path = fs::absolute(fs::path(url.substr(std::strlen("file://")))).lexically_normal();
  std::error_code ec;
  if (!fs::exists(path, ec)) return;
  if (!fs::is_directory(path, ec)) throw std::runtime_error("save: DST '" + path.string() + "' exists and is not a folder");
  if (!fs::exists(path / "model.json", ec) && !fs::is_empty(path, ec)) {
    throw std::runtime_error("save: DST '" + path.string() +
                             "' is a non-empty folder without model.json; refusing to remove it");
  }
  fs::remove_all(path, ec);
  if (ec) throw std::runtime_error("save: cannot remove '" + path.string() + "': " + ec.message());
}

int cmd_save(const Args& args) {
  if (args.positional.size() != 2) throw UsageError("save takes SRC and DST");
  const std::string& src = args.positional[0];
  const std::string& dst = args.positional[1];
  modelport::LoadOptions load_options;
  modelport::SaveOptions save_options;
  for (const auto& [k, v] : args.plugin_options) {
    load_options.plugin_options[k] = v;
    save_options.plugin_options[k] = v;
  }

  discover_plugins();

  const auto t0 = Clock::now();
  modelport::ModelArtifacts artifacts = modelport::load(src, load_options);
  const double load_ms = ms_since(t0);

  if (args.shard_bytes) {
    save_options.plugin_options["shard_bytes"] = std::to_string(*args.shard_bytes);
  } else if (!save_options.plugin_options.count("shard_bytes")) {
    if (auto size = (artifacts.weight_data ? artifacts.weight_data->uniform_shard_size() : std::nullopt)) save_options.plugin_options["shard_bytes"] = std::to_string(*size);
  }

  const auto t1 = Clock::now();
  remove_previous_output(dst);
  const double remove_ms = ms_since(t1);

  const auto t2 = Clock::now();
  modelport::SaveResult result = modelport::save(dst, artifacts, save_options);
  const double save_ms = ms_since(t2);

  const std::uint64_t bytes = artifacts.weight_data ? artifacts.weight_data->size() : 0;
  auto shard = save_options.plugin_options.find("shard_bytes");
  std::fprintf(stderr, "save %s -> %s: %llu bytes (shard_bytes %s); load %.1f ms, remove old %.1f ms, save %.1f ms\n",
               src.c_str(), dst.c_str(), static_cast<unsigned long long>(bytes),
               shard == save_options.plugin_options.end() ? "none: one file" : shard->second.c_str(), load_ms, remove_ms,
               save_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    if (argc < 2) throw UsageError("missing command");
    const std::string_view command = argv[1];
    if (command == "-h" || command == "--help" || command == "help") {
      std::cout << kUsage;
      return 0;
    }
    const Args args = parse_args(argc, argv, 2);
    if (command == "load") return cmd_load(args);
    if (command == "save") return cmd_save(args);
    throw UsageError("unknown command '" + std::string(command) + "'");
  } catch (const UsageError& e) {
    std::cerr << "modelport-bench-io: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const modelport::Error& e) {
    std::cerr << "modelport-bench-io: error (" << modelport::to_string(e.code()) << "): " << e.what() << '\n';
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modelport-bench-io: error: " << e.what() << '\n';
    return 1;
  }
}
