// model.json text assembled from the compact JSON texts the core hands a plugin: since each
// field is exactly what JavaScript's JSON.stringify writes, concatenating them in a reference
// writer's key order gives that writer's bytes.
#pragma once

#include <modelport/plugin.hpp>

#include <string>
#include <vector>

namespace modelport::file_plugin {

enum class Layout {
  node_file,  // tfjs-node file:// (plus modelInitializer/initializerSignature, which it drops)
  browser,    // http / downloads (getModelJSONForModelArtifacts)
};

// The weightsManifest value: [{"paths":[...],"weights":<specs>}] ("weights" only with specs).
std::string single_group_manifest(const std::vector<std::string>& paths, const sdk::ArtifactsView& artifacts);

std::string model_json(const sdk::ArtifactsView& artifacts, const std::string& manifest, Layout layout);

}  // namespace modelport::file_plugin
