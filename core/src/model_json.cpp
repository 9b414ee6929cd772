#include "json_access.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/limits.hpp>
#include <modelport/model_json.hpp>

#include <array>

namespace modelport {

namespace bj = boost::json;

namespace {

constexpr std::array<std::string_view, 11> kKnownKeys = {
    "modelTopology",       "trainingConfig",   "weightsManifest",     "format",
    "generatedBy",         "convertedBy",      "signature",           "userDefinedMetadata",
    "modelInitializer",    "initializerSignature", "weightSpecs"};

bool is_known_key(std::string_view key) {
  // weightSpecs is not a model.json key; it is listed so that a stray one is not mistaken for
  // an extension and written back next to the real manifest.
  for (auto k : kKnownKeys) {
    if (k == key) return true;
  }
  return false;
}

JsonField copy_as_is(const bj::object& obj, std::string_view key) {
  if (const auto* v = obj.if_contains(key)) return *v;
  return std::nullopt;
}

JsonField copy_unless_null(const bj::object& obj, std::string_view key) {
  if (const auto* v = obj.if_contains(key); v && !v->is_null()) return *v;
  return std::nullopt;
}

}  // namespace

ModelJson model_json_from_value(const bj::value& value, std::string_view source) {
  ModelJson out;
  if (value.is_array()) {
    // A bare weights manifest (weights_manifest.json, face-api's *-weights_manifest.json).
    out.weights_manifest = weights_manifest_from_json(value, source);
    out.artifacts.weight_specs = flatten(*out.weights_manifest);
    out.bare_manifest = true;
    return out;
  }
  const bj::object* obj = value.if_object();
  if (!obj) detail::throw_corrupt(source, "model JSON is neither an object nor a weights-manifest array");

  ModelArtifacts& a = out.artifacts;
  if (const auto* topology = obj->if_contains("modelTopology")) a.model_topology = ModelTopology(*topology);
  a.format = copy_as_is(*obj, "format");
  a.generated_by = copy_as_is(*obj, "generatedBy");
  a.converted_by = copy_as_is(*obj, "convertedBy");
  a.training_config = copy_unless_null(*obj, "trainingConfig");
  a.signature = copy_unless_null(*obj, "signature");
  a.user_defined_metadata = copy_unless_null(*obj, "userDefinedMetadata");
  a.model_initializer = copy_unless_null(*obj, "modelInitializer");
  a.initializer_signature = copy_unless_null(*obj, "initializerSignature");
  if (const auto* manifest = obj->if_contains("weightsManifest"); manifest && !manifest->is_null()) {
    out.weights_manifest = weights_manifest_from_json(*manifest, source);
    // A manifest that names no weight and no file is what a topology-only save writes: the
    // model has no weights, rather than an empty list of them.
    bool names_anything = false;
    for (const auto& g : *out.weights_manifest) names_anything |= !g.paths.empty() || !g.weights.empty();
    if (names_anything) a.weight_specs = flatten(*out.weights_manifest);
  }
  for (const auto& kv : *obj) {
    if (!is_known_key(kv.key())) a.extra_fields[kv.key()] = kv.value();
  }
  return out;
}

ModelJson parse_model_json(std::string_view text, std::string_view source) {
  if (text.size() > limits::max_model_json_bytes) {
    detail::throw_corrupt(source, "model JSON of " + std::to_string(text.size()) + " bytes exceeds the limit of " +
                                      std::to_string(limits::max_model_json_bytes) + " bytes (limits::max_model_json_bytes)");
  }
  return model_json_from_value(json::parse(text, source), source);
}

bj::array single_group_manifest(const std::vector<std::string>& paths,
                                  const std::optional<std::vector<WeightSpec>>& specs) {
  bj::object group;
  bj::array path_array;
  for (const auto& p : paths) path_array.emplace_back(p);
  group["paths"] = std::move(path_array);
  if (specs) group["weights"] = to_json(*specs);
  bj::array manifest;
  manifest.emplace_back(std::move(group));
  return manifest;
}

std::string serialize_model_json(const ModelArtifacts& a, const bj::value& weights_manifest,
                                 ModelJsonLayout layout) {
  if (a.has_binary_topology()) {
    throw Error(ErrorCode::invalid_argument,
                "cannot write model.json: the model topology is binary (a GraphDef), not JSON");
  }
  bj::object out;
  auto put_as_is = [&](std::string_view key, const std::optional<bj::value>& field) {
    if (field) out[key] = *field;
  };
  auto put_unless_null = [&](std::string_view key, const JsonField& field) {
    if (!is_nullish(field)) out[key] = *field;
  };
  std::optional<bj::value> topology;
  if (a.model_topology) topology = std::get<bj::value>(*a.model_topology);

  switch (layout) {
    case ModelJsonLayout::browser:
      put_as_is("modelTopology", topology);
      put_as_is("format", a.format);
      put_as_is("generatedBy", a.generated_by);
      put_as_is("convertedBy", a.converted_by);
      out["weightsManifest"] = weights_manifest;
      put_unless_null("signature", a.signature);
      put_unless_null("userDefinedMetadata", a.user_defined_metadata);
      put_unless_null("modelInitializer", a.model_initializer);
      put_unless_null("initializerSignature", a.initializer_signature);
      put_unless_null("trainingConfig", a.training_config);
      break;
    case ModelJsonLayout::node_file:
      put_as_is("modelTopology", topology);
      out["weightsManifest"] = weights_manifest;
      put_as_is("format", a.format);
      put_as_is("generatedBy", a.generated_by);
      put_as_is("convertedBy", a.converted_by);
      put_unless_null("trainingConfig", a.training_config);
      put_unless_null("signature", a.signature);
      put_unless_null("userDefinedMetadata", a.user_defined_metadata);
      put_unless_null("modelInitializer", a.model_initializer);
      put_unless_null("initializerSignature", a.initializer_signature);
      break;
  }
  for (const auto& kv : a.extra_fields) {
    if (!out.contains(kv.key())) out[kv.key()] = kv.value();
  }
  return json::stringify(out);
}

}  // namespace modelport
