// Save and load routers chosen by URL (spec §2.3–2.5).
//
// A router looks at a URL and returns a handler, or nullptr when the URL is not its own. The
// registry keeps two ordered lists, asks every router and returns every match: it never decides.
// The policy lives in modelport::save / modelport::load: exactly one match proceeds, zero or
// several are errors that say what is registered and who matched.
#pragma once

#include <modelport/export.hpp>
#include <modelport/io_handler.hpp>
#include <modelport/options.hpp>

#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelport {

// Most URLs are one string; a few legacy loaders take two (topology + manifest), so routers see
// a list.
using SaveRouter = std::function<HandlerPtr(std::span<const std::string> urls, const SaveOptions& options)>;
using LoadRouter = std::function<HandlerPtr(std::span<const std::string> urls, const LoadOptions& options)>;

struct RouterInfo {
  std::string provider;  // who registered it: a plugin name, "core", an application
  std::string scheme;    // the URL prefix it serves ("file://"), for messages; may be empty
};

struct HandlerMatch {
  RouterInfo router;
  HandlerPtr handler;
};

class MODELPORT_API RouterRegistry {
 public:
  RouterRegistry();
  ~RouterRegistry();
  RouterRegistry(const RouterRegistry&) = delete;
  RouterRegistry& operator=(const RouterRegistry&) = delete;

  // The process-wide registry that modelport::save / load use.
  static RouterRegistry& global();

  void register_save_router(RouterInfo info, SaveRouter router);
  void register_load_router(RouterInfo info, LoadRouter router);

  // A router that matches when every URL starts with `scheme` (exact, case-sensitive), then
  // calls `factory` with the URLs unchanged.
  void register_scheme_save(std::string provider, std::string scheme,
                            std::function<HandlerPtr(std::span<const std::string>, const SaveOptions&)> factory);
  void register_scheme_load(std::string provider, std::string scheme,
                            std::function<HandlerPtr(std::span<const std::string>, const LoadOptions&)> factory);

  // Every non-null handler, in registration order. Never throws for 0 or many matches; a router
  // that throws propagates its error.
  std::vector<HandlerMatch> get_save_handlers(std::span<const std::string> urls, const SaveOptions& options = {}) const;
  std::vector<HandlerMatch> get_load_handlers(std::span<const std::string> urls, const LoadOptions& options = {}) const;
  std::vector<HandlerMatch> get_save_handlers(std::string_view url, const SaveOptions& options = {}) const;
  std::vector<HandlerMatch> get_load_handlers(std::string_view url, const LoadOptions& options = {}) const;

  // Distinct schemes of the registered routers, in registration order.
  std::vector<std::string> save_schemes() const;
  std::vector<std::string> load_schemes() const;

  // Forget every router (tests).
  void clear();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Exactly one save handler for `url` saves the artifacts. No match: Error(not_found) "Cannot find
// any save handlers for URL '<url>'" plus the registered schemes; several: Error(invalid_argument)
// "Found more than one (<n>) save handlers for URL '<url>'" plus the providers.
MODELPORT_API SaveResult save(std::string_view url, const ModelArtifacts& artifacts,
                              const SaveOptions& options = {},
                              const RouterRegistry& registry = RouterRegistry::global());

// Exactly one load handler for `url` loads. Unlike tfjs there is no silent fallback to http for
// unknown URLs: zero matches is an error listing the registered schemes.
MODELPORT_API ModelArtifacts load(std::string_view url, const LoadOptions& options = {},
                                  const RouterRegistry& registry = RouterRegistry::global());

}  // namespace modelport
