// The indexeddb plugin: indexeddb:// (save, load, list, remove), TensorFlow.js's browser model
// store emulated on SQLite, one database file per origin.
#include "idb_store.hpp"

namespace modelport::indexeddb_plugin {
namespace {

class IndexedDbHandler final : public sdk::Handler {
 public:
  IndexedDbHandler(std::string model_path, StoreSettings settings, const sdk::Context& context)
      : model_path_(std::move(model_path)), settings_(std::move(settings)), context_(context) {}
  void save(const sdk::ArtifactsView& artifacts, sdk::SaveResult& result) override {
    save_model(settings_, model_path_, artifacts, context_, result);
  }
  void load(sdk::LoadSink& sink) override { load_model(settings_, model_path_, context_, sink); }

 private:
  std::string model_path_;
  StoreSettings settings_;
  sdk::Context context_;
};

class IndexedDbPlugin final : public sdk::Plugin {
 public:
  std::unique_ptr<sdk::Handler> create_handler(const std::string& url, const sdk::Context& context) override {
    return std::make_unique<IndexedDbHandler>(model_path_of(url), resolve_settings(context), context);
  }
  // indexeddb:// lists every model of the origin; indexeddb://some/prefix those whose path
  // starts with "some/prefix".
  void list_models(const std::string& url, const sdk::Context& context, sdk::ListSink& sink) override {
    std::string_view prefix = url;
    if (prefix.starts_with(kPrefix)) prefix.remove_prefix(kPrefix.size());
    indexeddb_plugin::list_models(resolve_settings(context), prefix, sink);
  }
  sdk::ModelInfo remove_model(const std::string& url, const sdk::Context& context) override {
    return indexeddb_plugin::remove_model(resolve_settings(context), model_path_of(url));
  }
};

}  // namespace
}  // namespace modelport::indexeddb_plugin

MODELPORT_PLUGIN(modelport::indexeddb_plugin::IndexedDbPlugin, "indexeddb", "0.1.0",
                 modelport::sdk::scheme("indexeddb://",
                                        MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED | MODELPORT_CAP_LOAD |
                                            MODELPORT_CAP_LIST | MODELPORT_CAP_REMOVE))
