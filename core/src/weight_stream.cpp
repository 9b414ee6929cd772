#include <modelport/error.hpp>
#include <modelport/weight_stream.hpp>

#include <condition_variable>
#include <exception>
#include <mutex>
#include <numeric>
#include <thread>

namespace modelport {

WeightStream::WeightStream(std::vector<std::uint64_t> part_sizes, std::string source, std::vector<std::uint64_t> shard_sizes)
    : sizes_(std::move(part_sizes)),
      shards_(std::move(shard_sizes)),
      source_(std::move(source)),
      total_(std::accumulate(sizes_.begin(), sizes_.end(), std::uint64_t{0})) {
  if (!shards_.empty() && std::accumulate(shards_.begin(), shards_.end(), std::uint64_t{0}) != total_) {
    throw Error(ErrorCode::internal, "a weight stream's shard layout does not add up to its parts");
  }
}

WeightStream::WeightStream(Layout layout, std::string source)
    : WeightStream(std::move(layout.parts), std::move(source), std::move(layout.shards)) {}

WeightStream::~WeightStream() = default;

std::optional<Buffer> WeightStream::next() {
  // A stream that failed stays failed, with its first error: the part it was reading is gone.
  if (failure_) std::rethrow_exception(failure_);
  if (next_ >= sizes_.size()) return std::nullopt;
  const std::size_t index = next_;
  Buffer part;
  try {
    part = read_part(index);
  } catch (...) {
    failure_ = std::current_exception();
    throw;
  }
  if (part.size() != sizes_[index]) {
    failure_ = std::make_exception_ptr(Error(ErrorCode::corrupt, (source_.empty() ? std::string() : "'" + source_ + "': ") +
                                                                     "weight part " + std::to_string(index + 1) + " of " + std::to_string(sizes_.size()) +
                                        " holds " + std::to_string(part.size()) + " bytes, not the expected " +
                                        std::to_string(sizes_[index])));
    std::rethrow_exception(failure_);
  }
  ++next_;
  return part;
}

std::optional<std::uint64_t> WeightStream::uniform_shard_size() const {
  const std::vector<std::uint64_t>& sizes = shard_sizes();
  if (sizes.size() < 2 || sizes.front() == 0) return std::nullopt;
  for (std::size_t i = 1; i + 1 < sizes.size(); ++i) {
    if (sizes[i] != sizes.front()) return std::nullopt;
  }
  if (sizes.back() > sizes.front() || sizes.back() == 0) return std::nullopt;
  return sizes.front();
}

namespace {

std::vector<std::uint64_t> sizes_of(const WeightData& data) {
  std::vector<std::uint64_t> sizes;
  sizes.reserve(data.buffers().size());
  for (const Buffer& b : data.buffers()) sizes.push_back(b.size());
  return sizes;
}

class MemoryStream final : public WeightStream {
 public:
  explicit MemoryStream(WeightData data) : WeightStream(sizes_of(data)), buffers_(data.buffers()) {}

 protected:
  Buffer read_part(std::size_t index) override { return std::exchange(buffers_[index], Buffer()); }

 private:
  std::vector<Buffer> buffers_;
};

// One helper thread, one part ahead. The inner stream is only ever touched by the helper.
class ReadAheadStream final : public WeightStream {
 public:
  explicit ReadAheadStream(std::unique_ptr<WeightStream> inner)
      : WeightStream(inner->layout()), inner_(std::move(inner)), thread_([this] { run(); }) {}
  ~ReadAheadStream() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    thread_.join();
  }

 protected:
  Buffer read_part(std::size_t) override {
    std::unique_lock lock(mutex_);
    if (!wanted_) {
      wanted_ = true;  // the first call starts the helper
      changed_.notify_all();
    }
    changed_.wait(lock, [&] { return ready_.has_value() || failure_; });
    if (failure_) std::rethrow_exception(failure_);
    Buffer part = std::move(*ready_);
    ready_.reset();
    changed_.notify_all();  // room for the next part
    return part;
  }

 private:
  void run() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return wanted_ || stopping_; });
    while (!stopping_) {
      lock.unlock();
      std::optional<Buffer> part;
      std::exception_ptr failure;
      try {
        part = inner_->next();
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      if (failure) {
        failure_ = failure;
        changed_.notify_all();
        return;
      }
      if (!part) return;  // read_part is never asked past the last part
      ready_ = std::move(part);  // the slot is empty: the last part was taken before this read began
      changed_.notify_all();
      changed_.wait(lock, [&] { return !ready_.has_value() || stopping_; });
    }
  }

  std::unique_ptr<WeightStream> inner_;
  std::mutex mutex_;
  std::condition_variable changed_;
  bool wanted_ = false;
  bool stopping_ = false;
  std::optional<Buffer> ready_;
  std::exception_ptr failure_;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace

std::unique_ptr<WeightStream> stream_of(WeightData data) { return std::make_unique<MemoryStream>(std::move(data)); }

WeightData drain(WeightStream& stream) {
  WeightData data;
  while (auto part = stream.next()) data.append(std::move(*part));
  return data;
}

std::unique_ptr<WeightStream> read_ahead(std::unique_ptr<WeightStream> stream) {
  if (!stream || stream->part_sizes().size() < 2) return stream;
  return std::make_unique<ReadAheadStream>(std::move(stream));
}

}  // namespace modelport
