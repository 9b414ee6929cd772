// Model fixtures of the conformance kit and the strict comparison of a saved and a loaded model.
#include "kit.hpp"

#include <modelport/json.hpp>
#include <modelport/weight_spec.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <sstream>

namespace modelport::testkit::detail {

namespace bj = boost::json;

namespace {

std::uint64_t splitmix64(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

std::string text_of(const bj::value& v) { return json::stringify(v); }

std::string shorten(std::string text, std::size_t limit = 160) {
  if (text.size() > limit) text = text.substr(0, limit) + "...(" + std::to_string(text.size()) + " bytes)";
  return text;
}

std::string describe_field(const JsonField& f) {
  if (!f) return "absent";
  return shorten(text_of(*f));
}

}  // namespace

void fill_bytes(std::span<std::byte> out, std::uint64_t seed) {
  std::uint64_t state = seed;
  std::size_t i = 0;
  for (; i + 8 <= out.size(); i += 8) {
    std::uint64_t v = splitmix64(state);
    std::memcpy(out.data() + i, &v, 8);
  }
  if (i < out.size()) {
    std::uint64_t v = splitmix64(state);
    std::memcpy(out.data() + i, &v, out.size() - i);
  }
}

WeightData make_weight_data(std::uint64_t size, std::uint64_t seed, std::uint64_t buffer_size) {
  if (buffer_size == 0) buffer_size = std::max<std::uint64_t>(size, 1);
  WeightData data;
  std::uint64_t done = 0;
  std::uint64_t part = 0;
  while (done < size) {
    std::size_t n = static_cast<std::size_t>(std::min(buffer_size, size - done));
    BufferBuilder builder(n);
    // A seed per buffer, so buffers are not shifted copies of each other and a plugin that
    // reorders or drops one is caught.
    fill_bytes(builder.data(), seed * 1000003ull + part++);
    data.append(std::move(builder).finish());
    done += n;
  }
  return data;
}

bj::value make_topology(std::string_view name) {
  bj::value topology = json::parse(
      R"({"class_name":"Sequential","config":{"name":"","layers":[{"class_name":"Dense","config":)"
      R"({"units":3,"activation":"relu","use_bias":true,"kernel_initializer":{"class_name":"GlorotUniform",)"
      R"("config":{"seed":null}},"dtype":"float32","batch_input_shape":[null,2],"trainable":true,)"
      R"("rate":0.1,"tiny":1.5e-7,"big":123456789012345,"negative":-42}}]},)"
      R"("keras_version":"tfjs-layers 4.22.0","backend":"tensor_flow.js",)"
      R"("escapes":"quote \" backslash \\ slash / tab \t newline \n control \u0001 \u001f",)"
      R"("unicode":"ü 模型 🙂 \u00e9","empty":{},"nested":[[],[[]],{"a":[1,{"b":null}]}]})",
      "conformance kit topology");
  topology.as_object()["config"].as_object()["name"] = name;
  return topology;
}

std::vector<WeightSpec> specs_from_text(std::string_view json_text) {
  return weight_specs_from_json(json::parse(json_text, "conformance kit weight specs"), "conformance kit weight specs");
}

std::vector<WeightSpec> specs_for_bytes(std::string_view prefix, std::uint64_t bytes) {
  std::vector<WeightSpec> specs;
  if (bytes / 4 > 0) {
    WeightSpec spec;
    spec.name = std::string(prefix) + "/kernel";
    spec.shape = {static_cast<std::int64_t>(bytes / 4)};
    spec.dtype = "float32";
    specs.push_back(std::move(spec));
  }
  if (bytes % 4 != 0) {
    WeightSpec spec;
    spec.name = std::string(prefix) + "/mask";
    spec.shape = {static_cast<std::int64_t>(bytes % 4)};
    spec.dtype = "bool";
    specs.push_back(std::move(spec));
  }
  return specs;
}

ModelArtifacts make_model(std::string_view name, std::uint64_t seed) {
  ModelArtifacts a;
  a.model_topology = ModelTopology(make_topology(name));
  a.weight_specs = specs_from_text(
      R"([{"name":"dense/kernel","shape":[2,3],"dtype":"float32"},{"name":"dense/bias","shape":[3],"dtype":"float32"}])");
  a.weight_data = make_weight_data(36, seed);
  return a;
}

std::vector<std::string> differences(const ModelArtifacts& saved, const ModelArtifacts& loaded,
                                     std::vector<std::string>* notes) {
  std::vector<std::string> out;

  // Topology: JSON as text, raw bytes as bytes.
  if (saved.model_topology.has_value() != loaded.model_topology.has_value()) {
    out.push_back(std::string("modelTopology: saved ") + (saved.model_topology ? "present" : "absent") + ", loaded " +
                  (loaded.model_topology ? "present" : "absent"));
  } else if (saved.model_topology) {
    const auto* sj = std::get_if<bj::value>(&*saved.model_topology);
    const auto* lj = std::get_if<bj::value>(&*loaded.model_topology);
    if ((sj == nullptr) != (lj == nullptr)) {
      out.push_back(std::string("modelTopology: saved as ") + (sj ? "JSON" : "raw bytes") + ", loaded as " +
                    (lj ? "JSON" : "raw bytes"));
    } else if (sj) {
      std::string a = text_of(*sj), b = text_of(*lj);
      if (a != b) out.push_back("modelTopology: saved " + shorten(a) + ", loaded " + shorten(b));
    } else {
      const Buffer& a = std::get<Buffer>(*saved.model_topology);
      const Buffer& b = std::get<Buffer>(*loaded.model_topology);
      if (a.view() != b.view()) {
        out.push_back("modelTopology (raw bytes): saved " + std::to_string(a.size()) + " bytes, loaded " +
                      std::to_string(b.size()) + " bytes with different content");
      }
    }
  }

  // Weight specs: each entry as the manifest text a TensorFlow.js reader would see.
  if (saved.weight_specs.has_value() != loaded.weight_specs.has_value()) {
    out.push_back(std::string("weightSpecs: saved ") + (saved.weight_specs ? "present" : "absent") + ", loaded " +
                  (loaded.weight_specs ? "present" : "absent"));
  } else if (saved.weight_specs) {
    const auto& a = *saved.weight_specs;
    const auto& b = *loaded.weight_specs;
    if (a.size() != b.size()) {
      out.push_back("weightSpecs: saved " + std::to_string(a.size()) + " entries, loaded " + std::to_string(b.size()));
    }
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
      std::string x = text_of(to_json(a[i])), y = text_of(to_json(b[i]));
      if (x != y) out.push_back("weightSpecs[" + std::to_string(i) + "]: saved " + shorten(x) + ", loaded " + shorten(y));
    }
  }

