// downloads:// — what a browser's "save as download" does, on a desktop: <name>.json and
// <name>.weights.bin in the download folder, never overwriting an existing file.
#pragma once

#include "posix_io.hpp"

#include <modelport/plugin.hpp>

namespace modelport::file_plugin {

// MODELPORT_DOWNLOADS_DIR, else the XDG download folder (XDG_DOWNLOAD_DIR, or its entry in
// ~/.config/user-dirs.dirs), else ~/Downloads.
fs::path downloads_folder();

void save_download(const std::string& url, const sdk::ArtifactsView& artifacts, const sdk::Context& context,
                   sdk::SaveResult& result);

}  // namespace modelport::file_plugin
