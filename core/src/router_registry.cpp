#include <modelport/digests.hpp>
#include <modelport/error.hpp>
#include <modelport/router_registry.hpp>

#include <algorithm>

namespace modelport {

namespace {

template <class Router>
struct Entry {
  RouterInfo info;
  Router router;
};

template <class Router>
std::vector<std::string> distinct_schemes(const std::vector<Entry<Router>>& entries) {
  std::vector<std::string> schemes;
  for (const auto& e : entries) {
    if (!e.info.scheme.empty() && std::find(schemes.begin(), schemes.end(), e.info.scheme) == schemes.end()) {
      schemes.push_back(e.info.scheme);
    }
  }
  return schemes;
}

bool all_start_with(std::span<const std::string> urls, std::string_view prefix) {
  return !urls.empty() && std::all_of(urls.begin(), urls.end(), [&](const std::string& u) { return u.starts_with(prefix); });
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "(none)" : out;
}

}  // namespace

struct RouterRegistry::Impl {
  mutable std::mutex mutex;
  std::vector<Entry<SaveRouter>> save;
  std::vector<Entry<LoadRouter>> load;
};

RouterRegistry::RouterRegistry() : impl_(std::make_unique<Impl>()) {}
RouterRegistry::~RouterRegistry() = default;

RouterRegistry& RouterRegistry::global() {
  // Leaked on purpose: handlers from plugins may still be registered at exit, and destroying
  // their std::function objects after the plugin library is gone would crash.
  static auto* registry = new RouterRegistry();
  return *registry;
}

void RouterRegistry::register_save_router(RouterInfo info, SaveRouter router) {
  std::lock_guard lock(impl_->mutex);
  impl_->save.push_back({std::move(info), std::move(router)});
}

void RouterRegistry::register_load_router(RouterInfo info, LoadRouter router) {
  std::lock_guard lock(impl_->mutex);
  impl_->load.push_back({std::move(info), std::move(router)});
}

void RouterRegistry::register_scheme_save(std::string provider, std::string scheme,
                                          std::function<HandlerPtr(std::span<const std::string>, const SaveOptions&)> factory) {
  RouterInfo info{std::move(provider), scheme};
  register_save_router(std::move(info), [scheme, factory = std::move(factory)](std::span<const std::string> urls,
                                                                                const SaveOptions& options) -> HandlerPtr {
    return all_start_with(urls, scheme) ? factory(urls, options) : nullptr;
  });
}

void RouterRegistry::register_scheme_load(std::string provider, std::string scheme,
                                          std::function<HandlerPtr(std::span<const std::string>, const LoadOptions&)> factory) {
  RouterInfo info{std::move(provider), scheme};
  register_load_router(std::move(info), [scheme, factory = std::move(factory)](std::span<const std::string> urls,
                                                                                const LoadOptions& options) -> HandlerPtr {
    return all_start_with(urls, scheme) ? factory(urls, options) : nullptr;
  });
}

std::vector<HandlerMatch> RouterRegistry::get_save_handlers(std::span<const std::string> urls,
                                                            const SaveOptions& options) const {
  // Routers run outside the lock: they may be slow (a plugin factory) or re-enter the registry.
  std::vector<Entry<SaveRouter>> routers;
  {
    std::lock_guard lock(impl_->mutex);
    routers = impl_->save;
  }
  std::vector<HandlerMatch> matches;
  for (const auto& e : routers) {
    if (auto handler = e.router(urls, options)) matches.push_back({e.info, std::move(handler)});
  }
  return matches;
}

std::vector<HandlerMatch> RouterRegistry::get_load_handlers(std::span<const std::string> urls,
                                                            const LoadOptions& options) const {
  std::vector<Entry<LoadRouter>> routers;
  {
    std::lock_guard lock(impl_->mutex);
    routers = impl_->load;
  }
  std::vector<HandlerMatch> matches;
  for (const auto& e : routers) {
    if (auto handler = e.router(urls, options)) matches.push_back({e.info, std::move(handler)});
  }
  return matches;
}

std::vector<HandlerMatch> RouterRegistry::get_save_handlers(std::string_view url, const SaveOptions& options) const {
  std::string one(url);
  return get_save_handlers(std::span<const std::string>(&one, 1), options);
}

std::vector<HandlerMatch> RouterRegistry::get_load_handlers(std::string_view url, const LoadOptions& options) const {
  std::string one(url);
  return get_load_handlers(std::span<const std::string>(&one, 1), options);
}

std::vector<std::string> RouterRegistry::save_schemes() const {
  std::lock_guard lock(impl_->mutex);
  return distinct_schemes(impl_->save);
}

std::vector<std::string> RouterRegistry::load_schemes() const {
  std::lock_guard lock(impl_->mutex);
  return distinct_schemes(impl_->load);
}

void RouterRegistry::clear() {
  std::lock_guard lock(impl_->mutex);
  impl_->save.clear();
  impl_->load.clear();
}

namespace {

std::string providers_of(const std::vector<HandlerMatch>& matches) {
  std::vector<std::string> names;
  for (const auto& m : matches) {
    names.push_back(m.router.provider + (m.router.scheme.empty() ? "" : " (" + m.router.scheme + ")"));
  }
  return join(names);
}

}  // namespace

namespace {

// The policy of spec §2.5: exactly one handler proceeds; none or several are errors that say
// what is registered and who matched. `verb` is "save" or "load".
HandlerPtr the_one_handler(std::vector<HandlerMatch> matches, std::string_view url, std::string_view verb,
                           const std::vector<std::string>& schemes, bool (IOHandler::*able)() const noexcept) {
  const std::string u(url);
  const std::string v(verb);
  if (matches.empty()) {
    throw Error(ErrorCode::not_found, "Cannot find any " + v + " handlers for URL '" + u + "'; schemes that can " + v +
                                          ": " + join(schemes));
  }
  if (matches.size() > 1) {
    throw Error(ErrorCode::invalid_argument, "Found more than one (" + std::to_string(matches.size()) + ") " + v +
                                                 " handlers for URL '" + u + "': " + providers_of(matches));
  }
  if (!((*matches.front().handler).*able)()) {
    throw Error(ErrorCode::unimplemented,
                "the handler for URL '" + u + "' (" + matches.front().router.provider + ") cannot " + v);
  }
  return std::move(matches.front().handler);
}

}  // namespace

SaveResult save(std::string_view url, const ModelArtifacts& artifacts, const SaveOptions& options,
                const RouterRegistry& registry) {
  HandlerPtr handler =
      the_one_handler(registry.get_save_handlers(url, options), url, "save", registry.save_schemes(), &IOHandler::can_save);
  // Digests are recomputed (or dropped) here, over the bytes being saved, so a record never
  // describes other data than what it travels with.
  std::optional<ModelArtifacts> adjusted = artifacts_for_save(artifacts, options);
  return handler->save(adjusted ? *adjusted : artifacts);
}

ModelArtifacts load(std::string_view url, const LoadOptions& options, const RouterRegistry& registry) {
  ModelArtifacts artifacts =
      the_one_handler(registry.get_load_handlers(url, options), url, "load", registry.load_schemes(), &IOHandler::can_load)
          ->load();
  if (should_verify_digests(options)) verify_weight_digests(artifacts, url);
  return artifacts;
}

}  // namespace modelport
