// The weight bytes of a model as a sequence of parts read one at a time, in order: what a
// streaming copy hands from a load to a save so that the whole model is never in memory.
//
// A plugin's load_streamed gives parts that are read from the store only when next() asks for
// them (its deferred shards); any other handler's stream serves bytes it already holds and lets
// go of each part once it is handed out.
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/export.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/weight_data.hpp>

#include <cstdint>
#include <exception>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace modelport {

class MODELPORT_API WeightStream {
 public:
  virtual ~WeightStream();
  WeightStream(const WeightStream&) = delete;
  WeightStream& operator=(const WeightStream&) = delete;

  // Sizes of the parts, known before any byte is read (a saver plans its layout from them).
  const std::vector<std::uint64_t>& part_sizes() const noexcept { return sizes_; }
  // Sizes of the stored shards the parts make up (files, rows): the parts themselves unless the
  // source hands a shard over in several pieces. Their sum is size().
  const std::vector<std::uint64_t>& shard_sizes() const noexcept { return shards_.empty() ? sizes_ : shards_; }
  std::uint64_t size() const noexcept { return total_; }
  std::size_t parts_read() const noexcept { return next_; }

  struct Layout {
    std::vector<std::uint64_t> parts;
    std::vector<std::uint64_t> shards;  // empty: the parts
  };
  Layout layout() const { return {sizes_, shards_}; }

  // The next part (exactly part_sizes()[i] bytes), or nullopt after the last. Throws Error when
  // the part cannot be read; a part that comes back with the wrong size is Error(corrupt). Once
  // it has thrown, every later call throws the same error again.
  std::optional<Buffer> next();

  // The shard size of a converter-style layout of shard_sizes() (like
  // WeightData::uniform_shard_size): what a copy that keeps the layout shards by.
  std::optional<std::uint64_t> uniform_shard_size() const;

 protected:
  // `source` (a URL) names the stream in its errors; `shard_sizes` (empty: the parts) is the
  // stored layout, and must add up to the same size.
  explicit WeightStream(std::vector<std::uint64_t> part_sizes, std::string source = {},
                        std::vector<std::uint64_t> shard_sizes = {});
  // For decorators: the same parts and layout as another stream (its layout()).
  explicit WeightStream(Layout layout, std::string source = {});
  // Called once per part, in order (never concurrently).
  virtual Buffer read_part(std::size_t index) = 0;

 private:
  std::vector<std::uint64_t> sizes_;
  std::vector<std::uint64_t> shards_;
  std::string source_;
  std::uint64_t total_ = 0;
  std::size_t next_ = 0;
  std::exception_ptr failure_;
};

// A stream over bytes in memory: one part per buffer, each released once it is handed out.
MODELPORT_API std::unique_ptr<WeightStream> stream_of(WeightData data);

// Reads every remaining part into memory.
MODELPORT_API WeightData drain(WeightStream& stream);

// Reads part i+1 on a helper thread while part i is being used, so that reading the source and
// writing the destination overlap; at most two parts are held at once.
MODELPORT_API std::unique_ptr<WeightStream> read_ahead(std::unique_ptr<WeightStream> stream);

// A model whose weight bytes are still in the store.
struct StreamedModel {
  ModelArtifacts artifacts;                // weight_data is always unset
  std::unique_ptr<WeightStream> weights;   // null: the model has no weight data
};

}  // namespace modelport
