// The weight files of a save: their names and sizes planned from the total size alone (known
// before the first byte), then the weight bytes written into them as they arrive, part by part,
// so a streamed save never holds more than the part in hand.
#pragma once

#include "posix_io.hpp"

#include <modelport/plugin.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace modelport::file_plugin {

struct ShardPlan {
  std::vector<std::string> names;    // in weight order
  std::vector<std::uint64_t> sizes;  // bytes of each file
};

// One "weights.bin" holding everything, or with `shard_bytes` the converter's layout:
// group1-shard1ofN.bin ... each shard_bytes long but the last.
ShardPlan plan_shards(std::uint64_t total, std::optional<std::uint64_t> shard_bytes);

// Called after each file is complete, and every few dozen MiB inside a big one: the file being
// written and the weight bytes written so far. May throw (a cancelled save) to stop the save.
using ShardProgress = std::function<void(const std::string& file_name, std::uint64_t bytes_done)>;

// Creates the planned files in `folder` and writes the weight bytes of `artifacts` into them,
// consuming each chunk while for_each_chunk hands it out (its span is gone after that), then
// makes them durable (fsync, when `durable`) and closes them. Throws on any failure, including
// one of for_each_chunk (the source failed mid-way); the caller removes what was created.
void write_shards(const fs::path& folder, const ShardPlan& plan, const sdk::ArtifactsView& artifacts, bool durable,
                  const ShardProgress& progress);

}  // namespace modelport::file_plugin
