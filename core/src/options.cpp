#include <modelport/error.hpp>
#include <modelport/options.hpp>

namespace modelport {

std::string_view CommonOptions::option(std::string_view key, std::string_view fallback) const {
  auto it = plugin_options.find(key);
  return it == plugin_options.end() ? fallback : std::string_view(it->second);
}

void CommonOptions::throw_if_cancelled(std::string_view what) const {
  if (cancel.stop_requested()) throw Error(ErrorCode::cancelled, std::string(what) + ": cancelled");
}

}  // namespace modelport
