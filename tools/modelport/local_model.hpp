// Loads a model straight from local files: a model.json, a bare weights manifest, or a folder
// holding model.json; shards are memory-mapped. The CLI uses this for plain paths until the
// file:// plugin takes over.
#pragma once

#include <modelport/model_json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace modelport::cli {

struct LocalModel {
  std::filesystem::path json_path;
  ModelJson model;                                // artifacts with weight_data set
  std::vector<std::filesystem::path> shard_paths;  // in manifest order
};

// `location` is a path or a file:// URL. Shard paths resolve against the JSON file's folder.
LocalModel load_local_model(const std::string& location);

}  // namespace modelport::cli
