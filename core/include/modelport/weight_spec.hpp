// Weights manifest entries and groups (spec §1.3), typed, with unknown keys carried along.
//
// tfjs keeps manifest entries as the JSON objects themselves, so whatever a file holds comes
// back out when the model is saved again. To give the same bytes, each object remembers the
// order its keys were read in (`key_order`) and keeps keys it does not know (`extra`).
#pragma once

#include <modelport/export.hpp>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelport {

struct Quantization {
  std::string dtype;                          // "uint8" | "uint16" | "float16" (checked at decode)
  std::optional<double> min;                  // required for uint8/uint16
  std::optional<double> scale;                // required for uint8/uint16
  std::optional<std::string> original_dtype;  // written by the Python converter, ignored on read
  boost::json::object extra;                  // unknown keys, in file order
  std::vector<std::string> key_order;         // key order as read; empty = canonical order

  bool operator==(const Quantization&) const = default;
};

struct WeightSpec {
  std::string name;
  std::vector<std::int64_t> shape;  // [] is a scalar
  std::string dtype;                // logical dtype, checked at decode (unknown -> error there)
  std::optional<std::string> group;  // "model" | "optimizer"
  std::optional<Quantization> quantization;
  boost::json::object extra;
  std::vector<std::string> key_order;

  bool operator==(const WeightSpec&) const = default;
};

struct WeightsGroup {
  std::vector<std::string> paths;  // shard references, relative to model.json
  std::vector<WeightSpec> weights;
  boost::json::object extra;       // e.g. modelport's per-shard digests
  std::vector<std::string> key_order;

  bool operator==(const WeightsGroup&) const = default;
};

using WeightsManifest = std::vector<WeightsGroup>;

// JSON -> typed. `context` names the file or URL for error messages. Structural problems (not an
// object, name not a string, negative or fractional dims...) throw Error(corrupt) naming the
// context and the weight; unknown dtypes are accepted here and rejected at decode time, where
// tfjs rejects them.
MODELPORT_API WeightSpec weight_spec_from_json(const boost::json::value& json, std::string_view context);
MODELPORT_API std::vector<WeightSpec> weight_specs_from_json(const boost::json::value& json,
                                                             std::string_view context);
MODELPORT_API WeightsManifest weights_manifest_from_json(const boost::json::value& json,
                                                         std::string_view context);

// Typed -> JSON, in the remembered key order (canonical order for keys not read from a file:
// name, shape, dtype, group, quantization; quantization: dtype, min, scale, original_dtype).
MODELPORT_API boost::json::object to_json(const Quantization& quantization);
MODELPORT_API boost::json::object to_json(const WeightSpec& spec);
MODELPORT_API boost::json::array to_json(const std::vector<WeightSpec>& specs);
MODELPORT_API boost::json::object to_json(const WeightsGroup& group);
MODELPORT_API boost::json::array to_json(const WeightsManifest& manifest);

// getWeightSpecs: every group's weights, in order.
MODELPORT_API std::vector<WeightSpec> flatten(const WeightsManifest& manifest);

}  // namespace modelport
