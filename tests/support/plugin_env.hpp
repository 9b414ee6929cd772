// The registries and plugin manager a test program loads its plugins into, the production way.
#pragma once

#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>

#include <filesystem>
#include <initializer_list>

namespace modelport::test {

// Loads `plugin_files` into its own registries. Plugins are never unloaded, so a test program
// creates one of these once (`static auto* env = new PluginEnv{...}`) and never destroys it.
struct PluginEnv {
  RouterRegistry routers;
  ModelStoreRegistry stores;
  PluginManager manager{routers, stores};

  PluginEnv(std::initializer_list<std::filesystem::path> plugin_files) {
    for (const auto& file : plugin_files) manager.load_plugin(file);
  }
};

}  // namespace modelport::test
