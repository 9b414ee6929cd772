// `modelport serve`: placeholder until the server lands (issue #7).
#include "commands.hpp"

#include <iostream>

namespace modelport::cli {

int run_serve(std::span<const std::string>) {
  std::cerr << "modelport serve: not built yet\n";
  return kExitFailure;
}

}  // namespace modelport::cli
