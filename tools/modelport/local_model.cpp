#include "local_model.hpp"

#include "mapped_file.hpp"

#include <modelport/error.hpp>
#include <modelport/weights_codec.hpp>

namespace modelport::cli {

namespace fs = std::filesystem;

LocalModel load_local_model(const std::string& location) {
  std::string path_text = location;
  if (path_text.starts_with("file://")) path_text.erase(0, 7);
  fs::path path(path_text);
  std::error_code ec;
  if (fs::is_directory(path, ec)) path /= "model.json";

  LocalModel local;
  local.json_path = path;
  Buffer json_bytes;
  try {
    json_bytes = map_file(path);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::not_found) {
      throw Error(ErrorCode::not_found, "Path " + path.string() + " does not exist: loading failed");
    }
    throw;
  }
  local.model = parse_model_json(json_bytes.view(), path.string());

  if (local.model.weights_manifest) {
    WeightData data;
    for (const auto& group : *local.model.weights_manifest) {
      for (const auto& shard : group.paths) {
        // Node path.join semantics: relative to the JSON's folder, a leading '/' does not make
        // the manifest path absolute.
        fs::path shard_path = (path.parent_path() / fs::path(shard).relative_path()).lexically_normal();
        try {
          data.append(map_file(shard_path));
        } catch (const Error& e) {
          if (e.code() == ErrorCode::not_found) {
            throw Error(ErrorCode::not_found, "Weight file " + shard_path.string() + " does not exist: loading failed");
          }
          throw;
        }
        local.shard_paths.push_back(shard_path);
      }
    }
    check_group_sizes(*local.model.weights_manifest, data.buffers(), path.string());
    local.model.artifacts.weight_data = std::move(data);
  }
  return local;
}

}  // namespace modelport::cli
