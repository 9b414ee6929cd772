// memstore:// — a complete scheme plugin that keeps models in memory, for as long as the process
// runs. Copy this project to start a plugin of your own: it shows saving, loading, listing and
// removing, and it passes the modelport conformance kit.
#include <modelport/plugin.hpp>

#include <chrono>
#include <map>
#include <mutex>

namespace {

using modelport::sdk::Code;
using modelport::sdk::Error;
using modelport::sdk::Field;

// One saved model: the field texts exactly as the core handed them over, and the weight bytes.
struct StoredModel {
  std::map<int, std::string> fields;
  std::string topology_bytes;  // a binary topology, when there is one
  bool binary_topology = false;
  bool has_weights = false;
  std::string weights;
  modelport::sdk::ModelInfo info;
};

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

class MemStore;

class MemStoreHandler final : public modelport::sdk::Handler {
 public:
  MemStoreHandler(MemStore& store, std::string path) : store_(store), path_(std::move(path)) {}
  void save(const modelport::sdk::ArtifactsView& artifacts, modelport::sdk::SaveResult& result) override;
  void load(modelport::sdk::LoadSink& sink) override;

 private:
  MemStore& store_;
  std::string path_;
};

class MemStore final : public modelport::sdk::Plugin {
 public:
  static constexpr std::string_view kPrefix = "memstore://";

  std::unique_ptr<modelport::sdk::Handler> create_handler(const std::string& url, const modelport::sdk::Context&) override {
    return std::make_unique<MemStoreHandler>(*this, model_path(url));
  }

  void list_models(const std::string&, const modelport::sdk::Context&, modelport::sdk::ListSink& sink) override {
    std::lock_guard lock(mutex_);
    for (const auto& [path, model] : models_) sink.add(path, model.info);
  }

  modelport::sdk::ModelInfo remove_model(const std::string& url, const modelport::sdk::Context&) override {
    std::string path = model_path(url);
    std::lock_guard lock(mutex_);
    auto it = models_.find(path);
    if (it == models_.end()) throw Error(Code::not_found, "Cannot find model with path '" + path + "' in memstore.");
    modelport::sdk::ModelInfo info = it->second.info;
    models_.erase(it);
    return info;
  }

  void put(const std::string& path, StoredModel model) {
    std::lock_guard lock(mutex_);
    models_[path] = std::move(model);  // overwrite is a put, as in IndexedDB
  }

  StoredModel get(const std::string& path) {
    std::lock_guard lock(mutex_);
    auto it = models_.find(path);
    if (it == models_.end()) throw Error(Code::not_found, "Cannot find model with path '" + path + "' in memstore.");
    return it->second;
  }

 private:
  static std::string model_path(const std::string& url) {
    std::string path = url.substr(kPrefix.size());
    if (path.empty()) throw Error(Code::invalid_argument, "For memstore, modelPath must not be empty ('" + url + "').");
    return path;
  }

  std::mutex mutex_;
  std::map<std::string, StoredModel> models_;
};

void MemStoreHandler::save(const modelport::sdk::ArtifactsView& artifacts, modelport::sdk::SaveResult& result) {
  StoredModel model;
  for (int f = 0; f < MODELPORT_FIELD_COUNT; ++f) {
    if (auto text = artifacts.field(static_cast<Field>(f))) model.fields[f] = std::string(*text);
  }
  if (artifacts.topology_is_binary()) {
    model.binary_topology = true;
    model.topology_bytes = model.fields[MODELPORT_FIELD_MODEL_TOPOLOGY];
    model.fields.erase(MODELPORT_FIELD_MODEL_TOPOLOGY);
  }
  model.has_weights = artifacts.has_weight_data();
  model.weights.reserve(artifacts.weight_data_size());
  artifacts.for_each_chunk([&](std::span<const std::byte> chunk) {
    model.weights.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  });
  // The field texts are the compact JSON TensorFlow.js measures, so their sizes are its byte
  // counts; keeping them lets list and remove report the same info the save did.
  model.info.date_saved_ms = now_ms();
  auto text_size = [&](int field) -> std::int64_t {
    auto it = model.fields.find(field);
    return it == model.fields.end() ? 0 : static_cast<std::int64_t>(it->second.size());
  };
  model.info.model_topology_bytes =
      model.binary_topology ? static_cast<std::int64_t>(model.topology_bytes.size()) : text_size(MODELPORT_FIELD_MODEL_TOPOLOGY);
  if (model.binary_topology) model.info.model_topology_type = "GraphDef";
  model.info.weight_specs_bytes = text_size(MODELPORT_FIELD_WEIGHT_SPECS);
  model.info.weight_data_bytes = static_cast<std::int64_t>(model.weights.size());
  result.set_info(model.info);
  store_.put(path_, std::move(model));
}

void MemStoreHandler::load(modelport::sdk::LoadSink& sink) {
  StoredModel model = store_.get(path_);
  const std::string source = std::string(MemStore::kPrefix) + path_;
  for (const auto& [field, text] : model.fields) sink.set_field(static_cast<Field>(field), text, source);
  if (model.binary_topology) {
    sink.set_binary_topology(std::as_bytes(std::span(model.topology_bytes.data(), model.topology_bytes.size())), source);
  }
  if (model.has_weights) {
    // Hand the bytes over without a copy: the core calls the release hook when it is done.
    auto* owned = new std::string(std::move(model.weights));
    sink.append_owned(std::as_bytes(std::span(owned->data(), owned->size())), [owned] { delete owned; });
  }
}

}  // namespace

MODELPORT_PLUGIN(MemStore, "memstore", "1.0.0",
                 modelport::sdk::scheme("memstore://", MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED | MODELPORT_CAP_LOAD | MODELPORT_CAP_LIST |
                                                           MODELPORT_CAP_REMOVE))
