#include <modelport/browser_files.hpp>
#include <modelport/error.hpp>
#include <modelport/model_json.hpp>
#include <modelport/weights_codec.hpp>

#include <algorithm>
#include <set>

namespace modelport {

std::string browser_basename(std::string_view path) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  while (!path.empty() && is_space(path.front())) path.remove_prefix(1);
  while (!path.empty() && is_space(path.back())) path.remove_suffix(1);
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  auto slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

namespace {

class BrowserFilesHandler final : public IOHandler {
 public:
  explicit BrowserFilesHandler(std::vector<NamedFile> files) : files_(std::move(files)) {}
  bool can_load() const noexcept override { return true; }

  ModelArtifacts load() override {
    const NamedFile& json_file = files_.front();
    const std::string& json_name = json_file.name;
    ModelJson parsed;
    try {
      parsed = parse_model_json(json_file.bytes.view(), json_name);
    } catch (const Error& e) {
      // tfjs prints a literal "{e.message}" here (spec §8.8); the real reason is more useful.
      throw Error(ErrorCode::corrupt, "Failed to parse file " + json_name + ": " + e.what());
    }
    ModelArtifacts& a = parsed.artifacts;
    if (parsed.bare_manifest || !a.model_topology || (a.topology_json() == nullptr && !a.has_binary_topology())) {
      throw Error(ErrorCode::invalid_argument, "modelTopology field is missing from file " + json_name);
    }
    if (!parsed.weights_manifest) {
      throw Error(ErrorCode::invalid_argument, "weightManifest field is missing from file " + json_name);
    }
    if (files_.size() == 1) {
      a.weight_specs.reset();  // no weight files, so no weights
      return std::move(a);
    }

    std::vector<std::pair<std::string, const NamedFile*>> by_name;
    for (std::size_t i = 1; i < files_.size(); ++i) by_name.emplace_back(browser_basename(files_[i].name), &files_[i]);
    std::set<std::string> seen;
    WeightData data;
    std::size_t manifest_paths = 0;
    for (const auto& group : *parsed.weights_manifest) {
      for (const auto& path : group.paths) {
        ++manifest_paths;
        std::string base = browser_basename(path);
        if (!seen.insert(base).second) {
          throw Error(ErrorCode::invalid_argument, "Duplicate file basename found in weights manifest: '" + base + "'");
        }
        auto it = std::find_if(by_name.begin(), by_name.end(), [&](const auto& f) { return f.first == base; });
        if (it == by_name.end()) {
          throw Error(ErrorCode::not_found, "Weight file with basename '" + base + "' is not provided.");
        }
        data.append(it->second->bytes);
      }
    }
    if (manifest_paths != files_.size() - 1) {
      throw Error(ErrorCode::invalid_argument, "Mismatch in the number of files in weights manifest (" +
                                                   std::to_string(manifest_paths) + ") and the number of weight files provided (" +
                                                   std::to_string(files_.size() - 1) + ").");
    }
    check_group_sizes(*parsed.weights_manifest, data.buffers(), json_name);
    a.weight_data = std::move(data);
    return std::move(a);
  }

 private:
  std::vector<NamedFile> files_;
};

}  // namespace

HandlerPtr browser_files(std::vector<NamedFile> files) {
  if (files.empty()) {
    throw Error(ErrorCode::invalid_argument, "When calling browserFiles, at least 1 file is required, but received no files");
  }
  return std::make_unique<BrowserFilesHandler>(std::move(files));
}

}  // namespace modelport
