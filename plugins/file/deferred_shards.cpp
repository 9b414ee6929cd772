#include "deferred_shards.hpp"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <vector>

namespace modelport::file_plugin {

using sdk::Code;
using sdk::Error;

namespace {

// How much of a shard one part of a streamed load covers (a multiple of the page size, as mmap
// offsets must be).
constexpr std::uint64_t kWindowBytes = 16u << 20;

// What tells one version of a shard from another (see the header for what it cannot tell).
struct ShardIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec modified{};

  static ShardIdentity of(const struct stat& st) { return {st.st_dev, st.st_ino, st.st_size, st.st_mtim}; }
  bool operator==(const ShardIdentity& o) const {
    return device == o.device && inode == o.inode && size == o.size && modified.tv_sec == o.modified.tv_sec &&
           modified.tv_nsec == o.modified.tv_nsec;
  }
};

// O_NONBLOCK: opening a FIFO put where a shard was must not hang; it changes nothing for reads
// of regular files.
int open_shard(int dir_fd, const fs::path& name) { return ::openat(dir_fd, name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK); }

struct stat stat_open(int fd, const fs::path& shown) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_errno(errno, "cannot stat weight file", shown);
  return st;
}

// Owns everything a fill needs: it may run after the load returned and the handler is gone.
class DeferredShard {
 public:
  DeferredShard(std::shared_ptr<const OpenFolder> folder, fs::path name, fs::path shown, ShardIdentity recorded)
      : folder_(std::move(folder)), name_(std::move(name)), shown_(std::move(shown)), recorded_(recorded) {}

  // The shard mapped (copy_file_range can then copy it inside the kernel when the copy goes to
  // files, and no buffer of the model's size is ever allocated), or read into memory where it
  // cannot be mapped. The identity is checked when the shard is opened; unlike fill(), a write
  // that happens while the mapped pages are being read cannot be noticed (as for an ordinary
  // load, which maps too). Our own saver never writes in place: it swaps whole folders.
  sdk::LoadSink::OwnedBytes produce(std::uint64_t offset, std::uint64_t length) const {
    FileDescriptor fd(open_shard(folder_->fd.get(), name_));
    if (fd.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) changed("is gone");
      throw_errno(errno, "cannot open weight file", shown_);
    }
    if (!(ShardIdentity::of(stat_open(fd.get(), shown_)) == recorded_)) changed("was replaced or rewritten");
    if (auto mapped = map_open_file(std::move(fd), static_cast<off_t>(offset), static_cast<std::size_t>(length))) {
      FileBytes bytes = *mapped;
      return {std::span<const std::byte>(bytes.data, bytes.size), [bytes]() mutable { bytes.release(); }};
    }
    auto copy = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(length));
    fill(*copy, offset);
    return {std::span<const std::byte>(copy->data(), copy->size()), [copy] {}};
  }

  void fill(std::span<std::byte> dest, std::uint64_t offset) const {
    if (offset + dest.size() > static_cast<std::uint64_t>(recorded_.size)) {
      throw Error(Code::internal, "weight file '" + shown_.string() + "' holds " + std::to_string(recorded_.size) +
                                      " bytes but " + std::to_string(dest.size()) + " were asked for");
    }
    FileDescriptor fd(open_shard(folder_->fd.get(), name_));
    if (fd.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) changed("is gone");
      throw_errno(errno, "cannot open weight file", shown_);
    }
    if (!(ShardIdentity::of(stat_open(fd.get(), shown_)) == recorded_)) changed("was replaced or rewritten");
    ::posix_fadvise(fd.get(), 0, 0, POSIX_FADV_SEQUENTIAL);
    std::size_t done = 0;
    while (done < dest.size()) {
      // Large reads are split: some file systems cap a single read at 2 GiB.
      const std::size_t want = std::min<std::size_t>(dest.size() - done, std::size_t{1} << 30);
      ssize_t n = ::pread(fd.get(), dest.data() + done, want, static_cast<off_t>(offset + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw_errno(errno, "cannot read weight file", shown_);
      if (n == 0) changed("shrank");
      done += static_cast<std::size_t>(n);
    }
    // A write while the bytes were read moves the modification time: those bytes may be mixed.
    if (!(ShardIdentity::of(stat_open(fd.get(), shown_)) == recorded_)) changed("was written to while it was read");
  }

 private:
  [[noreturn]] void changed(const std::string& what) const {
    throw Error(Code::unavailable, "weight file '" + shown_.string() + "' " + what + ": the model in '" +
                                       folder_->path.string() + "' changed while it was being copied");
  }
  std::shared_ptr<const OpenFolder> folder_;
  fs::path name_;
  fs::path shown_;
  ShardIdentity recorded_;
};

}  // namespace

std::shared_ptr<const OpenFolder> open_model_folder(const fs::path& folder, const fs::path& json_path) {
  auto open = std::make_shared<OpenFolder>();
  open->path = folder;
  open->fd = FileDescriptor(::open(folder.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (open->fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) {
      throw Error(Code::not_found, "Path " + json_path.string() + " does not exist: loading failed");
    }
    throw_errno(errno, "cannot open folder", folder);
  }
  return open;
}

void append_deferred_shard(sdk::LoadSink& sink, const std::shared_ptr<const OpenFolder>& folder, const fs::path& name,
                           const fs::path& shown) {
  ShardIdentity identity;
  {
    FileDescriptor fd(open_shard(folder->fd.get(), name));
    if (fd.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR) {
        throw Error(Code::not_found, "Weight file " + shown.string() + " does not exist: loading failed");
      }
      throw_errno(errno, "cannot open weight file", shown);
    }
    struct stat st = stat_open(fd.get(), shown);
    if (S_ISDIR(st.st_mode)) throw Error(Code::corrupt, "weight file '" + shown.string() + "' is a directory, not a file");
    if (!S_ISREG(st.st_mode)) throw Error(Code::corrupt, "weight file '" + shown.string() + "' is not a regular file");
    identity = ShardIdentity::of(st);
  }
  // One stored shard, handed over in windows: a copy maps (and keeps resident) one window at a
  // time, however big the file (tfjs-node writes all weights into one weights.bin).
  auto shard = std::make_shared<const DeferredShard>(folder, name, shown, identity);
  const auto size = static_cast<std::uint64_t>(identity.size);
  sink.begin_shard();
  std::uint64_t offset = 0;
  do {
    const std::uint64_t length = std::min<std::uint64_t>(kWindowBytes, size - offset);
    sink.append_deferred_owned(length, [shard, offset, length] { return shard->produce(offset, length); });
    offset += length;
  } while (offset < size);
}

}  // namespace modelport::file_plugin
