#include "urls.hpp"

#include "global_options.hpp"

#include <filesystem>

namespace modelport::cli {

std::string to_url(const std::string& argument) {
  if (argument.find("://") != std::string::npos) return argument;
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(argument, ec);
  return "file://" + (ec ? argument : absolute.lexically_normal().string());
}

void apply_plugin_options(CommonOptions& options) {
  for (const auto& [key, value] : global_options().plugin_options) options.plugin_options[key] = value;
}

}  // namespace modelport::cli
