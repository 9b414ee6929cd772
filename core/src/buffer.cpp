#include <modelport/buffer.hpp>
#include <modelport/error.hpp>

#include <cstring>
#include <string>

namespace modelport {

namespace {

// Calls the release hook once the last reference to external memory is gone.
struct ExternalRelease {
  std::function<void()> release;
  void operator()(const std::byte*) const {
    if (release) release();
  }
};

}  // namespace

Buffer Buffer::copy_of(std::span<const std::byte> bytes) {
  BufferBuilder builder(bytes.size());
  if (!bytes.empty()) std::memcpy(builder.data().data(), bytes.data(), bytes.size());
  return std::move(builder).finish();
}

Buffer Buffer::copy_of(std::string_view bytes) {
  return copy_of(std::as_bytes(std::span<const char>(bytes.data(), bytes.size())));
}

Buffer Buffer::adopt(std::vector<std::byte>&& bytes) {
  auto owner = std::make_shared<std::vector<std::byte>>(std::move(bytes));
  const std::byte* data = owner->data();
  std::size_t size = owner->size();
  return Buffer(std::shared_ptr<const std::byte>(owner, data), size);
}

Buffer Buffer::external(const void* data, std::size_t size, std::function<void()> release) {
  const auto* bytes = static_cast<const std::byte*>(data);
  return Buffer(std::shared_ptr<const std::byte>(bytes, ExternalRelease{std::move(release)}), size);
}

Buffer Buffer::slice(std::size_t offset, std::size_t length) const {
  if (offset > size_ || length > size_ - offset) {
    throw Error(ErrorCode::internal, "buffer slice [" + std::to_string(offset) + ", +" +
                                         std::to_string(length) + ") outside a buffer of " +
                                         std::to_string(size_) + " bytes");
  }
  return Buffer(std::shared_ptr<const std::byte>(data_, data_.get() + offset), length);
}

bool Buffer::shares_memory_with(const Buffer& other) const noexcept {
  return !data_.owner_before(other.data_) && !other.data_.owner_before(data_) && data_ != nullptr;
}

BufferBuilder::BufferBuilder(std::size_t size)
    // for_overwrite: large weight buffers are filled right away, zeroing them first is wasted
    // memory bandwidth.
    : storage_(std::make_shared_for_overwrite<std::byte[]>(size)), size_(size) {}

Buffer BufferBuilder::finish() && {
  const std::byte* data = storage_.get();
  return Buffer(std::shared_ptr<const std::byte>(std::move(storage_), data), size_);
}

}  // namespace modelport
