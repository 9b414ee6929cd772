// Model management across schemes (spec §4): list, remove, copy and move models by URL.
//
// Each scheme that can list or remove registers a ModelStoreManager under its prefix (plugins
// do so through their capabilities). copy_model and move_model work between any two schemes
// with a load and a save handler.
#pragma once

#include <modelport/export.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/options.hpp>
#include <modelport/router_registry.hpp>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace modelport {

struct ListedModel {
  std::string url;  // scheme prefix + model path
  ModelArtifactsInfo info;
};

class MODELPORT_API ModelStoreManager {
 public:
  virtual ~ModelStoreManager();
  // Models under `url` (a scheme root such as "indexeddb://" or "file:///srv/models").
  virtual std::vector<ListedModel> list_models(std::string_view url, const CommonOptions& options) = 0;
  // Removes the model at `url`; Error(not_found) when there is none. Returns its info.
  virtual ModelArtifactsInfo remove_model(std::string_view url, const CommonOptions& options) = 0;
};

class MODELPORT_API ModelStoreRegistry {
 public:
  ModelStoreRegistry();
  ~ModelStoreRegistry();
  ModelStoreRegistry(const ModelStoreRegistry&) = delete;
  ModelStoreRegistry& operator=(const ModelStoreRegistry&) = delete;

  static ModelStoreRegistry& global();

  // `scheme` is a prefix such as "indexeddb://" (a bare "indexeddb" is accepted too). A second
  // manager for the same scheme is Error(already_exists) unless `replace` is set.
  void register_manager(std::string scheme, std::string provider, std::shared_ptr<ModelStoreManager> manager,
                        bool replace = false);
  void unregister_manager(std::string_view scheme);

  // The manager for the URL's scheme; Error(not_found) "Cannot find model manager for scheme
  // '<s>'", or Error(invalid_argument) when the URL has no "://".
  std::shared_ptr<ModelStoreManager> manager_for(std::string_view url) const;
  std::vector<std::string> schemes() const;  // registration order, as "name://"
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The scheme prefix ("name://") of a URL, or an empty string when it has none.
MODELPORT_API std::string url_scheme_prefix(std::string_view url);

MODELPORT_API std::vector<ListedModel> list_models(std::string_view url, const CommonOptions& options = {},
                                                   const ModelStoreRegistry& stores = ModelStoreRegistry::global());

MODELPORT_API ModelArtifactsInfo remove_model(std::string_view url, const CommonOptions& options = {},
                                              const ModelStoreRegistry& stores = ModelStoreRegistry::global());

// Loads `source` and saves it to `destination` (messages of spec §4.2). Returns the info of the
// saved copy.
MODELPORT_API ModelArtifactsInfo copy_model(std::string_view source, std::string_view destination,
                                            const LoadOptions& load_options = {}, const SaveOptions& save_options = {},
                                            const RouterRegistry& routers = RouterRegistry::global());

// Copies, loads the copy back and compares it with the source, and only then removes the
// source. Unlike TensorFlow.js (which deletes the source before saving), a failed move never
// loses the source: any failure before the removal leaves it untouched.
MODELPORT_API ModelArtifactsInfo move_model(std::string_view source, std::string_view destination,
                                            const LoadOptions& load_options = {}, const SaveOptions& save_options = {},
                                            const RouterRegistry& routers = RouterRegistry::global(),
                                            const ModelStoreRegistry& stores = ModelStoreRegistry::global());

// True when both hold the same fields (JSON-equal) and the same weight bytes.
MODELPORT_API bool same_model(const ModelArtifacts& a, const ModelArtifacts& b);

}  // namespace modelport
