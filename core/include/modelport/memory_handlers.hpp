// In-memory handlers (spec §3.7): hand artifacts to code that expects a handler, or receive the
// artifacts of a save in a callback.
#pragma once

#include <modelport/export.hpp>
#include <modelport/io_handler.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace modelport {

// fromMemory(artifacts): load() returns a copy of the artifacts (buffers are shared, not copied).
MODELPORT_API HandlerPtr from_memory(ModelArtifacts artifacts);

// The legacy form fromMemory(topology, weightSpecs?, weightData?, trainingConfig?).
MODELPORT_API HandlerPtr from_memory(boost::json::value topology,
                                     std::optional<std::vector<WeightSpec>> weight_specs = std::nullopt,
                                     std::optional<WeightData> weight_data = std::nullopt,
                                     JsonField training_config = std::nullopt);

// withSaveHandler(fn): save(a) calls fn(a) and returns what it returns.
using SaveCallback = std::function<SaveResult(const ModelArtifacts&)>;
MODELPORT_API HandlerPtr with_save_handler(SaveCallback callback);

}  // namespace modelport
