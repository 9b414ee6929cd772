// The handshake and validation of a plugin descriptor, apart from opening the library, so that
// the same checks run on descriptors built in memory (tests/fuzz/fuzz_plugin_descriptor.cpp).
#pragma once

#include <modelport/export.hpp>
#include <modelport/plugin_abi.h>
#include <modelport/plugins.hpp>

#include <filesystem>
#include <vector>

namespace modelport::detail {

// Core copies of what a plugin described, checked: every field the core reads later is there.
struct ValidatedDescriptor {
  modelport_plugin_descriptor descriptor{};
  std::vector<modelport_scheme_descriptor> schemes;  // zero-filled past the plugin's struct_size
  std::vector<modelport_handler_ops> ops;            // one per scheme (zero for list/remove-only)
  PluginInfo info;                                   // everything but `path`
};

// Reads `described` (may be null) the way the loader does: the version fields first, the rest
// only once struct_size covers it. Throws PluginError (stage entry for a null descriptor, handshake or validate) naming
// `path` and the rule that failed. Exported for the fuzzer only; not part of the public API.
MODELPORT_API ValidatedDescriptor validate_plugin_descriptor(const modelport_plugin_descriptor* described,
                                                             const std::filesystem::path& path);

}  // namespace modelport::detail
