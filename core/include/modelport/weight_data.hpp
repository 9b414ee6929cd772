// The weight byte stream of a model: an ordered list of buffers whose concatenation is the
// stream that the weight specs describe (tfjs `WeightData` / `CompositeArrayBuffer`).
//
// It is never required to be contiguous: loaders keep one buffer per shard, so models larger
// than any single allocation work, and a weight that crosses a shard boundary is assembled on
// its own when it is decoded.
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/export.hpp>

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

namespace modelport {

class MODELPORT_API WeightData {
 public:
  WeightData() = default;
  explicit WeightData(Buffer buffer);
  explicit WeightData(std::vector<Buffer> buffers);

  void append(Buffer buffer);

  const std::vector<Buffer>& buffers() const noexcept { return buffers_; }
  std::uint64_t size() const noexcept { return ends_.empty() ? 0 : ends_.back(); }
  bool empty() const noexcept { return size() == 0; }

  struct Position {
    std::size_t buffer;  // index into buffers()
    std::size_t offset;  // byte offset inside that buffer
  };
  // Where stream offset `offset` lives (binary search; empty buffers are skipped). Requires
  // offset < size().
  Position locate(std::uint64_t offset) const;

  // Copies [offset, offset + out.size()) into `out`; throws Error(corrupt) past the end.
  void copy_to(std::uint64_t offset, std::span<std::byte> out) const;

  // The bytes [offset, offset + length): a zero-copy slice when they lie in one buffer,
  // otherwise a copy of just that range. Throws Error(corrupt) past the end.
  Buffer view(std::uint64_t offset, std::uint64_t length) const;

  // CompositeArrayBuffer.slice semantics: start clamped to >= 0, end clamped to <= size(),
  // end <= start gives an empty result. Always returns its own copy of the bytes.
  Buffer slice(std::int64_t start = 0, std::optional<std::int64_t> end = std::nullopt) const;

  // One contiguous buffer: the single buffer itself when there is only one, else a copy.
  Buffer join() const;

  // The shard size of a converter-style layout (several buffers of one size and a last one no
  // larger), which a copy should keep; nullopt for one buffer or an irregular layout.
  std::optional<std::uint64_t> uniform_shard_size() const;

 private:
  std::vector<Buffer> buffers_;
  std::vector<std::uint64_t> ends_;  // ends_[i] = stream offset just past buffers_[i]
};

}  // namespace modelport
