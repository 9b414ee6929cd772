// Scheme plugins: shared objects loaded at run time through the C ABI of
// <modelport/plugin_abi.h> (see docs/plugin-authors-guide.md).
//
// A loaded plugin's prefixes become routers of a RouterRegistry and, for plugins that can list
// or remove, managers of a ModelStoreRegistry. Libraries are never unloaded: every handler pins
// its plugin, and shutdown runs only at finalize().
#pragma once

#include <modelport/error.hpp>
#include <modelport/export.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace modelport {

// Where loading a plugin failed.
enum class PluginStage { find, open, entry, handshake, validate, init, register_prefix };
MODELPORT_API std::string_view to_string(PluginStage stage) noexcept;

class MODELPORT_API PluginError : public Error {
 public:
  PluginError(ErrorCode code, PluginStage stage, std::filesystem::path path, const std::string& message,
              std::string loader_text = {});
  PluginStage stage() const noexcept { return stage_; }
  const std::filesystem::path& path() const noexcept { return path_; }
  // The dynamic loader's own text (dlerror), when there was one.
  const std::string& loader_text() const noexcept { return loader_text_; }

 private:
  PluginStage stage_;
  std::filesystem::path path_;
  std::string loader_text_;
};

// Capability bits, as MODELPORT_CAP_* in the ABI.
namespace capability {
inline constexpr std::uint32_t save = 0x1;
inline constexpr std::uint32_t load = 0x2;
inline constexpr std::uint32_t list = 0x4;
inline constexpr std::uint32_t remove = 0x8;
inline constexpr std::uint32_t save_streamed = 0x10;  // ABI 1.1: saves that stream the weights
}  // namespace capability
MODELPORT_API std::string capabilities_text(std::uint32_t capabilities);  // "save,load,list"

struct PluginSchemeInfo {
  std::string prefix;
  std::uint32_t capabilities = 0;
};

struct PluginInfo {
  std::string name;
  std::string version;
  std::string sdk_version;
  std::string build_info;
  std::filesystem::path path;
  std::uint32_t abi_major = 0;
  std::uint32_t abi_minor = 0;
  std::vector<PluginSchemeInfo> schemes;
};

struct DiscoveryOptions {
  bool use_environment = true;    // MODELPORT_PLUGIN_PATH (":"-separated; "disable" turns discovery off)
  bool use_default_dirs = true;   // next to the core library, then the install folder
  std::vector<std::filesystem::path> extra_dirs;  // searched first
};

struct DiscoveryReport {
  std::vector<std::filesystem::path> searched;  // folders, in order
  std::vector<PluginInfo> loaded;
  std::vector<PluginError> errors;              // every failure; discovery goes on after each
};

// Messages from plugins (host->log). The default prints warnings and errors to stderr, and
// everything when MODELPORT_PLUGIN_DEBUG=1.
using PluginLogHandler = std::function<void(int level, std::string_view plugin, std::string_view message)>;
MODELPORT_API void set_plugin_log_handler(PluginLogHandler handler);

class MODELPORT_API PluginManager {
 public:
  explicit PluginManager(RouterRegistry& routers = RouterRegistry::global(),
                         ModelStoreRegistry& stores = ModelStoreRegistry::global());
  ~PluginManager();
  PluginManager(const PluginManager&) = delete;
  PluginManager& operator=(const PluginManager&) = delete;

  // The manager of the global registries.
  static PluginManager& global();

  // Loads, validates, initializes and registers one plugin. Every failure is a PluginError
  // naming the file and the stage. A prefix that is already served (by another plugin or an
  // in-process router) fails with already_exists naming both sides, and none of the plugin's
  // prefixes is registered.
  PluginInfo load_plugin(const std::filesystem::path& path);

  // Loads every libmodelport_plugin_*.so of the search folders in sorted order. A failure is
  // recorded and discovery goes on; a prefix two discovered plugins both declare is poisoned:
  // lookups of it fail with the collision message, other prefixes keep working.
  // MODELPORT_PLUGIN_SKIP=name,name skips plugins by name.
  DiscoveryReport discover_plugins(const DiscoveryOptions& options = {});

  std::vector<PluginInfo> plugins() const;
  // Errors of the last discovery, including poisoned prefixes.
  std::vector<PluginError> discovery_errors() const;

  // Calls every plugin's shutdown, newest first, after in-flight calls finish; afterwards
  // plugin handlers and loads fail with Error(unavailable). Idempotent.
  void finalize();

  // Open + entry + handshake + validate only (no init, nothing registered): what
  // modelport-plugin-info shows.
  static PluginInfo inspect(const std::filesystem::path& path);

  // The folders discovery searches by default, in order.
  static std::vector<std::filesystem::path> default_search_dirs();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace modelport
