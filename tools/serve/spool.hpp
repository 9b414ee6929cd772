// An upload body on its way in: written to an unlinked temporary file as it arrives, then mapped
// read-only so the parts can be handed on as slices of one Buffer. The bytes live once, in the
// page cache (the kernel may write them out under memory pressure), never twice in the heap.
#pragma once

#include <modelport/buffer.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>

namespace modelport::serve {

class Spool {
 public:
  // An anonymous file in `folder` (O_TMPFILE; a created-then-unlinked file where the file system
  // lacks it). Throws std::system_error naming the folder.
  explicit Spool(const std::filesystem::path& folder);
  ~Spool();
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;

  // Appends bytes; throws std::system_error (disk full, ...).
  void write(const void* data, std::size_t size);
  std::uint64_t size() const noexcept { return size_; }

  // The whole content as one Buffer over a private read-only mapping, unmapped when the last
  // Buffer or slice referring to it is gone. The file itself is closed here (the mapping keeps it).
  Buffer map_and_close();

 private:
  int fd_ = -1;
  std::uint64_t size_ = 0;
};

// $TMPDIR, or /tmp.
std::filesystem::path default_spool_folder();

}  // namespace modelport::serve
