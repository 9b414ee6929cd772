// Small POSIX building blocks for the file plugin: descriptors that close themselves, complete
// writes, fsync, memory maps, and errno turned into SDK errors that name the path.
#pragma once

#include <modelport/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>
#include <filesystem>
#include <span>
#include <string>

namespace modelport::file_plugin {

namespace fs = std::filesystem;

// Throws sdk::Error with the code that fits errno (ENOSPC/EDQUOT -> quota_exceeded, EACCES/
// EPERM/EROFS -> permission_denied, ENOENT -> not_found, ...) and "<what> '<path>': <strerror>".
[[noreturn]] void throw_errno(int err, const std::string& what, const fs::path& path);

class FileDescriptor {
 public:
  FileDescriptor() = default;
  explicit FileDescriptor(int fd) : fd_(fd) {}
  FileDescriptor(FileDescriptor&& other) noexcept : fd_(other.release()) {}
  FileDescriptor& operator=(FileDescriptor&& other) noexcept;
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  ~FileDescriptor();
  int get() const noexcept { return fd_; }
  int release() noexcept {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_ = -1;
};

// Creates `path` (it must not exist), writes every chunk, fsyncs (when `durable`), closes.
void write_new_file(const fs::path& path, std::span<const std::span<const std::byte>> chunks, bool durable);

struct NewFile {
  fs::path path;
  std::vector<std::span<const std::byte>> chunks;
};
// Writes many new files, then makes them durable together: writeback of each starts as soon as
// it is written, and the fsyncs of a batch run in parallel, so the disk sees one burst instead
// of one wait per file. `written(file, bytes_so_far)` reports progress after each file.
void write_new_files(const std::vector<NewFile>& files, bool durable,
                     const std::function<void(const NewFile&, std::uint64_t)>& written);
void fsync_directory(const fs::path& dir);

// A read-only view of a whole regular file: memory-mapped, or read into memory when `map` is
// false or mapping fails. `release` frees it; the SDK calls it once the core is done.
struct FileBytes {
  const std::byte* data = nullptr;
  std::size_t size = 0;
  bool mapped = false;
  void release() noexcept;
};
FileBytes read_file(const fs::path& path, bool map, const std::string& what);

std::string read_text_file(const fs::path& path, const std::string& what);

}  // namespace modelport::file_plugin
