#include "json_access.hpp"

#include <modelport/error.hpp>
#include <modelport/float16.hpp>
#include <modelport/limits.hpp>
#include <modelport/quantization.hpp>
#include <modelport/weights_codec.hpp>

#include <cstring>
#include <limits>

namespace modelport {

namespace {

// Checked products stop here; the caps themselves are limits::max_weight_elements and
// limits::max_weight_bytes (docs/limits.md).
constexpr std::uint64_t kMaxElements = limits::max_weight_elements;

std::string label(const WeightSpec& spec) { return "weight '" + spec.name + "'"; }

[[noreturn]] void fail(std::string_view source, const std::string& message) {
  throw Error(ErrorCode::corrupt, message + detail::in_context(source));
}

std::uint32_t read_u32_le(const std::byte* p) {
  return static_cast<std::uint32_t>(p[0]) | static_cast<std::uint32_t>(p[1]) << 8 |
         static_cast<std::uint32_t>(p[2]) << 16 | static_cast<std::uint32_t>(p[3]) << 24;
}

// Reads the uint32 length prefix at stream offset `at`, wherever the buffer boundaries fall.
std::uint32_t read_length_prefix(const WeightData& data, std::uint64_t at) {
  WeightData::Position pos = data.locate(at);
  const Buffer& b = data.buffers()[pos.buffer];
  if (b.size() - pos.offset >= 4) return read_u32_le(b.data() + pos.offset);
  std::byte bytes[4];
  data.copy_to(at, bytes);
  return read_u32_le(bytes);
}

// The dtype checks of tfjs decodeWeights, in its order and with its messages (spec §1.5).
void check_dtypes(const WeightSpec& spec, WeightLayout& layout, std::string_view source) {
  if (spec.quantization) {
    const Quantization& q = *spec.quantization;
    auto qdtype = parse_quant_dtype(q.dtype);
    bool affine = qdtype == QuantDType::uint8 || qdtype == QuantDType::uint16;
    if (affine && (!q.min || !q.scale)) {
      fail(source, "Weight " + spec.name + " with quantization " + q.dtype +
                       " doesn't have corresponding metadata min and scale.");
    }
    if (qdtype == QuantDType::float16 && spec.dtype != "float32") {
      fail(source, "Weight " + spec.name + " is quantized with float16 which only supports weights of type float32 not " +
                       spec.dtype + ".");
    }
    if (!qdtype) {
      fail(source, "Weight " + spec.name + " has unknown quantization dtype " + q.dtype +
                       ". Supported quantization dtypes are: 'uint8', 'uint16', and 'float16'.");
    }
    if (spec.dtype != "float32" && spec.dtype != "int32") {
      fail(source, "Unsupported dtype in weight '" + spec.name + "': " + spec.dtype);
    }
    if (affine && (!std::isfinite(*q.min) || !std::isfinite(*q.scale))) {
      fail(source, "Weight " + spec.name + " has a quantization min or scale that is not finite");
    }
    layout.quantization = qdtype;
    layout.dtype = *parse_dtype(spec.dtype);
    return;
  }
  auto dtype = parse_dtype(spec.dtype);
  if (!dtype) fail(source, "Unsupported dtype in weight '" + spec.name + "': " + spec.dtype);
  layout.dtype = *dtype;
}

std::uint64_t string_tensor_bytes(const WeightSpec& spec, std::uint64_t offset, std::uint64_t elements,
                                  const WeightData& data, std::string_view source) {
  const std::uint64_t size = data.size();
  std::uint64_t pos = offset;
  for (std::uint64_t i = 0; i < elements; ++i) {
    if (size - pos < 4) {
      fail(source, label(spec) + " (string) needs a 4-byte length for element " + std::to_string(i) +
                       " at offset " + std::to_string(pos) + " but the weight data has only " +
                       std::to_string(size - pos) + " bytes left (" + std::to_string(size) + " in total)");
    }
    std::uint32_t length = read_length_prefix(data, pos);
    pos += 4;
    if (length > limits::max_string_bytes) {
      fail(source, label(spec) + " (string) element " + std::to_string(i) + " of " + std::to_string(length) +
                       " bytes exceeds the limit of " + std::to_string(limits::max_string_bytes) +
                       " bytes (limits::max_string_bytes)");
    }
    if (size - pos < length) {
      fail(source, label(spec) + " (string) element " + std::to_string(i) + " needs " +
                       std::to_string(length) + " bytes at offset " + std::to_string(pos) +
                       " but the weight data has only " + std::to_string(size - pos) + " bytes left (" +
                       std::to_string(size) + " in total)");
    }
    pos += length;
  }
  return pos - offset;
}

}  // namespace

std::uint64_t element_count(const WeightSpec& spec) {
  std::uint64_t count = 1;
  for (auto dim : spec.shape) {
    if (dim < 0) throw Error(ErrorCode::corrupt, label(spec) + " has a negative dimension");
    auto d = static_cast<std::uint64_t>(dim);
    if (d != 0 && count > kMaxElements / d) {
      throw Error(ErrorCode::corrupt, label(spec) + " has a shape whose element count overflows the limit of " +
                                          std::to_string(kMaxElements) + " elements (limits::max_weight_elements)");
    }
    count *= d;
  }
  if (spec.shape.size() > limits::max_rank) {
    throw Error(ErrorCode::corrupt, label(spec) + " has rank " + std::to_string(spec.shape.size()) + ", which exceeds the limit of " +
                                        std::to_string(limits::max_rank) + " (limits::max_rank)");
  }
  return count;
}

std::vector<WeightLayout> plan_weights(const std::vector<WeightSpec>& specs, const WeightData& data,
                                       std::string_view source) {
  if (specs.size() > limits::max_weights) {
    fail(source, std::to_string(specs.size()) + " weights exceed the limit of " + std::to_string(limits::max_weights) +
                     " (limits::max_weights)");
  }
  std::vector<WeightLayout> plan;
  plan.reserve(specs.size());
  const std::uint64_t size = data.size();
  std::uint64_t offset = 0;
  for (std::size_t i = 0; i < specs.size(); ++i) {
    const WeightSpec& spec = specs[i];
    WeightLayout layout;
    layout.index = i;
    layout.offset = offset;
    check_dtypes(spec, layout, source);
    try {
      layout.elements = element_count(spec);
    } catch (const Error& e) {
      fail(source, e.what());
    }
    if (layout.dtype == DType::string && !layout.quantization) {
      layout.byte_length = string_tensor_bytes(spec, offset, layout.elements, data, source);
    } else {
      std::size_t width = layout.quantization ? element_size(*layout.quantization) : *element_size(layout.dtype);
      // elements <= limits::max_weight_elements (2^53) and width <= 8: no 64-bit overflow.
      layout.byte_length = layout.elements * width;
      if (layout.byte_length > limits::max_weight_bytes) {
        fail(source, label(spec) + " needs " + std::to_string(layout.byte_length) + " bytes, more than the limit of " +
                         std::to_string(limits::max_weight_bytes) + " bytes (limits::max_weight_bytes)");
      }
      if (layout.byte_length > size - offset) {
        fail(source, label(spec) + " needs " + std::to_string(layout.byte_length) + " bytes at offset " +
                         std::to_string(offset) + " but the weight data has only " +
                         std::to_string(size - offset) + " bytes left (" + std::to_string(size) + " in total)");
      }
    }
    offset += layout.byte_length;
    plan.push_back(layout);
  }
  if (offset != size) {
    std::string last = specs.empty() ? std::string("no weights") : "the last is " + label(specs.back());
    fail(source, "the weight specs describe " + std::to_string(offset) + " bytes but the weight data has " +
                     std::to_string(size) + " bytes (" + std::to_string(size - offset) +
                     " unexpected trailing bytes; " + last + ")");
  }
  return plan;
}

std::optional<std::uint64_t> fixed_group_bytes(const std::vector<WeightSpec>& specs) {
  std::uint64_t total = 0;
  for (const auto& spec : specs) {
    std::size_t width = 0;
    if (spec.quantization) {
      auto q = parse_quant_dtype(spec.quantization->dtype);
      if (!q) return std::nullopt;
      width = element_size(*q);
    } else {
      auto dtype = parse_dtype(spec.dtype);
      if (!dtype || *dtype == DType::string) return std::nullopt;
      width = *element_size(*dtype);
    }
    std::uint64_t elements = 0;
    try {
      elements = element_count(spec);
    } catch (const Error&) {
      return std::nullopt;  // decoding reports the bad shape with its context
    }
    // Over the cap: decoding reports it with its context. Under it, 10^6 weights of at most
    // 2^36 bytes cannot overflow the 64-bit total.
    if (elements * width > limits::max_weight_bytes) return std::nullopt;
    total += elements * width;
  }
  return total;
}

void check_group_sizes(const WeightsManifest& manifest, std::span<const std::uint64_t> shard_sizes, std::string_view source) {
  std::size_t paths = 0;
  for (const auto& group : manifest) paths += group.paths.size();
  if (paths != shard_sizes.size()) return;  // not one buffer per path: nothing to match them with
  std::size_t next = 0;
  for (std::size_t g = 0; g < manifest.size(); ++g) {
    const WeightsGroup& group = manifest[g];
    std::uint64_t held = 0;
    std::string listing;
    for (std::size_t i = 0; i < group.paths.size(); ++i) {
      const std::uint64_t shard = shard_sizes[next + i];
      held += shard;
      listing += (i ? ", " : "") + group.paths[i] + " (" + std::to_string(shard) + " bytes)";
    }
    next += group.paths.size();
    auto needed = fixed_group_bytes(group.weights);
    if (needed && *needed != held) {
      fail(source, "weight group " + std::to_string(g + 1) + " needs " + std::to_string(*needed) +
                       " bytes but its shards hold " + std::to_string(held) + ": " + (listing.empty() ? "(no shards)" : listing));
    }
  }
}

void check_group_sizes(const WeightsManifest& manifest, std::span<const Buffer> shards, std::string_view source) {
  std::vector<std::uint64_t> sizes;
  sizes.reserve(shards.size());
  for (const Buffer& b : shards) sizes.push_back(b.size());
  check_group_sizes(manifest, sizes, source);
}

Tensor decode_weight(const WeightSpec& spec, const WeightLayout& layout, const WeightData& data) {
  Tensor t;
  t.name = spec.name;
  t.shape = spec.shape;
  t.dtype = layout.dtype;
  t.elements = layout.elements;

  if (layout.dtype == DType::string) {
    t.strings.reserve(static_cast<std::size_t>(layout.elements));
    std::uint64_t pos = layout.offset;
    for (std::uint64_t i = 0; i < layout.elements; ++i) {
      std::uint32_t length = read_length_prefix(data, pos);
      t.strings.push_back(data.view(pos + 4, length));
      pos += 4 + std::uint64_t{length};
    }
    return t;
  }

  // Stored bytes are already the elements: hand out a view, copying nothing unless the weight
  // crosses a shard boundary (then only this weight's bytes are copied).
  Buffer stored = data.view(layout.offset, layout.byte_length);
  if (!layout.quantization) {
    t.data = std::move(stored);
    return t;
  }

  const auto n = static_cast<std::size_t>(layout.elements);
  BufferBuilder out(n * 4);
  std::byte* dst = out.data().data();
  const std::byte* src = stored.data();
  const Quantization& q = *spec.quantization;
  auto store = [&](std::size_t i, auto value) { std::memcpy(dst + i * 4, &value, 4); };

  switch (*layout.quantization) {
    case QuantDType::float16:
      for (std::size_t i = 0; i < n; ++i) {
        auto h = static_cast<std::uint16_t>(static_cast<unsigned>(src[2 * i]) | static_cast<unsigned>(src[2 * i + 1]) << 8);
        store(i, half_to_float(h));
      }
      break;
    case QuantDType::uint8:
    case QuantDType::uint16: {
      const bool wide = *layout.quantization == QuantDType::uint16;
      const double min = *q.min;
      const double scale = *q.scale;
      const bool to_int = layout.dtype == DType::int32;
      for (std::size_t i = 0; i < n; ++i) {
        std::uint32_t v = wide ? (static_cast<std::uint32_t>(src[2 * i]) | static_cast<std::uint32_t>(src[2 * i + 1]) << 8)
                               : static_cast<std::uint32_t>(src[i]);
        if (to_int) {
          store(i, dequantize_affine_int32(v, min, scale));
        } else {
          store(i, dequantize_affine_float(v, min, scale));
        }
      }
      break;
    }
  }
  t.data = std::move(out).finish();
  return t;
}

std::vector<Tensor> decode_weights(const std::vector<WeightSpec>& specs, const WeightData& data,
                                   std::string_view source) {
  auto plan = plan_weights(specs, data, source);
  std::vector<Tensor> tensors;
  tensors.reserve(plan.size());
  for (const auto& layout : plan) tensors.push_back(decode_weight(specs[layout.index], layout, data));
  return tensors;
}

EncodedWeights encode_weights(std::span<const TensorInput> tensors, const EncodeOptions& options) {
  struct Pending {
    WeightSpec spec;
    Buffer bytes;            // fixed-size dtypes: what goes into the stream
    const TensorInput* input;
  };
  std::vector<Pending> pending;
  pending.reserve(tensors.size());
  std::uint64_t total = 0;

  for (const auto& input : tensors) {
    Pending p{WeightSpec{}, Buffer(), &input};
    p.spec.name = input.name;
    p.spec.shape = input.shape;
    p.spec.dtype = std::string(to_string(input.dtype));
    p.spec.group = options.group;
    std::uint64_t elements = element_count(p.spec);

    if (input.dtype == DType::string) {
      if (input.strings.size() != elements) {
        throw Error(ErrorCode::invalid_argument, "tensor '" + input.name + "' has " + std::to_string(input.strings.size()) +
                                                     " strings but its shape needs " + std::to_string(elements));
      }
      for (const auto& s : input.strings) {
        if (s.size() > std::numeric_limits<std::uint32_t>::max()) {
          throw Error(ErrorCode::invalid_argument, "tensor '" + input.name + "' has a string longer than 4 GiB");
        }
        total += 4 + s.size();
      }
      pending.push_back(std::move(p));
      continue;
    }

    std::uint64_t expected = elements * *element_size(input.dtype);
    if (input.data.size() != expected) {
      throw Error(ErrorCode::invalid_argument, "tensor '" + input.name + "' has " + std::to_string(input.data.size()) +
                                                   " bytes but shape and dtype need " + std::to_string(expected));
    }
    std::optional<QuantDType> quantize;
    if (options.quantize && input.dtype == DType::float32) quantize = options.quantize(input);
    if (!quantize) {
      p.bytes = input.data;
    } else {
      std::vector<float> values(static_cast<std::size_t>(elements));
      if (!values.empty()) std::memcpy(values.data(), input.data.data(), input.data.size());
      BufferBuilder out(values.size() * element_size(*quantize));
      Quantization q;
      q.dtype = std::string(to_string(*quantize));
      if (*quantize == QuantDType::float16) {
        quantize_float16(values, out.data());
      } else {
        AffineParams params = quantize_affine(values, *quantize, out.data());
        q.min = params.min;
        q.scale = params.scale;
      }
      q.original_dtype = "float32";
      p.spec.quantization = std::move(q);
      p.bytes = std::move(out).finish();
    }
    total += p.bytes.size();
    pending.push_back(std::move(p));
  }

  BufferBuilder stream(static_cast<std::size_t>(total));
  std::byte* dst = stream.data().data();
  EncodedWeights result;
  result.specs.reserve(pending.size());
  for (auto& p : pending) {
    if (p.input->dtype == DType::string) {
      for (const auto& s : p.input->strings) {
        auto length = static_cast<std::uint32_t>(s.size());
        std::byte prefix[4] = {std::byte(length & 0xff), std::byte((length >> 8) & 0xff),
                               std::byte((length >> 16) & 0xff), std::byte((length >> 24) & 0xff)};
        std::memcpy(dst, prefix, 4);
        if (!s.empty()) std::memcpy(dst + 4, s.data(), s.size());
        dst += 4 + s.size();
      }
    } else if (!p.bytes.empty()) {
      std::memcpy(dst, p.bytes.data(), p.bytes.size());
      dst += p.bytes.size();
    }
    result.specs.push_back(std::move(p.spec));
  }
  result.data = WeightData(std::move(stream).finish());
  return result;
}

}  // namespace modelport
