// An embedder of the INSTALLED modelport: built once through pkg-config and once through
// find_package(modelport) by run_install_test.sh, never with the source tree's include paths.
//
//   consumer                                       parse a small model.json with the core
//   consumer --plugins <json> --name <n> --prefix <p> --file <path> [--installed-plugins <dir>]
//                                                  instead check `modelport plugins --json` output:
//                                                  plugin <n> is listed, serves <p> and was loaded
//                                                  from <path>; every plugin file in <dir> loaded
//                                                  without error
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>

#include <boost/json/value.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <variant>

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::cout << (ok ? "  ok    " : "  FAIL  ") << what << '\n';
  if (!ok) ++failures;
}

void check_model_json() {
  const std::string text = R"({"modelTopology":{"class_name":"Sequential"},"format":"layers-model",
    "generatedBy":"TensorFlow.js tfjs-layers v4.22.0","convertedBy":null,
    "weightsManifest":[{"paths":["group1-shard1of1.bin"],
                        "weights":[{"name":"dense/kernel","shape":[2,3],"dtype":"float32"}]}]})";
  modelport::ModelJson parsed = modelport::parse_model_json(text, "consumer:model.json");
  const auto& a = parsed.artifacts;
  const auto* topology = a.model_topology ? std::get_if<boost::json::value>(&*a.model_topology) : nullptr;
  check(topology != nullptr && topology->is_object(), "parse_model_json: modelTopology is an object");
  check(a.format && a.format->is_string() && a.format->as_string() == "layers-model", "parse_model_json: format");
  check(a.weight_specs && a.weight_specs->size() == 1 && (*a.weight_specs)[0].name == "dense/kernel" &&
            (*a.weight_specs)[0].shape == std::vector<std::int64_t>{2, 3},
        "parse_model_json: weightSpecs flattened from the manifest");
  check(parsed.weights_manifest && parsed.weights_manifest->size() == 1 &&
            (*parsed.weights_manifest)[0].paths == std::vector<std::string>{"group1-shard1of1.bin"},
        "parse_model_json: weightsManifest paths");
  bool threw = false;
  try {
    modelport::parse_model_json("{not json", "consumer:broken.json");
  } catch (const std::exception& e) {
    threw = std::string(e.what()).find("consumer:broken.json") != std::string::npos;
  }
  check(threw, "parse_model_json: corrupt text throws an error naming the source");
}

bool same_file(const std::string& a, const std::string& b) {
  std::error_code ec;
  return std::filesystem::equivalent(a, b, ec) && !ec;
}

