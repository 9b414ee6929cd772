// The modelport command line: `modelport <command> [args]`.
//
// Arguments are parsed by hand: each command takes a handful of flags, and Boost.Program_options
// is not among the project's allowed dependencies.
#include "commands.hpp"

#include <modelport/error.hpp>

#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: modelport <command> [arguments]\n"
    "\n"
    "commands:\n"
    "  inspect   show a model's metadata and weights (--stats: decoded statistics and digests)\n"
    "\n"
    "Run 'modelport <command> --help' for a command's options.\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace modelport::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
    (args.empty() ? std::cerr : std::cout) << kUsage;
    return args.empty() ? kExitUsage : kExitOk;
  }
  const std::string command = args[0];
  std::span<const std::string> rest(args.data() + 1, args.size() - 1);
  try {
    if (command == "inspect") return run_inspect(rest);
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
