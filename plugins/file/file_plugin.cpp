// The file plugin: file:// (save, load, list, remove) and downloads:// (save).
#include "downloads.hpp"
#include "file_store.hpp"

namespace modelport::file_plugin {
namespace {

using sdk::Code;
using sdk::Error;

class FileHandler final : public sdk::Handler {
 public:
  FileHandler(fs::path path, const sdk::Context& context) : path_(std::move(path)), context_(context) {}
  void save(const sdk::ArtifactsView& artifacts, sdk::SaveResult& result) override {
    save_model(path_, artifacts, save_settings(context_), context_, result);
  }
  void load(sdk::LoadSink& sink) override { load_model(path_, load_settings(context_), context_, sink); }

 private:
  fs::path path_;
  sdk::Context context_;
};

class DownloadsHandler final : public sdk::Handler {
 public:
  DownloadsHandler(std::string url, const sdk::Context& context) : url_(std::move(url)), context_(context) {}
  void save(const sdk::ArtifactsView& artifacts, sdk::SaveResult& result) override {
    save_download(url_, artifacts, context_, result);
  }

 private:
  std::string url_;
  sdk::Context context_;
};

class FilePlugin final : public sdk::Plugin {
 public:
  std::unique_ptr<sdk::Handler> create_handler(const std::string& url, const sdk::Context& context) override {
    if (url.starts_with("downloads://")) return std::make_unique<DownloadsHandler>(url, context);
    return std::make_unique<FileHandler>(path_from_url(url), context);
  }
  void list_models(const std::string& url, const sdk::Context&, sdk::ListSink& sink) override {
    file_plugin::list_models(path_from_url(url), sink);
  }
  sdk::ModelInfo remove_model(const std::string& url, const sdk::Context&) override {
    return file_plugin::remove_model(path_from_url(url));
  }
};

}  // namespace
}  // namespace modelport::file_plugin

// Both savers consume each weight chunk inside for_each_chunk (shard_writer.hpp, downloads.cpp),
// so both take streamed saves: a copy into them never holds the whole model.
MODELPORT_PLUGIN(modelport::file_plugin::FilePlugin, "file", "0.1.0",
                 modelport::sdk::scheme("file://", MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED | MODELPORT_CAP_LOAD |
                                                       MODELPORT_CAP_LIST | MODELPORT_CAP_REMOVE),
                 modelport::sdk::scheme("downloads://", MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED))
