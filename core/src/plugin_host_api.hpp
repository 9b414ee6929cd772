// Internal: the core objects behind the opaque ABI types, and the host API table the core gives
// every plugin.
#pragma once

#include <modelport/model_artifacts.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/options.hpp>
#include <modelport/plugin_abi.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

// The ABI's opaque structs, defined by the core (global namespace, as declared in the C header).
struct modelport_status {
  int code = MODELPORT_OK;
  std::string message;
};

struct modelport_call_context {
  const modelport::CommonOptions* common = nullptr;
  const modelport::LoadOptions* load = nullptr;  // set for load handlers (URL converter)
  std::string first_error;                       // failures the plugin could not be told of in a status
};

struct modelport_load_sink {
  modelport::ModelArtifacts artifacts;
  std::optional<modelport::WeightsManifest> manifest;
  std::vector<std::string> shard_paths;
  modelport::WeightData weights;
  bool has_weights = false;
  bool any_field = false;
  std::string first_error;
  // Keeps the plugin's library resident while a buffer with its release hook is alive.
  std::shared_ptr<const void> pin;
};

struct modelport_save_sink {
  std::optional<modelport::ModelArtifactsInfo> info;
  std::optional<boost::json::array> responses;
};

struct modelport_list_sink {
  std::string prefix;
  std::vector<modelport::ListedModel> models;
};

struct modelport_info_sink {
  std::optional<modelport::ModelArtifactsInfo> info;
};

namespace modelport::detail {

const modelport_host_api* host_api();

// Converts an ABI info struct; byte counts of -1 stay unset.
ModelArtifactsInfo info_from_c(const modelport_model_info& info);

// Every field of the artifacts as compact JSON text, for a modelport_artifacts_view.
struct ArtifactsViewStorage {
  std::vector<std::string> texts;  // owns the field texts
  std::vector<modelport_span> chunks;
  modelport_artifacts_view view{};
};
void fill_view(const ModelArtifacts& artifacts, ArtifactsViewStorage& storage);

}  // namespace modelport::detail
