#include "spool.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace modelport::serve {

namespace {
[[noreturn]] void fail(const std::string& what) { throw std::system_error(errno, std::generic_category(), what); }
}  // namespace

std::filesystem::path default_spool_folder() {
  const char* tmp = std::getenv("TMPDIR");
  return (tmp && *tmp) ? std::filesystem::path(tmp) : std::filesystem::path("/tmp");
}

Spool::Spool(const std::filesystem::path& folder) {
  fd_ = ::open(folder.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd_ < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
    std::string name = (folder / "modelport-upload-XXXXXX").string();
    fd_ = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd_ >= 0) ::unlink(name.c_str());
  }
  if (fd_ < 0) fail("cannot create a temporary upload file in '" + folder.string() + "'");
}

Spool::~Spool() {
  if (fd_ >= 0) ::close(fd_);
}

void Spool::write(const void* data, std::size_t size) {
  const char* p = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::write(fd_, p, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write the upload to its temporary file");
    }
    p += n;
    size -= static_cast<std::size_t>(n);
    size_ += static_cast<std::uint64_t>(n);
  }
}

Buffer Spool::map_and_close() {
  if (size_ == 0) {
    ::close(fd_);
    fd_ = -1;
    return Buffer::copy_of(std::string_view());
  }
  void* mapping = ::mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd_, 0);
  if (mapping == MAP_FAILED) fail("cannot map the upload's temporary file");
  ::madvise(mapping, size_, MADV_SEQUENTIAL);
  ::close(fd_);
  fd_ = -1;
  const std::size_t length = size_;
  return Buffer::external(mapping, length, [mapping, length] { ::munmap(mapping, length); });
}

}  // namespace modelport::serve
