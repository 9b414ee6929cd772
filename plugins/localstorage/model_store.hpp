// localstorage:// models on a WebStorage: save, load, list and remove with TensorFlow.js's keys,
// values and messages (tfjs-io §3.3, §4), and a save that is all or nothing.
#pragma once

#include "web_storage.hpp"

#include <modelport/plugin.hpp>

#include <string>
#include <string_view>

namespace modelport::localstorage {

// Where a call's store is and how big it may grow: plugin options `origin`, `data_dir` and
// `quota` win over MODELPORT_ORIGIN, MODELPORT_DATA_DIR (XDG rules) and
// MODELPORT_LOCALSTORAGE_QUOTA.
struct Settings {
  StoreLocation location;
  std::uint64_t quota = kDefaultQuotaUnits;
};
Settings settings_of(const sdk::Context& context);

// The model path of a localstorage:// URL (the text after the scheme, verbatim).
// Throws invalid_argument for an empty path or one that is not UTF-8.
std::string model_path_of(std::string_view url);

void save_model(const Settings& settings, const std::string& path, const sdk::ArtifactsView& artifacts,
                const sdk::Context& context, sdk::SaveResult& result);
void load_model(const Settings& settings, const std::string& path, const sdk::Context& context, sdk::LoadSink& sink);
// Models whose path starts with `path_prefix` (all when empty), in insertion order.
void list_models(const Settings& settings, std::string_view path_prefix, sdk::ListSink& sink);
sdk::ModelInfo remove_model(const Settings& settings, const std::string& path);

}  // namespace modelport::localstorage
