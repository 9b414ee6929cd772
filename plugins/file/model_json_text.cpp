#include "model_json_text.hpp"

namespace modelport::file_plugin {

using sdk::Field;

std::string single_group_manifest(const std::vector<std::string>& paths, const sdk::ArtifactsView& artifacts) {
  std::string out = "[{\"paths\":[";
  for (std::size_t i = 0; i < paths.size(); ++i) out += (i ? "," : "") + sdk::json_quote(paths[i]);
  out += "]";
  if (auto specs = artifacts.field(Field::weight_specs)) {
    out += ",\"weights\":";
    out += *specs;
  }
  return out + "}]";
}

std::string model_json(const sdk::ArtifactsView& a, const std::string& manifest, Layout layout) {
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
  if (layout == Layout::node_file) {
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

}  // namespace modelport::file_plugin
