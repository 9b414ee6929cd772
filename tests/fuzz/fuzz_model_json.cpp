// model.json as a loader receives it: parse, manifest validation, then everything a load does
// with the result before touching shards (byte counts, the per-group size check, planning the
// weights against data of the size the manifest implies).
//
// Only modelport::Error may come out of the parser; and what parses must serialize, parse again
// and serialize to the same bytes (a saved copy of a loaded model is stable).
#include "fuzz_support.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/weights_codec.hpp>

#include <cstring>
#include <vector>

namespace {

using namespace modelport;
namespace bj = boost::json;

bj::value manifest_value(const ModelJson& m) {
  return m.weights_manifest ? bj::value(to_json(*m.weights_manifest)) : bj::value(bj::array());
}

void check_round_trip(const ModelJson& parsed) {
  for (auto layout : {ModelJsonLayout::browser, ModelJsonLayout::node_file}) {
    const std::string once = serialize_model_json(parsed.artifacts, manifest_value(parsed), layout);
    ModelJson again;
    try {
      again = parse_model_json(once, "fuzz/round-trip");
    } catch (const Error& e) {
      modelport::fuzz::invariant_failed("serialized model.json does not parse", e.what());
    }
    const std::string twice = serialize_model_json(again.artifacts, manifest_value(again), layout);
    MODELPORT_FUZZ_CHECK(once == twice, once + "\n---\n" + twice);
  }
}

// Sizes the loader computes must agree with the text it would write.
void check_sizes(const ModelJson& parsed) {
  if (const bj::value* topology = parsed.artifacts.topology_json()) {
    MODELPORT_FUZZ_CHECK(json::stringified_size(*topology) == json::stringify(*topology).size(), "topology");
  }
  if (parsed.artifacts.weight_specs) {
    const bj::value specs = to_json(*parsed.artifacts.weight_specs);
    MODELPORT_FUZZ_CHECK(json::stringified_size(specs) == json::stringify(specs).size(), "weight specs");
  }
}

// Planning against zero-filled data of the size the manifest implies (when it is small), and
// the per-group check against one empty shard per path.
void check_plan(const ModelJson& parsed) {
  if (!parsed.weights_manifest) return;
  std::size_t paths = 0;
  for (const auto& group : *parsed.weights_manifest) paths += group.paths.size();
  if (paths <= 1024) {
    std::vector<Buffer> shards(paths);
    try {
      check_group_sizes(*parsed.weights_manifest, shards, "fuzz/model.json");
    } catch (const Error&) {
    }
  }
  const auto& specs = parsed.artifacts.weight_specs;
  if (!specs) return;
  auto bytes = fixed_group_bytes(*specs);
  if (!bytes || *bytes > (1u << 20)) return;
  BufferBuilder zeros(static_cast<std::size_t>(*bytes));
  if (!zeros.data().empty()) std::memset(zeros.data().data(), 0, zeros.data().size());
  const WeightData data(std::move(zeros).finish());
  try {
    auto tensors = decode_weights(*specs, data, "fuzz/model.json");
    MODELPORT_FUZZ_CHECK(tensors.size() == specs->size(), "one tensor per spec");
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  ModelJson parsed;
  try {
    parsed = parse_model_json(text, "fuzz/model.json");
  } catch (const Error&) {
    return 0;
  }
  check_sizes(parsed);
  try {
    (void)get_model_artifacts_info(parsed.artifacts);
  } catch (const Error&) {
  }
  check_plan(parsed);
  if (!parsed.bare_manifest) check_round_trip(parsed);
  return 0;
}
