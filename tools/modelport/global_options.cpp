#include "global_options.hpp"

#include <iostream>

namespace modelport::cli {

GlobalOptions& global_options() {
  static GlobalOptions options;
  return options;
}

const DiscoveryReport& ensure_plugins_discovered() {
  static const DiscoveryReport report = [] {
    DiscoveryOptions options;
    options.extra_dirs = global_options().plugin_paths;
    DiscoveryReport r = PluginManager::global().discover_plugins(options);
    if (!global_options().quiet) {
      for (const auto& e : r.errors) std::cerr << "modelport: warning: " << e.what() << '\n';
    }
    return r;
  }();
  return report;
}

}  // namespace modelport::cli
