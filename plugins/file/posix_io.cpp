#include "posix_io.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace modelport::file_plugin {

using sdk::Code;
using sdk::Error;

void throw_errno(int err, const std::string& what, const fs::path& path) {
  Code code = Code::unavailable;
  switch (err) {
    case ENOSPC:
    case EDQUOT:
    case EFBIG: code = Code::quota_exceeded; break;
    case EACCES:
    case EPERM:
    case EROFS: code = Code::permission_denied; break;
    case ENOENT:
    case ENOTDIR: code = Code::not_found; break;
    case EEXIST: code = Code::already_exists; break;
    case EISDIR:
    case ENAMETOOLONG:
    case EINVAL: code = Code::invalid_argument; break;
    default: break;
  }
  throw Error(code, what + " '" + path.string() + "': " + std::strerror(err));
}

FileDescriptor& FileDescriptor::operator=(FileDescriptor&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

FileDescriptor::~FileDescriptor() {
  if (fd_ >= 0) ::close(fd_);
}

void write_new_file(const fs::path& path, std::span<const std::span<const std::byte>> chunks, bool durable) {
  FileDescriptor fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (fd.get() < 0) throw_errno(errno, "cannot create", path);
  for (auto chunk : chunks) {
    const std::byte* p = chunk.data();
    std::size_t left = chunk.size();
    while (left > 0) {
      // Large writes are split: some file systems cap a single write at 2 GiB.
      ssize_t n = ::write(fd.get(), p, std::min<std::size_t>(left, std::size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno(errno, "cannot write", path);
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  }
  if (durable && ::fsync(fd.get()) != 0) throw_errno(errno, "cannot flush", path);
  int raw = fd.release();
  if (::close(raw) != 0) throw_errno(errno, "cannot close", path);
}

void fsync_directory(const fs::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open folder", dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_errno(errno, "cannot flush folder", dir);
}

void FileBytes::release() noexcept {
  if (!data) return;
  if (mapped) {
    ::munmap(const_cast<std::byte*>(data), size);
  } else {
    std::free(const_cast<std::byte*>(data));
  }
  data = nullptr;
}

FileBytes read_file(const fs::path& path, bool map, const std::string& what) {
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open " + what, path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "cannot stat " + what, path);
  if (S_ISDIR(st.st_mode)) throw Error(Code::corrupt, what + " '" + path.string() + "' is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw Error(Code::corrupt, what + " '" + path.string() + "' is not a regular file");
  FileBytes bytes;
  bytes.size = static_cast<std::size_t>(st.st_size);
  if (bytes.size == 0) return bytes;
  if (map) {
    void* p = ::mmap(nullptr, bytes.size, PROT_READ, MAP_PRIVATE, fd.get(), 0);
    if (p != MAP_FAILED) {
      ::madvise(p, bytes.size, MADV_SEQUENTIAL | MADV_WILLNEED);
      bytes.data = static_cast<const std::byte*>(p);
      bytes.mapped = true;
      return bytes;
    }
  }
  auto* buffer = static_cast<std::byte*>(std::malloc(bytes.size));
  if (!buffer) throw Error(Code::internal, "out of memory reading " + what + " '" + path.string() + "'");
  std::size_t done = 0;
  while (done < bytes.size) {
    ssize_t n = ::read(fd.get(), buffer + done, bytes.size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : 0;
      std::free(buffer);
      if (err) throw_errno(err, "cannot read " + what, path);
      throw Error(Code::corrupt, what + " '" + path.string() + "' shrank while it was read");
    }
    done += static_cast<std::size_t>(n);
  }
  bytes.data = buffer;
  return bytes;
}

std::string read_text_file(const fs::path& path, const std::string& what) {
  FileBytes bytes = read_file(path, /*map=*/false, what);
  std::string text(reinterpret_cast<const char*>(bytes.data), bytes.size);
  bytes.release();
  return text;
}

}  // namespace modelport::file_plugin
