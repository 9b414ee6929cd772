// Options that travel with a save or a load, through the registry to the handler (and, later,
// across the plugin boundary). Typed fields for what every scheme understands; string key/values
// for what only one plugin understands.
#pragma once

#include <modelport/export.hpp>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelport {

struct Progress {
  std::uint64_t bytes_done = 0;
  std::optional<std::uint64_t> bytes_total;  // nullopt while unknown
  std::string_view current;                  // the file, URL or key being worked on
};
using ProgressCallback = std::function<void(const Progress&)>;

struct MODELPORT_API CommonOptions {
  std::vector<std::pair<std::string, std::string>> headers;  // http: sent with every request
  std::optional<std::string> method;                         // http: overrides GET / POST
  ProgressCallback on_progress;
  std::stop_token cancel;  // a stop request makes the operation fail with ErrorCode::cancelled
  std::map<std::string, std::string, std::less<>> plugin_options;  // scheme-specific knobs

  // plugin_options[key], or `fallback` when not set.
  std::string_view option(std::string_view key, std::string_view fallback = {}) const;
  void report(const Progress& progress) const {
    if (on_progress) on_progress(progress);
  }
  // Throws Error(cancelled) naming `what` when a stop was requested.
  void throw_if_cancelled(std::string_view what) const;
};

struct LoadOptions : CommonOptions {
  // Replaces the folder part of shard URLs; concatenated verbatim (spec §3.2.3).
  std::optional<std::string> weight_path_prefix;
  // Maps a manifest path to the full URL of that shard, used verbatim.
  std::function<std::string(std::string_view manifest_path)> weight_url_converter;
  // modelport::load (and copy/move) check a model's integrity digests when it carries them
  // (digests.hpp); false skips the check. The plugin option verify_digests=0 also skips it.
  bool verify_digests = true;
};

// What a save does about integrity digests (digests.hpp).
enum class DigestPolicy {
  // Recompute the record when the artifacts carry one (a loaded model that had digests keeps
  // them, recomputed over the bytes being saved); save none otherwise.
  keep,
  record,  // always record digests
  drop,    // never: a record the artifacts carry is left out
};

struct SaveOptions : CommonOptions {
  DigestPolicy digests = DigestPolicy::keep;
  // Bytes per digested piece; nullopt: the shard_bytes plugin option, else the weight data's
  // uniform shard size, else one piece for the whole stream. Match it to the shard size so that
  // one digest covers one shard and an error names the shard.
  std::optional<std::uint64_t> digest_chunk_bytes;
  // copy_model / move_model: when the plugin option shard_bytes is not set, set it to the
  // source's shard size (when the source is uniformly sharded), so a copy keeps the layout.
  bool keep_shard_layout = false;
};

}  // namespace modelport
