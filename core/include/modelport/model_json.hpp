// The model.json codec (spec §1.2, §3.1, §3.2.2, §5.6).
#pragma once

#include <modelport/export.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/weight_spec.hpp>

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace modelport {

// A parsed model.json: the artifacts (without weight data, which the handler loads from the
// shards) and the manifest that says where the shards are. A bare weights-manifest file (a JSON
// array of groups) parses too: only the manifest and weight specs are then set.
struct ModelJson {
  ModelArtifacts artifacts;
  std::optional<WeightsManifest> weights_manifest;
  bool bare_manifest = false;
};

// getModelArtifactsForJSON: modelTopology, format, generatedBy and convertedBy copied as they
// are (null stays null); trainingConfig, signature, userDefinedMetadata, modelInitializer and
// initializerSignature only when not null; weightSpecs = the flattened manifest; unknown keys
// kept in extra_fields. Throws Error(corrupt) naming `source` when the text is not JSON, not an
// object or array, or the manifest is malformed.
MODELPORT_API ModelJson parse_model_json(std::string_view text, std::string_view source);
MODELPORT_API ModelJson model_json_from_value(const boost::json::value& json, std::string_view source);

// Which reference writer's key order to follow.
enum class ModelJsonLayout {
  // getModelJSONForModelArtifacts (http save, downloads): modelTopology, format, generatedBy,
  // convertedBy, weightsManifest, then signature, userDefinedMetadata, modelInitializer,
  // initializerSignature, trainingConfig when not null.
  browser,
  // tfjs-node file:// save: modelTopology, weightsManifest, format, generatedBy, convertedBy, then
  // trainingConfig, signature, userDefinedMetadata when not null. tfjs-node drops
  // modelInitializer and initializerSignature; modelport writes them after those (a fix).
  node_file,
};

// The weightsManifest value a single-group saver writes: [{"paths": paths, "weights": specs}];
// the "weights" key is left out when there are no specs, as tfjs does.
MODELPORT_API boost::json::array single_group_manifest(const std::vector<std::string>& paths,
                                                       const std::optional<std::vector<WeightSpec>>& specs);

// Compact model.json text for `artifacts` with the given manifest. Throws
// Error(invalid_argument) for a raw-bytes topology. Unknown top-level keys go last.
MODELPORT_API std::string serialize_model_json(const ModelArtifacts& artifacts,
                                               const boost::json::value& weights_manifest,
                                               ModelJsonLayout layout);

}  // namespace modelport
