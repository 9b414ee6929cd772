// Options every command shares (given before the command name) and the plugin set-up they drive.
#pragma once

#include <modelport/plugins.hpp>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace modelport::cli {

struct GlobalOptions {
  std::vector<std::filesystem::path> plugin_paths;  // --plugin-path DIR (repeatable), searched first
  bool quiet = false;                               // -q: no warnings about plugins that failed to load
  std::map<std::string, std::string> plugin_options;  // -o key=value (repeatable)
};

GlobalOptions& global_options();

// Discovers plugins once (--plugin-path, MODELPORT_PLUGIN_PATH, next to the core library, the
// install folder) into the global registries; returns the report of that one discovery.
const DiscoveryReport& ensure_plugins_discovered();

}  // namespace modelport::cli
