// Runs a command-line tool of this build and captures what it prints.
#pragma once

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <string>
#include <sys/wait.h>

namespace modelport::test {

struct RunResult {
  int exit_code = -1;
  std::string out;  // stdout and stderr together
};

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// Runs `program args` through the shell (stderr joined to stdout).
inline RunResult run_program(const std::string& program, const std::string& args) {
  RunResult r;
  std::string command = quote(program) + " " + args + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_REQUIRE(pipe != nullptr);
  char chunk[4096];
  std::size_t n;
  while ((n = std::fread(chunk, 1, sizeof chunk, pipe)) > 0) r.out.append(chunk, n);
  int status = ::pclose(pipe);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace modelport::test
