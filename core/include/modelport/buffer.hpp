// Immutable, reference-counted bytes.
//
// Weight data travels as a sequence of these. A Buffer may own heap memory or may point into
// memory the core does not own (an mmap'd shard, a plugin's buffer); the owner's release hook
// runs when the last Buffer (or slice) referring to it is gone. Copying a Buffer never copies
// bytes.
#pragma once

#include <modelport/export.hpp>

#include <cstddef>
#include <functional>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

namespace modelport {

class MODELPORT_API Buffer {
 public:
  Buffer() = default;

  static Buffer copy_of(std::span<const std::byte> bytes);
  static Buffer copy_of(std::string_view bytes);
  static Buffer adopt(std::vector<std::byte>&& bytes);
  // Wraps memory owned elsewhere; `release` runs exactly once, when no Buffer refers to it.
  static Buffer external(const void* data, std::size_t size, std::function<void()> release);

  const std::byte* data() const noexcept { return data_.get(); }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  std::span<const std::byte> span() const noexcept { return {data(), size_}; }
  std::string_view view() const noexcept {
    return {reinterpret_cast<const char*>(data()), size_};
  }
  auto begin() const noexcept { return span().begin(); }
  auto end() const noexcept { return span().end(); }

  // A view of [offset, offset+length) sharing this buffer's memory; throws Error(internal) when
  // the range is outside the buffer.
  Buffer slice(std::size_t offset, std::size_t length) const;

  // True when both refer to the same underlying allocation (used to prove zero-copy paths).
  bool shares_memory_with(const Buffer& other) const noexcept;

 private:
  friend class BufferBuilder;
  Buffer(std::shared_ptr<const std::byte> data, std::size_t size) : data_(std::move(data)), size_(size) {}
  std::shared_ptr<const std::byte> data_;
  std::size_t size_ = 0;
};

// Fills a fresh, uninitialized allocation once, then freezes it into a Buffer.
class MODELPORT_API BufferBuilder {
 public:
  explicit BufferBuilder(std::size_t size);
  std::span<std::byte> data() noexcept { return {storage_.get(), size_}; }
  std::size_t size() const noexcept { return size_; }
  Buffer finish() &&;

 private:
  std::shared_ptr<std::byte[]> storage_;
  std::size_t size_;
};

}  // namespace modelport
