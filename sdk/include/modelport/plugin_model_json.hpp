// model.json text for plugins that write one (files, downloads, http uploads), assembled from the
// compact JSON texts the core hands a plugin: each field is exactly what JavaScript's
// JSON.stringify writes, so concatenating them in a reference writer's key order gives that
// writer's bytes. Header-only, like the rest of the SDK.
#pragma once

#include <modelport/plugin.hpp>

#include <string>
#include <vector>

namespace modelport::sdk {

enum class ModelJsonLayout {
  node_file,  // tfjs-node file:// (plus modelInitializer/initializerSignature, which it drops)
  browser,    // http uploads and downloads (tfjs's getModelJSONForModelArtifacts)
};

// The weightsManifest value: [{"paths":[...],"weights":<specs>}] ("weights" only with specs).
inline std::string single_group_manifest(const std::vector<std::string>& paths, const ArtifactsView& artifacts) {
  std::string out = "[{\"paths\":[";
  for (std::size_t i = 0; i < paths.size(); ++i) out += (i ? "," : "") + json_quote(paths[i]);
  out += "]";
  if (auto specs = artifacts.field(Field::weight_specs)) {
    out += ",\"weights\":";
    out += *specs;
  }
  return out + "}]";
}

// The whole model.json in `layout`'s key order, with `manifest` as its weightsManifest.
inline std::string model_json_text(const ArtifactsView& a, const std::string& manifest, ModelJsonLayout layout) {
  std::string out = "{";
  auto key = [&](const char* name) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
  };
  // JSON.stringify drops undefined values and keeps null ones.
  auto as_is = [&](const char* name, Field f) {
    if (auto text = a.field(f)) {
      key(name);
      out += *text;
    }
  };
  auto unless_null = [&](const char* name, Field f) {
    if (!a.is_nullish(f)) {
      key(name);
      out += *a.field(f);
    }
  };
  auto manifest_key = [&] {
    key("weightsManifest");
    out += manifest;
  };
  if (layout == ModelJsonLayout::node_file) {
    as_is("modelTopology", Field::model_topology);
    manifest_key();
    as_is("format", Field::format);
    as_is("generatedBy", Field::generated_by);
    as_is("convertedBy", Field::converted_by);
    unless_null("trainingConfig", Field::training_config);
    unless_null("signature", Field::signature);
    unless_null("userDefinedMetadata", Field::user_defined_metadata);
    unless_null("modelInitializer", Field::model_initializer);
    unless_null("initializerSignature", Field::initializer_signature);
  } else {
    as_is("modelTopology", Field::model_topology);
    as_is("format", Field::format);
    as_is("generatedBy", Field::generated_by);
    as_is("convertedBy", Field::converted_by);
    manifest_key();
    unless_null("signature", Field::signature);
    unless_null("userDefinedMetadata", Field::user_defined_metadata);
    unless_null("modelInitializer", Field::model_initializer);
    unless_null("initializerSignature", Field::initializer_signature);
    unless_null("trainingConfig", Field::training_config);
  }
  // Keys tfjs does not define ride along at the end, so copies keep them.
  if (auto extra = a.field(Field::extra); extra && extra->size() > 2) {
    out += ',';
    out += extra->substr(1, extra->size() - 2);
  }
  return out + "}";
}

}  // namespace modelport::sdk
