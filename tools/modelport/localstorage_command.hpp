// `modelport localstorage`: the key-value store behind localstorage:// URLs, one origin at a time
// (browser dumps in and out, purge, usage). It opens the origin's store file directly through the
// store library the plugin uses (plugins/localstorage/web_storage.hpp), not through the plugin.
#pragma once

#include <span>
#include <string>

namespace modelport::cli {

int run_localstorage(std::span<const std::string> args);

}  // namespace modelport::cli
