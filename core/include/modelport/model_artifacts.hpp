// The in-memory model (spec §1.1), the result of a save and the summary info (spec §1.6).
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/export.hpp>
#include <modelport/weight_data.hpp>
#include <modelport/weight_spec.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace modelport {

// A JSON field of the artifacts: std::nullopt = absent; a JSON null = present and null. The
// difference matters: `"convertedBy":null` is written back out, an absent field is not.
using JsonField = std::optional<boost::json::value>;

// A topology is JSON, or raw bytes (a binary GraphDef; every built-in saver rejects those).
using ModelTopology = std::variant<boost::json::value, Buffer>;

struct MODELPORT_API ModelArtifacts {
  std::optional<ModelTopology> model_topology;
  JsonField training_config;
  std::optional<std::vector<WeightSpec>> weight_specs;
  std::optional<WeightData> weight_data;
  JsonField format;
  JsonField generated_by;
  JsonField converted_by;
  JsonField signature;
  JsonField user_defined_metadata;
  JsonField model_initializer;
  JsonField initializer_signature;
  // Top-level model.json keys that tfjs does not define, carried along on copies.
  boost::json::object extra_fields;

  // The JSON topology, or nullptr when absent, null, or raw bytes.
  const boost::json::value* topology_json() const noexcept;
  bool has_binary_topology() const noexcept;
};

// JS `x == null` for a field: absent or JSON null.
inline bool is_nullish(const JsonField& field) noexcept { return !field || field->is_null(); }

struct ModelArtifactsInfo {
  std::chrono::system_clock::time_point date_saved{};
  std::string model_topology_type = "JSON";  // "JSON" | "GraphDef"
  std::optional<std::uint64_t> model_topology_bytes;
  std::optional<std::uint64_t> weight_specs_bytes;
  std::optional<std::uint64_t> weight_data_bytes;

  bool operator==(const ModelArtifactsInfo&) const = default;
};

// getModelArtifactsInfoForJSON: byte counts of the compact JSON exactly as tfjs computes them.
// Differs from tfjs in one documented way: an empty list of weight buffers counts as 0 bytes
// (tfjs reports undefined). Throws Error(invalid_argument) for a raw-bytes topology.
MODELPORT_API ModelArtifactsInfo get_model_artifacts_info(
    const ModelArtifacts& artifacts,
    std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

// Compact-JSON form of the info, keys in tfjs order, dateSaved as ISO-8601 UTC with milliseconds.
MODELPORT_API boost::json::object to_json(const ModelArtifactsInfo& info);
MODELPORT_API ModelArtifactsInfo model_artifacts_info_from_json(const boost::json::value& json,
                                                                std::string_view context);

// "2024-05-01T12:34:56.789Z" <-> time_point (millisecond precision, as JS Date).
MODELPORT_API std::string format_iso8601(std::chrono::system_clock::time_point time);
MODELPORT_API std::optional<std::chrono::system_clock::time_point> parse_iso8601(std::string_view text);

struct SaveResult {
  ModelArtifactsInfo model_artifacts_info;
  // Transport responses (the http plugin sets one: status and headers as JSON).
  std::optional<boost::json::array> responses;
  std::optional<std::vector<std::string>> errors;
};

}  // namespace modelport
