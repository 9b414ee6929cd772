// Command-line arguments name models by URL or by plain path.
#pragma once

#include <modelport/options.hpp>

#include <string>

namespace modelport::cli {

// A URL stays as it is; a plain path becomes a file:// URL of its absolute form.
std::string to_url(const std::string& argument);

// Applies the global -o key=value options to a command's options.
void apply_plugin_options(CommonOptions& options);

}  // namespace modelport::cli
