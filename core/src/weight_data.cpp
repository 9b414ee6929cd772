#include <modelport/error.hpp>
#include <modelport/weight_data.hpp>

#include <algorithm>
#include <cstring>
#include <string>

namespace modelport {

WeightData::WeightData(Buffer buffer) { append(std::move(buffer)); }

WeightData::WeightData(std::vector<Buffer> buffers) {
  buffers_.reserve(buffers.size());
  ends_.reserve(buffers.size());
  for (auto& b : buffers) append(std::move(b));
}

void WeightData::append(Buffer buffer) {
  std::uint64_t end = size() + buffer.size();
  buffers_.push_back(std::move(buffer));
  ends_.push_back(end);
}

WeightData::Position WeightData::locate(std::uint64_t offset) const {
  // The first buffer whose end lies past `offset`; upper_bound skips empty buffers (their end
  // equals the previous end), which is what the reference's fast path gets wrong.
  auto it = std::upper_bound(ends_.begin(), ends_.end(), offset);
  if (it == ends_.end()) {
    throw Error(ErrorCode::internal, "offset " + std::to_string(offset) +
                                         " is past the end of the weight data (" +
                                         std::to_string(size()) + " bytes)");
  }
  auto index = static_cast<std::size_t>(it - ends_.begin());
  std::uint64_t start = index == 0 ? 0 : ends_[index - 1];
  return {index, static_cast<std::size_t>(offset - start)};
}

void WeightData::copy_to(std::uint64_t offset, std::span<std::byte> out) const {
  if (out.empty()) return;
  if (offset > size() || out.size() > size() - offset) {
    throw Error(ErrorCode::corrupt, "weight data has " + std::to_string(size()) +
                                        " bytes, cannot read " + std::to_string(out.size()) +
                                        " bytes at offset " + std::to_string(offset));
  }
  Position pos = locate(offset);
  std::size_t written = 0;
  while (written < out.size()) {
    const Buffer& b = buffers_[pos.buffer];
    std::size_t n = std::min(b.size() - pos.offset, out.size() - written);
    if (n) std::memcpy(out.data() + written, b.data() + pos.offset, n);  // empty buffers may have no data pointer
    written += n;
    ++pos.buffer;
    pos.offset = 0;
  }
}

Buffer WeightData::view(std::uint64_t offset, std::uint64_t length) const {
  if (offset > size() || length > size() - offset) {
    throw Error(ErrorCode::corrupt, "weight data has " + std::to_string(size()) +
                                        " bytes, cannot read " + std::to_string(length) +
                                        " bytes at offset " + std::to_string(offset));
  }
  if (length == 0) return Buffer();
  Position pos = locate(offset);
  const Buffer& first = buffers_[pos.buffer];
  if (length <= first.size() - pos.offset) {
    return first.slice(pos.offset, static_cast<std::size_t>(length));
  }
  BufferBuilder builder(static_cast<std::size_t>(length));
  copy_to(offset, builder.data());
  return std::move(builder).finish();
}

Buffer WeightData::slice(std::int64_t start, std::optional<std::int64_t> end) const {
  const auto total = static_cast<std::int64_t>(size());
  std::int64_t from = std::clamp<std::int64_t>(start, 0, total);
  std::int64_t to = std::clamp<std::int64_t>(end.value_or(total), 0, total);
  if (to <= from) return Buffer::copy_of(std::span<const std::byte>());
  BufferBuilder builder(static_cast<std::size_t>(to - from));
  copy_to(static_cast<std::uint64_t>(from), builder.data());
  return std::move(builder).finish();
}

Buffer WeightData::join() const {
  if (buffers_.size() == 1) return buffers_.front();
  BufferBuilder builder(static_cast<std::size_t>(size()));
  copy_to(0, builder.data());
  return std::move(builder).finish();
}

std::optional<std::uint64_t> WeightData::uniform_shard_size() const {
  if (buffers_.size() < 2) return std::nullopt;
  const std::size_t size = buffers_.front().size();
  if (size == 0) return std::nullopt;
  for (std::size_t i = 1; i + 1 < buffers_.size(); ++i) {
    if (buffers_[i].size() != size) return std::nullopt;
  }
  if (buffers_.back().size() > size || buffers_.back().empty()) return std::nullopt;
  return size;
}

}  // namespace modelport
