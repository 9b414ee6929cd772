#include "shard_writer.hpp"

#include <algorithm>

namespace modelport::file_plugin {

using sdk::Code;
using sdk::Error;

namespace {

// Progress inside a big file at most this often, so a large single weights.bin still shows
// movement (and can be cancelled) without a host call per small tensor.
constexpr std::uint64_t kProgressStep = std::uint64_t{64} << 20;

// Walks the plan while bytes arrive: which file is open, how much room it has left.
class ShardCursor {
 public:
  ShardCursor(const fs::path& folder, const ShardPlan& plan, bool durable, const ShardProgress& progress)
      : folder_(folder), plan_(plan), files_(durable), progress_(progress) {}

  void write(std::span<const std::byte> bytes) {
    while (!bytes.empty()) {
      if (!open_) {
        open_next();
        continue;
      }
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(room_, bytes.size()));
      files_.append(bytes.first(take));
      bytes = bytes.subspan(take);
      room_ -= take;
      done_ += take;
      if (room_ == 0) {
        end_current();
      } else if (done_ - reported_ >= kProgressStep) {
        report();
      }
    }
  }

  // After the last byte: the files the bytes did not reach (an empty weights.bin) are created
  // too, and every file is made durable and closed.
  void finish() {
    if (open_ && room_ > 0) short_stream();
    while (next_ < plan_.names.size()) {
      open_next();  // an empty file is ended right away
      if (open_) short_stream();
    }
    files_.finish();
  }

 private:
  void open_next() {
    if (next_ >= plan_.names.size()) {
      throw Error(Code::internal, "the weights to save hold more bytes than the announced " + std::to_string(planned_total()));
    }
    files_.start(folder_ / plan_.names[next_]);
    room_ = plan_.sizes[next_];
    current_ = next_++;
    open_ = true;
    if (room_ == 0) end_current();
  }
  void end_current() {
    files_.end();
    open_ = false;
    report();
  }
  void report() {
    reported_ = done_;
    if (progress_) progress_(plan_.names[current_], done_);
  }
  [[noreturn]] void short_stream() const {
    throw Error(Code::internal, "the weights to save ended after " + std::to_string(done_) + " of the announced " +
                                    std::to_string(planned_total()) + " bytes");
  }
  std::uint64_t planned_total() const {
    std::uint64_t total = 0;
    for (auto size : plan_.sizes) total += size;
    return total;
  }

  const fs::path& folder_;
  const ShardPlan& plan_;
  FileSequence files_;
  const ShardProgress& progress_;
  std::size_t next_ = 0;     // the next file to open
  std::size_t current_ = 0;  // the file opened last
  bool open_ = false;
  std::uint64_t room_ = 0;   // bytes the open file still takes
  std::uint64_t done_ = 0;
  std::uint64_t reported_ = 0;
};

}  // namespace

ShardPlan plan_shards(std::uint64_t total, std::optional<std::uint64_t> shard_bytes) {
  ShardPlan plan;
  if (!shard_bytes) {
    plan.names.emplace_back("weights.bin");
    plan.sizes.push_back(total);
    return plan;
  }
  const std::uint64_t shard = *shard_bytes;
  const std::uint64_t count = (total + shard - 1) / shard;
  for (std::uint64_t i = 0; i < count; ++i) {
    plan.names.push_back("group1-shard" + std::to_string(i + 1) + "of" + std::to_string(count) + ".bin");
    plan.sizes.push_back(i + 1 < count ? shard : total - shard * i);
  }
  return plan;
}

void write_shards(const fs::path& folder, const ShardPlan& plan, const sdk::ArtifactsView& artifacts, bool durable,
                  const ShardProgress& progress) {
  ShardCursor cursor(folder, plan, durable, progress);
  artifacts.for_each_chunk([&](std::span<const std::byte> chunk) { cursor.write(chunk); });
  cursor.finish();
}

}  // namespace modelport::file_plugin