  // Weight bytes: presence, size, then the first differing offset.
  if (saved.weight_data.has_value() != loaded.weight_data.has_value()) {
    out.push_back(std::string("weightData: saved ") + (saved.weight_data ? "present" : "absent") + ", loaded " +
                  (loaded.weight_data ? "present" : "absent"));
  } else if (saved.weight_data) {
    const WeightData& a = *saved.weight_data;
    const WeightData& b = *loaded.weight_data;
    if (a.size() != b.size()) {
      out.push_back("weightData: saved " + std::to_string(a.size()) + " bytes, loaded " + std::to_string(b.size()));
    } else if (a.size() > 0) {
      constexpr std::size_t kBlock = 1 << 20;
      std::vector<std::byte> x(kBlock), y(kBlock);
      for (std::uint64_t offset = 0; offset < a.size(); offset += kBlock) {
        std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kBlock, a.size() - offset));
        a.copy_to(offset, std::span(x.data(), n));
        b.copy_to(offset, std::span(y.data(), n));
        if (std::memcmp(x.data(), y.data(), n) != 0) {
          std::size_t at = 0;
          while (x[at] == y[at]) ++at;
          out.push_back("weightData: first differing byte at offset " + std::to_string(offset + at) + " of " +
                        std::to_string(a.size()));
          break;
        }
      }
    }
  }

  // JSON metadata fields.
  struct Named {
    const char* name;
    const JsonField& saved;
    const JsonField& loaded;
    bool null_must_survive;  // tfjs copies these as they are, null included
  };
  const Named fields[] = {
      {"format", saved.format, loaded.format, true},
      {"generatedBy", saved.generated_by, loaded.generated_by, true},
      {"convertedBy", saved.converted_by, loaded.converted_by, true},
      {"trainingConfig", saved.training_config, loaded.training_config, false},
      {"signature", saved.signature, loaded.signature, false},
      {"userDefinedMetadata", saved.user_defined_metadata, loaded.user_defined_metadata, false},
      {"modelInitializer", saved.model_initializer, loaded.model_initializer, false},
      {"initializerSignature", saved.initializer_signature, loaded.initializer_signature, false},
  };
  for (const Named& f : fields) {
    const std::string name = f.name;
    if (!f.saved) {
      if (f.loaded && !f.loaded->is_null()) {
        out.push_back(name + ": saved absent, loaded " + describe_field(f.loaded));
      } else if (f.loaded && notes) {
        notes->push_back(name + " was saved absent and came back as null");
      }
    } else if (f.saved->is_null()) {
      if (f.null_must_survive) {
        if (!f.loaded || !f.loaded->is_null()) out.push_back(name + ": saved null, loaded " + describe_field(f.loaded));
      } else if (f.loaded && !f.loaded->is_null()) {
        out.push_back(name + ": saved null, loaded " + describe_field(f.loaded));
      }
    } else if (!f.loaded || text_of(*f.saved) != text_of(*f.loaded)) {
      out.push_back(name + ": saved " + describe_field(f.saved) + ", loaded " + describe_field(f.loaded));
    }
  }

  // Unknown top-level keys are carried along (ModelArtifacts::extra_fields, FIELD_EXTRA).
  std::string xa = text_of(saved.extra_fields), xb = text_of(loaded.extra_fields);
  if (xa != xb) out.push_back("unknown top-level keys: saved " + shorten(xa) + ", loaded " + shorten(xb));
  return out;
}

}  // namespace modelport::testkit::detail
