// The localstorage:// plugin: models kept the way TensorFlow.js keeps them in a browser's
// window.localStorage (five string keys per model, weights in base64), in a per-origin store on
// disk that several processes share (web_storage.hpp).
#include "model_store.hpp"
#include "tfjs_layout.hpp"

namespace modelport::localstorage {
namespace {

class LocalStorageHandler final : public sdk::Handler {
 public:
  LocalStorageHandler(std::string path, const sdk::Context& context) : path_(std::move(path)), context_(context) {}
  void save(const sdk::ArtifactsView& artifacts, sdk::SaveResult& result) override {
    save_model(settings_of(context_), path_, artifacts, context_, result);
  }
  void load(sdk::LoadSink& sink) override { load_model(settings_of(context_), path_, context_, sink); }

 private:
  std::string path_;
  sdk::Context context_;
};

class LocalStoragePlugin final : public sdk::Plugin {
 public:
  std::unique_ptr<sdk::Handler> create_handler(const std::string& url, const sdk::Context& context) override {
    return std::make_unique<LocalStorageHandler>(model_path_of(url), context);
  }
  // `localstorage://` lists every model of the origin; `localstorage://a/` those under a/.
  void list_models(const std::string& url, const sdk::Context& context, sdk::ListSink& sink) override {
    std::string_view prefix = url;
    if (prefix.starts_with(kScheme)) prefix.remove_prefix(kScheme.size());
    localstorage::list_models(settings_of(context), prefix, sink);
  }
  sdk::ModelInfo remove_model(const std::string& url, const sdk::Context& context) override {
    return localstorage::remove_model(settings_of(context), model_path_of(url));
  }
};

}  // namespace
}  // namespace modelport::localstorage

MODELPORT_PLUGIN(modelport::localstorage::LocalStoragePlugin, "localstorage", "0.1.0",
                 modelport::sdk::scheme("localstorage://", MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED | MODELPORT_CAP_LOAD | MODELPORT_CAP_LIST |
                                                               MODELPORT_CAP_REMOVE))
