#include "posix_io.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>
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

namespace {

// Files this plugin has memory-mapped, so that saving bytes that live in one of them (a model
// loaded and saved again, as `modelport cp` does) can copy file to file in the kernel instead of
// faulting every page of the source into this process.
struct Mapping {
  const std::byte* start;
  std::size_t size;
  int fd;
  off_t file_offset;  // where in the file the mapping starts
  timespec modified;  // when it was mapped: a copy from the file checks it has not moved since
};

timespec modified_time(int fd) {
  struct stat st {};
  return ::fstat(fd, &st) == 0 ? st.st_mtim : timespec{};
}
std::mutex& mappings_mutex() {
  static std::mutex m;
  return m;
}
std::vector<Mapping>& mappings() {
  static auto* v = new std::vector<Mapping>();  // outlives every mapping, even at exit
  return *v;
}

struct MappedSource {
  int fd;
  off_t offset;
  timespec modified;
};

std::optional<MappedSource> mapped_source(std::span<const std::byte> chunk) {
  std::lock_guard lock(mappings_mutex());
  for (const auto& m : mappings()) {
    if (chunk.data() >= m.start && chunk.data() + chunk.size() <= m.start + m.size) {
      return MappedSource{m.fd, m.file_offset + static_cast<off_t>(chunk.data() - m.start), m.modified};
    }
  }
  return std::nullopt;
}

void write_all(int fd, std::span<const std::byte> chunk, const fs::path& path) {
  const std::byte* p = chunk.data();
  std::size_t left = chunk.size();
  if (auto source = mapped_source(chunk)) {
    off_t offset = source->offset;
    while (left > 0) {
      ssize_t n = ::copy_file_range(source->fd, &offset, fd, nullptr, left, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // unsupported here (EXDEV, EINVAL, ...): fall back to write()
      p += n;
      left -= static_cast<std::size_t>(n);
    }
    // The kernel copied from the file, not from the pages this process may have checked (a
    // digest): a write into the file since it was mapped would go into the copy unnoticed.
    const timespec now = modified_time(source->fd);
    if (now.tv_sec != source->modified.tv_sec || now.tv_nsec != source->modified.tv_nsec) {
      throw Error(Code::unavailable, "the file the bytes of '" + path.string() +
                                         "' were copied from was written to while it was being copied");
    }
  }
  while (left > 0) {
    // Large writes are split: some file systems cap a single write at 2 GiB.
    ssize_t n = ::write(fd, p, std::min<std::size_t>(left, std::size_t{1} << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_errno(errno, "cannot write", path);
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

NewFile::NewFile(fs::path path) : path_(std::move(path)) {
  fd_ = FileDescriptor(::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666));
  if (fd_.get() < 0) throw_errno(errno, "cannot create", path_);
}

void NewFile::append(std::span<const std::byte> bytes) { write_all(fd_.get(), bytes, path_); }

void NewFile::start_writeback() noexcept { ::sync_file_range(fd_.get(), 0, 0, SYNC_FILE_RANGE_WRITE); }

void NewFile::flush() {
  if (::fsync(fd_.get()) != 0) throw_errno(errno, "cannot flush", path_);
}

void NewFile::close() {
  int raw = fd_.release();
  if (raw >= 0 && ::close(raw) != 0) throw_errno(errno, "cannot close", path_);
}

void write_new_file(const fs::path& path, std::span<const std::span<const std::byte>> chunks, bool durable) {
  NewFile file(path);
  for (auto chunk : chunks) file.append(chunk);
  if (durable) file.flush();
  file.close();
}

void FileSequence::start(fs::path path) {
  if (current_) throw Error(Code::internal, "file '" + path.string() + "' started before '" + current_->path().string() + "' ended");
  current_.emplace(std::move(path));
}

void FileSequence::append(std::span<const std::byte> bytes) {
  if (!current_) throw Error(Code::internal, "bytes written with no file started");
  current_->append(bytes);
}

void FileSequence::end() {
  if (!current_) return;
  if (durable_) current_->start_writeback();
  ended_.push_back(std::move(*current_));
  current_.reset();
  constexpr std::size_t kBatch = 128;  // bounded open descriptors
  if (ended_.size() >= kBatch) flush_and_close_ended();
}

void FileSequence::finish() {
  end();
  flush_and_close_ended();
}

void FileSequence::flush_and_close_ended() {
  if (durable_ && !ended_.empty()) {
    std::vector<std::exception_ptr> errors(ended_.size());
    std::atomic<std::size_t> next{0};
    auto worker = [&] {
      for (std::size_t k = next++; k < ended_.size(); k = next++) {
        try {
          ended_[k].flush();
        } catch (...) {
          errors[k] = std::current_exception();
        }
      }
    };
    {
      std::vector<std::jthread> pool;
      const std::size_t threads = std::min<std::size_t>(8, ended_.size());
      for (std::size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
      worker();
    }
    for (const auto& e : errors) {
      if (e) std::rethrow_exception(e);
    }
  }
  for (auto& file : ended_) file.close();
  ended_.clear();
}

void fsync_directory(const fs::path& dir) {
  FileDescriptor fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open folder", dir);
  if (::fsync(fd.get()) != 0 && errno != EINVAL) throw_errno(errno, "cannot flush folder", dir);
}

void FileBytes::release() noexcept {
  if (!data) return;
  if (mapped) {
    int fd = -1;
    {
      std::lock_guard lock(mappings_mutex());
      auto& v = mappings();
      for (auto it = v.begin(); it != v.end(); ++it) {
        if (it->start == data) {
          fd = it->fd;
          v.erase(it);
          break;
        }
      }
    }
    ::munmap(const_cast<std::byte*>(data), size);
    if (fd >= 0) ::close(fd);
  } else {
    std::free(const_cast<std::byte*>(data));
  }
  data = nullptr;
}

std::optional<FileBytes> map_open_file(FileDescriptor fd, off_t offset, std::size_t size) {
  if (size == 0) return FileBytes{};
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd.get(), offset);
  if (p == MAP_FAILED) return std::nullopt;
  ::madvise(p, size, MADV_SEQUENTIAL);
  ::madvise(p, size, MADV_WILLNEED);  // starts the read-ahead now, on the kernel's side
  FileBytes bytes;
  bytes.data = static_cast<const std::byte*>(p);
  bytes.size = size;
  bytes.mapped = true;
  std::lock_guard lock(mappings_mutex());
  const timespec modified = modified_time(fd.get());
  mappings().push_back({bytes.data, bytes.size, fd.release(), offset, modified});
  return bytes;
}

FileBytes read_file(const fs::path& path, bool map, const std::string& what) {
  return read_file_at(AT_FDCWD, path, path, map, what);
}

FileBytes read_file_at(int dir_fd, const fs::path& name, const fs::path& path, bool map, const std::string& what) {
  FileDescriptor fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) throw_errno(errno, "cannot open " + what, path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw_errno(errno, "cannot stat " + what, path);
  if (S_ISDIR(st.st_mode)) throw Error(Code::corrupt, what + " '" + path.string() + "' is a directory, not a file");
  if (!S_ISREG(st.st_mode)) throw Error(Code::corrupt, what + " '" + path.string() + "' is not a regular file");
  FileBytes bytes;
  bytes.size = static_cast<std::size_t>(st.st_size);
  if (bytes.size == 0) return bytes;
  if (map) {
    void* p = ::mmap(nullptr, bytes.size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd.get(), 0);
    if (p != MAP_FAILED) {
      // Two calls: the advice values are not bit flags.
      ::madvise(p, bytes.size, MADV_SEQUENTIAL);
      ::madvise(p, bytes.size, MADV_WILLNEED);
      bytes.data = static_cast<const std::byte*>(p);
      bytes.mapped = true;
      std::lock_guard lock(mappings_mutex());
      const timespec modified = modified_time(fd.get());
      mappings().push_back({bytes.data, bytes.size, fd.release(), 0, modified});
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
  return read_text_file_at(AT_FDCWD, path, path, what);
}

std::string read_text_file_at(int dir_fd, const fs::path& name, const fs::path& shown, const std::string& what) {
  FileBytes bytes = read_file_at(dir_fd, name, shown, /*map=*/false, what);
  std::string text(reinterpret_cast<const char*>(bytes.data), bytes.size);
  bytes.release();
  return text;
}

}  // namespace modelport::file_plugin
