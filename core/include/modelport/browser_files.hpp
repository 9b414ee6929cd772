// browserFiles (spec §3.6): load a model from files the user picked — a model JSON and its
// weight files in any order, matched to the manifest by base name. No URL scheme is involved.
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/export.hpp>
#include <modelport/io_handler.hpp>

#include <string>
#include <vector>

namespace modelport {

struct NamedFile {
  std::string name;  // the file's name (a path is fine: only its base name is matched)
  Buffer bytes;
};

// files[0] is the model JSON, files[1..] the weight files. Throws Error(invalid_argument) "When
// calling browserFiles, at least 1 file is required, ..." when `files` is empty; load() reports
// the errors of §3.6 (parse failure, missing modelTopology / weightsManifest, duplicate base
// names, a weight file not provided, a count mismatch). Weight data keeps one buffer per file,
// in manifest order. Unlike tfjs, a JSON-only load keeps every metadata field, not only the
// topology.
MODELPORT_API HandlerPtr browser_files(std::vector<NamedFile> files);

// basename as browserFiles computes it: trims white space, drops trailing '/', keeps the last
// '/'-separated part.
MODELPORT_API std::string browser_basename(std::string_view path);

}  // namespace modelport
