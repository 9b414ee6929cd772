// The model versions the crash-consistency harness saves (tests/crash): deterministic, so that
// the saving process and the checking process build the same bytes from a version number.
// Versions differ in size (about 0.2 to 6 MiB), weight count and topology, so that any mix of two
// versions, or a cut-off one, differs from all of them.
#pragma once

#include <modelport/model_artifacts.hpp>

#include <boost/json.hpp>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace modelport::crashtest {

inline constexpr std::uint64_t kVersions = 4;

inline ModelArtifacts model_version(const std::string& model, std::uint64_t version) {
  static const std::uint64_t kElements[kVersions] = {262'144, 786'433, 1'572'865, 50'001};  // float32 per weight
  ModelArtifacts a;
  boost::json::object config{{"name", model + "-v" + std::to_string(version)},
                             {"layers", boost::json::array(version + 1, boost::json::value("dense"))}};
  a.model_topology = ModelTopology(boost::json::value(boost::json::object{{"class_name", "Sequential"}, {"config", config}}));
  a.format = boost::json::value("layers-model");
  a.generated_by = boost::json::value("modelport crash test");
  a.converted_by = boost::json::value(nullptr);
  a.user_defined_metadata = boost::json::value(boost::json::object{{"model", model}, {"version", version}});
  std::vector<WeightSpec> specs;
  std::vector<Buffer> buffers;
  std::uint64_t state = 0x9E3779B97F4A7C15ull ^ (version * 0x100000001B3ull) ^ std::hash<std::string>{}(model);
  const std::size_t weights = 1 + version % 3;
  for (std::size_t w = 0; w < weights; ++w) {
    WeightSpec spec;
    spec.name = "layer" + std::to_string(w) + "/kernel";
    const std::uint64_t elements = kElements[version] + w * 7;
    spec.shape = {static_cast<std::int64_t>(elements)};
    spec.dtype = "float32";
    specs.push_back(spec);
    BufferBuilder bytes(elements * 4);
    for (std::uint64_t i = 0; i < elements; ++i) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      const auto value = static_cast<std::uint32_t>(state);
      std::memcpy(bytes.data().data() + i * 4, &value, 4);
    }
    buffers.push_back(std::move(bytes).finish());
  }
  a.weight_specs = std::move(specs);
  a.weight_data = WeightData(std::move(buffers));
  return a;
}

}  // namespace modelport::crashtest
