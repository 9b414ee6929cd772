// Small POSIX building blocks for the file plugin: descriptors that close themselves, complete
// writes, fsync, memory maps, and errno turned into SDK errors that name the path.
#pragma once

#include <modelport/plugin.hpp>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

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

// A file created (it must not exist yet) and written front to back. Destroying one that was not
// closed just closes its descriptor: removing the file is up to whoever created it.
class NewFile {
 public:
  explicit NewFile(fs::path path);
  void append(std::span<const std::byte> bytes);
  // Starts writeback of what was written so far, so that a later flush mostly waits for work
  // already under way.
  void start_writeback() noexcept;
  void flush();  // fsync
  void close();  // a failed close (deferred write error) throws
  const fs::path& path() const noexcept { return path_; }

 private:
  fs::path path_;
  FileDescriptor fd_;
};

// Creates `path` (it must not exist), writes every chunk, fsyncs (when `durable`), closes.
void write_new_file(const fs::path& path, std::span<const std::span<const std::byte>> chunks, bool durable);

// Files written one after another (start, append..., end; then the next), made durable together:
// each file's writeback starts as soon as it ends, and the fsyncs of a batch of ended files run
// in parallel, so the disk sees one burst instead of one wait per file. At most a batch of files
// is open at once. finish() makes the remaining ones durable and closes them.
class FileSequence {
 public:
  explicit FileSequence(bool durable) : durable_(durable) {}
  void start(fs::path path);
  void append(std::span<const std::byte> bytes);
  void end();
  void finish();

 private:
  void flush_and_close_ended();
  bool durable_;
  std::optional<NewFile> current_;
  std::vector<NewFile> ended_;
};

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
// The same for `name` opened relative to the folder descriptor `dir_fd` (an absolute name ignores
// it); errors name `shown`.
FileBytes read_file_at(int dir_fd, const fs::path& name, const fs::path& shown, bool map, const std::string& what);

// Maps `size` bytes at `offset` (a multiple of the page size) of an open regular file
// (read-only, pages faulted in as they are read, with sequential read-ahead) and keeps `fd` for
// copy_file_range; nullopt when the file cannot be mapped. release() unmaps it and closes `fd`.
std::optional<FileBytes> map_open_file(FileDescriptor fd, off_t offset, std::size_t size);

std::string read_text_file(const fs::path& path, const std::string& what);
std::string read_text_file_at(int dir_fd, const fs::path& name, const fs::path& shown, const std::string& what);

}  // namespace modelport::file_plugin
