// modelport-plugin-info PATH [--json]: what a plugin file declares, read through the handshake
// only (open, entry, validation). init never runs, so this is safe to point at any plugin.
#include <modelport/json.hpp>
#include <modelport/plugins.hpp>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  namespace bj = boost::json;
  std::string path;
  bool as_json = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") {
      as_json = true;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << "usage: modelport-plugin-info PATH [--json]\n"
                   "Opens a modelport plugin, calls its entry point and validates what it declares,\n"
                   "without initializing it. Exit codes: 0 valid, 1 the plugin failed (the stage and\n"
                   "cause are printed), 2 bad arguments.\n";
      return 0;
    } else if (path.empty()) {
      path = arg;
    } else {
      std::cerr << "modelport-plugin-info: unexpected argument '" << arg << "'\n";
      return 2;
    }
  }
  if (path.empty()) {
    std::cerr << "usage: modelport-plugin-info PATH [--json]\n";
    return 2;
  }
  try {
    modelport::PluginInfo info = modelport::PluginManager::inspect(path);
    if (as_json) {
      bj::object o;
      o["name"] = info.name;
      o["version"] = info.version;
      o["abi"] = std::to_string(info.abi_major) + "." + std::to_string(info.abi_minor);
      o["sdk"] = info.sdk_version;
      o["buildInfo"] = info.build_info;
      o["file"] = info.path.string();
      bj::array schemes;
      for (const auto& s : info.schemes) {
        schemes.emplace_back(bj::object{{"prefix", s.prefix}, {"capabilities", modelport::capabilities_text(s.capabilities)}});
      }
      o["schemes"] = std::move(schemes);
      std::cout << modelport::json::stringify(o) << '\n';
    } else {
      std::cout << "file:       " << info.path.string() << "\nname:       " << info.name << "\nversion:    " << info.version
                << "\nABI:        " << info.abi_major << "." << info.abi_minor << "\nSDK:        " << info.sdk_version
                << "\nbuild:      " << info.build_info << "\nschemes:\n";
      for (const auto& s : info.schemes) std::cout << "  " << s.prefix << "  " << modelport::capabilities_text(s.capabilities) << '\n';
    }
    return 0;
  } catch (const modelport::PluginError& e) {
    if (as_json) {
      bj::object o{{"file", e.path().string()}, {"stage", std::string(modelport::to_string(e.stage()))},
                   {"code", std::string(modelport::to_string(e.code()))}, {"message", e.what()}};
      std::cout << modelport::json::stringify(bj::object{{"error", std::move(o)}}) << '\n';
    } else {
      std::cerr << "modelport-plugin-info: [" << modelport::to_string(e.stage()) << "] " << e.what() << '\n';
    }
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "modelport-plugin-info: " << e.what() << '\n';
    return 1;
  }
}
