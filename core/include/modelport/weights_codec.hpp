// The weights codec: sizes and offsets of every weight in the byte stream, validation, decoding
// to typed tensors (with dequantization, spec §1.4/§1.5) and encoding (spec §5.3).
#pragma once

#include <modelport/buffer.hpp>
#include <modelport/dtype.hpp>
#include <modelport/export.hpp>
#include <modelport/weight_data.hpp>
#include <modelport/weight_spec.hpp>

#include <cstdint>
#include <cstring>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelport {

// Checked product of the dims. Throws Error(corrupt) naming the weight on a negative dim, on
// more than limits::max_weight_elements (2^53, what a JS number counts exactly) or a rank over
// limits::max_rank.
MODELPORT_API std::uint64_t element_count(const WeightSpec& spec);

// Where one weight's stored bytes are in the stream, and what the bytes are.
struct WeightLayout {
  std::size_t index = 0;  // position in the spec list
  std::uint64_t offset = 0;
  std::uint64_t byte_length = 0;
  std::uint64_t elements = 0;
  DType dtype = DType::float32;                 // logical dtype after decoding
  std::optional<QuantDType> quantization;       // storage dtype when quantized
};

// Validates every spec against the data before anything is decoded: known dtype and
// quantization (the checks and messages of spec §1.5), sizes with checked arithmetic, string
// length prefixes inside the data, and the total: the bytes the specs imply must equal the data
// size. Errors are Error(corrupt) and name `source`, the weight, the expected and actual byte
// counts. Returns the layout of every weight in spec order.
MODELPORT_API std::vector<WeightLayout> plan_weights(const std::vector<WeightSpec>& specs,
                                                     const WeightData& data,
                                                     std::string_view source = {});

// Bytes a group's weights take when every one of them has a fixed size (no strings, known dtype
// and quantization); nullopt otherwise (their size then shows only when decoding).
MODELPORT_API std::optional<std::uint64_t> fixed_group_bytes(const std::vector<WeightSpec>& specs);

// Checks each manifest group against its shards (one buffer per manifest path, in manifest
// order): their sizes must add up to what the group's weights need. Error(corrupt) names the
// source, the group, the bytes needed and every shard with its size. Groups whose size cannot be
// known without decoding (string weights) are left to decoding.
MODELPORT_API void check_group_sizes(const WeightsManifest& manifest, std::span<const Buffer> shards,
                                     std::string_view source);
// The same check over shard sizes (a streamed load, whose bytes are not read yet).
MODELPORT_API void check_group_sizes(const WeightsManifest& manifest, std::span<const std::uint64_t> shard_sizes,
                                     std::string_view source);

// A decoded tensor. `data` holds the little-endian elements of float32/int32/bool/complex64
// tensors (complex64: re, im pairs). When the stored bytes already are those elements
// (unquantized float32/int32/bool/complex64 inside one buffer) `data` is a slice of the weight
// buffer: nothing is copied. String tensors hold one Buffer per element instead (also slices).
struct Tensor {
  std::string name;
  std::vector<std::int64_t> shape;
  DType dtype = DType::float32;
  std::uint64_t elements = 0;
  Buffer data;
  std::vector<Buffer> strings;

  // Element i as T (float / std::int32_t / std::uint8_t); safe at any alignment.
  template <class T>
  T at(std::size_t i) const noexcept {
    T value;
    std::memcpy(&value, data.data() + i * sizeof(T), sizeof(T));
    return value;
  }
};

MODELPORT_API Tensor decode_weight(const WeightSpec& spec, const WeightLayout& layout,
                                   const WeightData& data);

// decodeWeights: plan, then decode every weight in order.
MODELPORT_API std::vector<Tensor> decode_weights(const std::vector<WeightSpec>& specs,
                                                 const WeightData& data, std::string_view source = {});

// A tensor to encode. Fixed-size dtypes: `data` holds the little-endian elements (float32 data
// may be quantized on encode). Strings: `strings`, one entry per element in row-major order.
struct TensorInput {
  std::string name;
  std::vector<std::int64_t> shape;
  DType dtype = DType::float32;
  Buffer data;
  std::vector<std::string> strings;
};

struct EncodeOptions {
  std::optional<std::string> group;  // appended to every spec, as encodeWeights(tensors, group)
  // Per-weight quantization choice (converter writer side, float32 weights only); nullopt = none.
  std::function<std::optional<QuantDType>(const TensorInput&)> quantize;
};

struct EncodedWeights {
  std::vector<WeightSpec> specs;
  WeightData data;  // one buffer
};

// encodeWeights: specs {name, shape, dtype[, group]} and the bytes per spec §1.4, no padding.
// Throws Error(invalid_argument) naming the tensor when data size does not match its shape.
MODELPORT_API EncodedWeights encode_weights(std::span<const TensorInput> tensors,
                                            const EncodeOptions& options = {});

}  // namespace modelport
