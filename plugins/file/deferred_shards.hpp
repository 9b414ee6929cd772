// The load side of a streaming copy from file://: shards are not read during the load but one at
// a time afterwards, while the copy is saved (possibly after the handler is gone, on another
// thread). What guards against reading a NEWER model under the old model.json:
//   - model.json and every shard are opened relative to one descriptor of the model folder,
//     taken before model.json is read. A file:// save replaces a model by swapping in a whole
//     new folder (rename / RENAME_EXCHANGE) and then deleting the old one, so this descriptor
//     keeps naming the OLD folder: its shards are read as they were, or are gone (an error).
//   - each shard's identity (device, inode, size, modification time) is recorded at load time
//     and checked when its turn comes: a shard replaced or rewritten in between fails with
//     "changed while it was being copied" instead of giving mixed bytes.
// The shard is then mapped, not read: the saver reads the pages (or, writing files, copies them
// inside the kernel with copy_file_range), so no buffer of the shard's size is allocated and the
// bytes are copied once. Where mapping fails it is read into memory and checked again after.
// What this cannot see (the same holds for an ordinary load, which maps too): a write into a
// shard while its mapped pages are being read; a writer that rewrites files in place, not
// atomically (tfjs-node's own save does), and is between its shard and its model.json while the
// load runs; a same-size rewrite within one tick of the file system's clock; a writer that
// resets the modification time on purpose. A model with digests is checked piece by piece.
#pragma once

#include "posix_io.hpp"

#include <modelport/plugin.hpp>

#include <memory>

namespace modelport::file_plugin {

// A model's folder held open (O_PATH) for as long as a deferred shard of it may be read.
struct OpenFolder {
  FileDescriptor fd;
  fs::path path;
};

// Opens `folder`; `json_path` (the model.json inside) names the model in the not-found error.
std::shared_ptr<const OpenFolder> open_model_folder(const fs::path& folder, const fs::path& json_path);

// Checks the shard `name` (relative to the folder, or absolute) now, with the errors an ordinary
// load gives (missing, a directory, unreadable), records its identity and appends it to `sink` as
// a deferred shard. `shown` is its path in messages.
void append_deferred_shard(sdk::LoadSink& sink, const std::shared_ptr<const OpenFolder>& folder, const fs::path& name,
                           const fs::path& shown);

}  // namespace modelport::file_plugin
