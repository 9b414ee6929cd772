// How TensorFlow.js lays a model out in localStorage (tfjs-io §3.3): five keys per model path P,
//   tensorflowjs_models/P/info            compact JSON of ModelArtifactsInfo (dateSaved as ISO text)
//   tensorflowjs_models/P/model_topology  compact JSON of modelTopology
//   tensorflowjs_models/P/weight_specs    compact JSON of the weightSpecs array
//   tensorflowjs_models/P/weight_data     standard base64 of all weight bytes
//   tensorflowjs_models/P/model_metadata  compact JSON {format, generatedBy, convertedBy, signature,
//                                         userDefinedMetadata, modelInitializer,
//                                         initializerSignature, trainingConfig}
// written in that order. Pure text helpers, shared by the plugin and the tests.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace modelport::localstorage {

inline constexpr std::string_view kModelsPrefix = "tensorflowjs_models";
inline constexpr std::string_view kScheme = "localstorage://";

struct ModelKeys {
  std::string info, topology, weight_specs, weight_data, model_metadata;
  explicit ModelKeys(std::string_view model_path);
};

// The model path of a key `tensorflowjs_models/<P>/info` (tfjs's getModelPathFromKey: the
// segments between the first and the last); nullopt for any other key. Throws
// std::invalid_argument "Invalid key format: <key>" for a matching key of fewer than 3 segments.
std::optional<std::string> model_path_of_info_key(std::string_view key);

// JavaScript's Date.prototype.toISOString(): "2024-05-01T12:34:56.789Z".
std::string format_iso8601(std::int64_t ms_since_epoch);
// The ISO-8601 forms Date.parse reads: "YYYY-MM-DD", "YYYY-MM-DDTHH:mm", ":ss", ".sss" (any number
// of digits), then "Z", "+HH:mm" / "-HH:mm", or nothing (read as UTC). Milliseconds since the epoch.
std::optional<std::int64_t> parse_iso8601(std::string_view text);

struct StoredInfo {
  std::int64_t date_saved_ms = 0;
  bool has_date = false;
  std::string model_topology_type = "JSON";
  std::optional<std::uint64_t> model_topology_bytes, weight_specs_bytes, weight_data_bytes;
};

// {"dateSaved":"…","modelTopologyType":"JSON","modelTopologyBytes":a,"weightSpecsBytes":b,
//  "weightDataBytes":c}, byte for byte as tfjs writes it.
std::string info_json(const StoredInfo& info);
// Reads an info value. Throws JsonError when it is not a JSON object; fields of the wrong type
// are left unset (has_date false, counts nullopt, an empty type).
StoredInfo parse_info_json(std::string_view text);

}  // namespace modelport::localstorage
