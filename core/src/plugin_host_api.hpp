// Internal: the core objects behind the opaque ABI types, and the host API table the core gives
// every plugin.
#pragma once

#include <modelport/model_artifacts.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/options.hpp>
#include <modelport/plugin_abi.h>
#include <modelport/weight_stream.hpp>

#include <exception>

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

namespace modelport::detail {

// A weight shard a plugin reads later (ABI 1.1 load_append_weights_deferred). Owns the plugin's
// context: release runs once, when the last reference goes, and the library stays resident.
struct DeferredShard {
  // One of the two: fill copies into a core buffer, produce lends plugin memory.
  int (*fill)(void*, void*, uint64_t, modelport_status*) = nullptr;
  int (*produce)(void*, modelport_span*, void (**)(void*), void**, modelport_status*) = nullptr;
  void (*release)(void*) = nullptr;
  void* context = nullptr;
  bool armed = false;  // set once the core owns the context
  std::shared_ptr<const void> pin;
  ~DeferredShard() {
    if (armed && release) release(context);
  }
  // The shard's `size` bytes: filled into a fresh buffer, or lent by produce (released through
  // the plugin's hook). A failure returns the plugin's code with `status` set; `out` is left.
  int read(std::uint64_t size, modelport_status* status, Buffer& out) const;
};

// One piece of a streamed load's weights: bytes in hand, or a deferred shard.
struct StreamPart {
  Buffer bytes;
  std::shared_ptr<DeferredShard> deferred;
  std::uint64_t size = 0;
};

}  // namespace modelport::detail

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
  // A streamed load (IOHandler::load_streamed): the weights collect in stream_parts instead of
  // `weights`, and shards may be deferred.
  bool allow_deferred = false;
  std::vector<modelport::detail::StreamPart> stream_parts;
  // The stored layout when the plugin marks its shards (load_begin_shard): bytes per shard.
  bool shards_marked = false;
  std::vector<std::uint64_t> shard_sizes;
};

struct modelport_save_sink {
  std::optional<modelport::ModelArtifactsInfo> info;
  std::optional<boost::json::array> responses;
  // A streamed save: where save_next_weights reads, the part the plugin holds now, and the
  // failure of the stream (rethrown as is, so the caller sees the source's own error).
  modelport::WeightStream* stream = nullptr;
  modelport::Buffer current;
  std::exception_ptr stream_failure;
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
