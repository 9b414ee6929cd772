// The subcommands of the modelport CLI. Each takes its own arguments (after the subcommand name)
// and returns the process exit code.
#pragma once

#include <span>
#include <string>

namespace modelport::cli {

// Exit codes shared by every command.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the model or store is missing, unreadable or invalid
inline constexpr int kExitUsage = 2;    // bad command line
inline constexpr int kExitVerifyFailed = 3;  // verify: the model was read but is damaged

int run_inspect(std::span<const std::string> args);
int run_plugins(std::span<const std::string> args);
int run_cp(std::span<const std::string> args);
int run_mv(std::span<const std::string> args);
int run_ls(std::span<const std::string> args);
int run_rm(std::span<const std::string> args);
int run_verify(std::span<const std::string> args);
int run_quantize(std::span<const std::string> args);
// `modelport serve`: the HTTP model server (tools/modelport/serve_command.cpp, tools/serve/).
int run_serve(std::span<const std::string> args);

}  // namespace modelport::cli