void check_plugins(const std::string& json_path, const std::string& name, const std::string& prefix,
                   const std::string& file, const std::string& installed_dir) {
  std::ifstream in(json_path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  boost::json::value doc;
  try {
    doc = modelport::json::parse(buffer.str(), json_path);
  } catch (const std::exception& e) {
    check(false, std::string("`modelport plugins --json` prints JSON: ") + e.what());
    return;
  }
  const auto* root = doc.if_object();
  check(root != nullptr, "output is a JSON object");
  if (!root) return;
  const auto* plugins = root->if_contains("plugins");
  check(plugins && plugins->is_array(), "output has a \"plugins\" array");
  const auto* errors = root->if_contains("errors");
  check(errors && errors->is_array(), "output has an \"errors\" array");
  if (errors && errors->is_array()) {
    for (const auto& e : errors->as_array()) {
      std::string text = modelport::json::stringify(e);
      std::cout << "  note  discovery error: " << text << '\n';
      check(text.find(std::filesystem::path(file).filename().string()) == std::string::npos,
            "no discovery error about " + file);
      if (!installed_dir.empty()) {
        check(text.find(installed_dir) == std::string::npos, "no discovery error about a plugin in " + installed_dir);
      }
    }
  }
  if (!plugins || !plugins->is_array()) return;

  // Every plugin the install put beside the core is discovered and loads.
  std::error_code ec;
  if (!installed_dir.empty() && std::filesystem::is_directory(installed_dir, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(installed_dir, ec)) {
      const std::string fname = entry.path().filename().string();
      if (!fname.starts_with("libmodelport_plugin_") || !fname.ends_with(".so")) continue;
      bool listed = false;
      for (const auto& p : plugins->as_array()) {
        const auto* o = p.if_object();
        const auto* f = o ? o->if_contains("file") : nullptr;
        listed |= f && f->is_string() && same_file(std::string(f->as_string()), entry.path().string());
      }
      check(listed, "installed plugin " + entry.path().string() + " is discovered and loaded");
    }
  }

  const boost::json::object* found = nullptr;
  for (const auto& p : plugins->as_array()) {
    const auto* o = p.if_object();
    if (!o) continue;
    const auto* n = o->if_contains("name");
    if (n && n->is_string() && n->as_string() == name) {
      if (found) check(false, "plugin '" + name + "' is listed once");
      found = o;
    }
  }
  check(found != nullptr, "plugin '" + name + "' is listed");
  if (!found) return;

  const auto* prefixes = found->if_contains("prefixes");
  bool has_prefix = false;
  if (prefixes && prefixes->is_array()) {
    for (const auto& p : prefixes->as_array()) has_prefix |= p.is_string() && p.as_string() == prefix;
  }
  check(has_prefix, "plugin '" + name + "' serves " + prefix);

  const auto* f = found->if_contains("file");
  check(f && f->is_string() && same_file(std::string(f->as_string()), file),
        "plugin '" + name + "' was loaded from " + file +
            (f && f->is_string() ? " (listed: " + std::string(f->as_string()) + ")" : ""));

  const auto* version = found->if_contains("version");
  check(version && version->is_string() && version->as_string() == "1.0.0", "plugin version is 1.0.0");

  const auto* abi = found->if_contains("abi");
  bool abi_ok = false;
  if (abi && abi->is_int64()) abi_ok = abi->as_int64() == 1;
  if (abi && abi->is_uint64()) abi_ok = abi->as_uint64() == 1;
  if (abi && abi->is_string()) abi_ok = abi->as_string().starts_with("1");
  check(abi_ok, "plugin ABI major is 1");

  // memstore declares every capability. The CLI prints them per prefix:
  // "capabilities": {"memstore://": ["save", "load", "list", "remove"]}.
  const auto* caps = found->if_contains("capabilities");
  const boost::json::value* for_prefix = nullptr;
  if (caps && caps->is_object()) for_prefix = caps->as_object().if_contains(prefix);
  bool caps_ok = for_prefix != nullptr && for_prefix->is_array();
  if (caps_ok) {
    for (const char* c : {"save", "load", "list", "remove"}) {
      bool has = false;
      for (const auto& v : for_prefix->as_array()) has |= v.is_string() && v.as_string() == c;
      caps_ok = caps_ok && has;
    }
  }
  check(caps_ok, "plugin declares save, load, list and remove for " + prefix);
}

}  // namespace

int main(int argc, char** argv) {
  std::string plugins_json, name, prefix, file, installed_dir;
  if (argc % 2 == 0) {
    std::cerr << "consumer: arguments come in --key value pairs\n";
    return 2;
  }
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i];
    if (key == "--plugins") plugins_json = argv[i + 1];
    else if (key == "--name") name = argv[i + 1];
    else if (key == "--prefix") prefix = argv[i + 1];
    else if (key == "--file") file = argv[i + 1];
    else if (key == "--installed-plugins") installed_dir = argv[i + 1];
    else {
      std::cerr << "consumer: unknown argument " << key << '\n';
      return 2;
    }
  }
  try {
    if (plugins_json.empty()) {
      check_model_json();
    } else {
      check_plugins(plugins_json, name, prefix, file, installed_dir);
    }
  } catch (const std::exception& e) {
    std::cerr << "consumer: unexpected exception: " << e.what() << '\n';
    return 1;
  }
  return failures == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
