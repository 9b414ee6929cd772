// The modelport command line: `modelport <command> [args]`.
//
// Arguments are parsed by hand: each command takes a handful of flags, and Boost.Program_options
// is not among the project's allowed dependencies.
#include "commands.hpp"
#include "global_options.hpp"
#include "localstorage_command.hpp"

#include <modelport/error.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: modelport [--plugin-path DIR]... [-o key=value]... [-q] <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  inspect   show a model's metadata and weights (--stats: decoded statistics and digests)\n"
    "  plugins   list the scheme plugins found and those that failed to load\n"
    "  cp        copy a model from one URL (or path) to another, across schemes\n"
    "  mv        move a model: copy, verify the copy, then remove the source\n"
    "  ls        list the models under a URL (file:///folder, indexeddb://, ...)\n"
    "  rm        remove a model\n"
    "  verify    decode every weight and check sizes and integrity digests\n"
    "  quantize  quantize float32 weights to uint8, uint16 or float16 (like the converter)\n"
    "  serve     serve a model store over HTTP to TensorFlow.js (save and load)\n"
    "  localstorage  export, import, purge or measure the localStorage store of an origin\n"
    "\n"
    "global options:\n"
    "  --plugin-path DIR  search DIR for plugins first (repeatable)\n"
    "  -o key=value       a scheme option for the plugins (repeatable), e.g. -o shard_bytes=4194304\n"
    "  -q                 quiet: no progress line, no summary line, no plugin warnings\n"
    "  -o verify_digests=0  load without checking integrity digests\n"
    "\n"
    "Exit codes: 0 ok, 1 failed, 2 bad command line, 3 verify found damage.\n"
    "Run 'modelport <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace modelport::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  // Global options come before the command name.
  std::size_t first = 0;
  while (first < args.size()) {
    if (args[first] == "--plugin-path" && first + 1 < args.size()) {
      global_options().plugin_paths.emplace_back(args[first + 1]);
      first += 2;
    } else if (args[first].starts_with("--plugin-path=")) {
      global_options().plugin_paths.emplace_back(args[first].substr(14));
      ++first;
    } else if (args[first] == "-o" && first + 1 < args.size()) {
      const std::string& kv = args[first + 1];
      auto eq = kv.find('=');
      if (eq == std::string::npos || eq == 0) {
        std::cerr << "modelport: -o takes key=value, got '" << kv << "'\n";
        return kExitUsage;
      }
      global_options().plugin_options[kv.substr(0, eq)] = kv.substr(eq + 1);
      first += 2;
    } else if (args[first] == "-q") {
      global_options().quiet = true;
      ++first;
    } else if (args[first] == "--plugin-path") {
      std::cerr << "modelport: --plugin-path needs a folder\n";
      return kExitUsage;
    } else {
      break;
    }
  }
  args.erase(args.begin(), args.begin() + static_cast<std::ptrdiff_t>(first));
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string command = args[0];
  std::span<const std::string> rest(args.data() + 1, args.size() - 1);
  try {
    if (command == "inspect") return run_inspect(rest);
    if (command == "plugins") return run_plugins(rest);
    if (command == "cp") return run_cp(rest);
    if (command == "mv") return run_mv(rest);
    if (command == "ls") return run_ls(rest);
    if (command == "rm") return run_rm(rest);
    if (command == "verify") return run_verify(rest);
    if (command == "quantize") return run_quantize(rest);
    if (command == "localstorage") return run_localstorage(rest);
    if (command == "serve") return run_serve(rest);
    std::cerr << "modelport: unknown command '" << command << "'\n" << kUsage;
    return kExitUsage;
  } catch (const modelport::Error& e) {
    std::cerr << "modelport " << command << ": " << e.what() << " [" << modelport::to_string(e.code()) << "]\n";
    return kExitFailure;
  } catch (const std::exception& e) {
    std::cerr << "modelport " << command << ": internal error: " << e.what() << '\n';
    return kExitFailure;
  }
}
