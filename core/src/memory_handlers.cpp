#include <modelport/memory_handlers.hpp>

namespace modelport {

namespace {

class MemoryLoadHandler final : public IOHandler {
 public:
  explicit MemoryLoadHandler(ModelArtifacts artifacts) : artifacts_(std::move(artifacts)) {}
  bool can_load() const noexcept override { return true; }
  ModelArtifacts load() override { return artifacts_; }

 private:
  ModelArtifacts artifacts_;
};

class CallbackSaveHandler final : public IOHandler {
 public:
  explicit CallbackSaveHandler(SaveCallback callback) : callback_(std::move(callback)) {}
  bool can_save() const noexcept override { return true; }
  SaveResult save(const ModelArtifacts& artifacts) override { return callback_(artifacts); }

 private:
  SaveCallback callback_;
};

}  // namespace

HandlerPtr from_memory(ModelArtifacts artifacts) {
  return std::make_unique<MemoryLoadHandler>(std::move(artifacts));
}

HandlerPtr from_memory(boost::json::value topology, std::optional<std::vector<WeightSpec>> weight_specs,
                       std::optional<WeightData> weight_data, JsonField training_config) {
  ModelArtifacts artifacts;
  artifacts.model_topology = ModelTopology(std::move(topology));
  artifacts.weight_specs = std::move(weight_specs);
  artifacts.weight_data = std::move(weight_data);
  artifacts.training_config = std::move(training_config);
  return from_memory(std::move(artifacts));
}

HandlerPtr with_save_handler(SaveCallback callback) {
  return std::make_unique<CallbackSaveHandler>(std::move(callback));
}

}  // namespace modelport
