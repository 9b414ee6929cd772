#include "mapped_file.hpp"

#include <modelport/error.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelport::cli {

namespace {

[[noreturn]] void throw_errno(const std::filesystem::path& path, int err, const char* stage) {
  ErrorCode code = err == ENOENT || err == ENOTDIR ? ErrorCode::not_found
                   : err == EACCES || err == EPERM ? ErrorCode::permission_denied
                                                   : ErrorCode::unavailable;
  throw Error(code, "cannot " + std::string(stage) + " '" + path.string() + "': " + std::strerror(err));
}

struct FileDescriptor {
  int fd;
  ~FileDescriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

Buffer map_file(const std::filesystem::path& path) {
  FileDescriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) throw_errno(path, errno, "open");
  struct stat info {};
  if (::fstat(file.fd, &info) != 0) throw_errno(path, errno, "stat");
  if (S_ISDIR(info.st_mode)) throw Error(ErrorCode::corrupt, "'" + path.string() + "' is a directory, not a file");
  if (!S_ISREG(info.st_mode)) throw Error(ErrorCode::corrupt, "'" + path.string() + "' is not a regular file");
  auto size = static_cast<std::size_t>(info.st_size);
  if (size == 0) return Buffer::copy_of(std::string_view());

  void* mapping = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (mapping != MAP_FAILED) {
    // Weights are read front to back once: ask for aggressive read-ahead.
    ::madvise(mapping, size, MADV_SEQUENTIAL | MADV_WILLNEED);
    return Buffer::external(mapping, size, [mapping, size] { ::munmap(mapping, size); });
  }

  // Some files cannot be mapped (special file systems); read them instead.
  BufferBuilder builder(size);
  std::size_t done = 0;
  while (done < size) {
    ssize_t n = ::read(file.fd, builder.data().data() + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(path, errno, "read");
    if (n == 0) {
      throw Error(ErrorCode::corrupt, "'" + path.string() + "' shrank while it was read (" + std::to_string(done) +
                                          " of " + std::to_string(size) + " bytes)");
    }
    done += static_cast<std::size_t>(n);
  }
  return std::move(builder).finish();
}

}  // namespace modelport::cli
