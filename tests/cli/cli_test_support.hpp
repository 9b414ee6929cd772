// Running the modelport CLI of this build in tests: each test gets its own data folder (the
// localstorage:// and indexeddb:// stores), so tests run in parallel without sharing state.
#pragma once

#include "cli_runner.hpp"
#include "test_support.hpp"

#include <modelport/json.hpp>

#include <filesystem>
#include <string>

namespace modelport::test {

// A temp folder with a data folder for the stores below it.
struct CliSandbox {
  TempDir tmp;
  std::filesystem::path data() const { return tmp.path() / "data"; }
  std::filesystem::path path(const std::string& name) const { return tmp.path() / name; }

  // `modelport args`, stdout and stderr together. `env` is prepended (e.g. "MODELPORT_PROGRESS=1").
  RunResult run(const std::string& args, const std::string& env = {}) const { return shell(command(args, env) + " 2>&1"); }
  // Only stdout (stderr dropped), for --json output.
  RunResult run_stdout(const std::string& args, const std::string& env = {}) const {
    return shell(command(args, env) + " 2>/dev/null");
  }
  // Only stderr (stdout dropped), for the progress line.
  RunResult run_stderr(const std::string& args, const std::string& env = {}) const {
    return shell(command(args, env) + " 2>&1 >/dev/null");
  }

 private:
  std::string command(const std::string& args, const std::string& env) const {
    // Only the stores' folder and the progress switch are set here; the rest of the caller's
    // environment (a plugin path, if any) passes through.
    return "MODELPORT_DATA_DIR=" + quote(data().string()) + " MODELPORT_PROGRESS=0 " + env + " " + quote(MODELPORT_CLI) + " " +
           args;
  }
  static RunResult shell(const std::string& command) {
    RunResult r;
    FILE* pipe = ::popen(command.c_str(), "r");
    BOOST_REQUIRE(pipe != nullptr);
    char chunk[4096];
    std::size_t n;
    while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) r.out.append(chunk, n);
    int status = ::pclose(pipe);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
  }
};

inline std::string q(const std::filesystem::path& p) { return quote(p.string()); }

}  // namespace modelport::test
