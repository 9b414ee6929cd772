// `modelport plugins`: which scheme plugins were found, what they serve, and what failed.
#include "commands.hpp"
#include "global_options.hpp"

#include <modelport/json.hpp>

#include <iostream>

namespace modelport::cli {

namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: modelport plugins [--json]   (after global options: [--plugin-path DIR]...)\n"
    "\n"
    "Lists the scheme plugins found in the search folders (--plugin-path, then\n"
    "MODELPORT_PLUGIN_PATH, then the folder next to the modelport library, then the install\n"
    "folder): name, version, ABI, file, URL prefixes and capabilities, and every plugin that\n"
    "failed to load, with the stage that failed.\n"
    "Exit codes: 0 listed (even with failures), 2 bad arguments.\n";

bj::array capability_list(std::uint32_t caps) {
  bj::array out;
  if (caps & capability::save) out.emplace_back("save");
  if (caps & capability::load) out.emplace_back("load");
  if (caps & capability::list) out.emplace_back("list");
  if (caps & capability::remove) out.emplace_back("remove");
  if (caps & capability::save_streamed) out.emplace_back("save-streamed");
  return out;
}

}  // namespace

int run_plugins(std::span<const std::string> args) {
  bool as_json = false;
  for (const auto& arg : args) {
    if (arg == "--json") {
      as_json = true;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else {
      std::cerr << "modelport plugins: unexpected argument '" << arg << "'\n" << kUsage;
      return kExitUsage;
    }
  }
  global_options().quiet = true;  // failures are part of this command's own output
  const DiscoveryReport& report = ensure_plugins_discovered();
  auto plugins = PluginManager::global().plugins();

  if (as_json) {
    bj::object out;
    bj::array searched;
    for (const auto& d : report.searched) searched.emplace_back(d.string());
    out["searched"] = std::move(searched);
    bj::array list;
    for (const auto& p : plugins) {
      bj::object o;
      o["name"] = p.name;
      o["version"] = p.version;
      o["abi"] = std::to_string(p.abi_major) + "." + std::to_string(p.abi_minor);
      o["sdk"] = p.sdk_version;
      o["file"] = p.path.string();
      o["buildInfo"] = p.build_info;
      bj::array prefixes;
      bj::object caps;
      for (const auto& s : p.schemes) {
        prefixes.emplace_back(s.prefix);
        caps[s.prefix] = capability_list(s.capabilities);
      }
      o["prefixes"] = std::move(prefixes);
      o["capabilities"] = std::move(caps);
      list.emplace_back(std::move(o));
    }
    out["plugins"] = std::move(list);
    bj::array errors;
    for (const auto& e : report.errors) {
      bj::object o;
      o["file"] = e.path().string();
      o["stage"] = std::string(to_string(e.stage()));
      o["code"] = std::string(to_string(e.code()));
      o["message"] = e.what();
      errors.emplace_back(std::move(o));
    }
    out["errors"] = std::move(errors);
    std::cout << json::stringify(out) << '\n';
    return kExitOk;
  }

  std::cout << "searched:";
  for (const auto& d : report.searched) std::cout << "\n  " << d.string();
  std::cout << "\nplugins: " << plugins.size() << '\n';
  for (const auto& p : plugins) {
    std::cout << "  " << p.name << " " << p.version << "  (ABI " << p.abi_major << "." << p.abi_minor << ", SDK "
              << p.sdk_version << ")\n    file: " << p.path.string() << '\n';
    for (const auto& s : p.schemes) std::cout << "    " << s.prefix << "  " << capabilities_text(s.capabilities) << '\n';
  }
  if (!report.errors.empty()) {
    std::cout << "failed to load: " << report.errors.size() << '\n';
    for (const auto& e : report.errors) std::cout << "  [" << to_string(e.stage()) << "] " << e.what() << '\n';
  }
  return kExitOk;
}

}  // namespace modelport::cli
