// Read-only files as Buffers: memory-mapped when possible (no copy; the mapping lives as long as
// any Buffer slice of it), read into memory otherwise.
#pragma once

#include <modelport/buffer.hpp>

#include <filesystem>

namespace modelport::cli {

// Throws modelport::Error naming the path: not_found, permission_denied, or corrupt (a
// directory or something that is not a regular file).
Buffer map_file(const std::filesystem::path& path);

}  // namespace modelport::cli
