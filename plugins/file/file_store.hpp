// file:// — models as a folder holding model.json and its weight files, the layout tfjs-node
// writes and reads, saved atomically.
#pragma once

#include "posix_io.hpp"

#include <modelport/plugin.hpp>

#include <cstdint>
#include <optional>
#include <string>

namespace modelport::file_plugin {

// file:///a/b -> /a/b; file://./m -> <cwd>/m (the text after "file://", made absolute, as
// tfjs-node does; no percent-decoding, as tfjs-node does).
fs::path path_from_url(const std::string& url);

struct SaveSettings {
  std::optional<std::uint64_t> shard_bytes;  // write converter-style shards of this size
  bool create_parents = true;                // create missing parent folders
  bool durable = true;                       // fsync files and folders
};
SaveSettings save_settings(const sdk::Context& context);

struct LoadSettings {
  bool allow_outside = false;  // let manifest paths leave the model's folder
  bool map = true;             // memory-map shards (false: read them)
};
LoadSettings load_settings(const sdk::Context& context);

void save_model(const fs::path& folder, const sdk::ArtifactsView& artifacts, const SaveSettings& settings,
                const sdk::Context& context, sdk::SaveResult& result);
void load_model(const fs::path& location, const LoadSettings& settings, const sdk::Context& context, sdk::LoadSink& sink);
void list_models(const fs::path& root, sdk::ListSink& sink);
sdk::ModelInfo remove_model(const fs::path& location);

std::int64_t now_ms();

}  // namespace modelport::file_plugin
