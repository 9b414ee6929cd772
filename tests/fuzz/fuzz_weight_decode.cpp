// Weight decoding with specs and bytes from the input: dtype, quantization (with its min and
// scale), shape and the shard boundaries are all chosen by the fuzzer, the rest is the data.
//
// Invariants: only modelport::Error comes out; a decoded tensor has exactly the elements its
// shape says; unquantized fixed-size weights come back as the stored bytes, and encoding the
// decoded tensors gives the original stream back.
#include "fuzz_support.hpp"

#include <modelport/error.hpp>
#include <modelport/weights_codec.hpp>

#include <algorithm>
#include <array>
#include <cstring>
#include <string>
#include <vector>

namespace {

using namespace modelport;
using modelport::fuzz::ByteReader;

// Known names first, then the kinds of wrong a file can hold.
constexpr std::array<const char*, 8> kDtypes = {"float32", "int32", "bool", "complex64", "string", "float16", "", "uint8"};
constexpr std::array<const char*, 5> kQuant = {"uint8", "uint16", "float16", "int8", "float32"};

std::int64_t dimension(ByteReader& in) {
  const std::uint8_t kind = in.u8();
  switch (kind >> 5) {
    case 0: return kind & 0x3;           // 0..3: zero-sized and tiny weights
    case 1: return kind & 0x1f;          // up to 31
    case 2: return static_cast<std::int64_t>(in.u32());  // large
    case 3: return static_cast<std::int64_t>(in.u64() & 0x7fffffffffffffff);  // huge
    default: return (kind & 0x7) + 1;
  }
}

WeightSpec spec_from(ByteReader& in, std::size_t index) {
  WeightSpec spec;
  spec.name = "w" + std::to_string(index);
  spec.dtype = kDtypes[in.u8() % kDtypes.size()];
  const std::uint8_t rank = in.u8() % 6;
  for (std::uint8_t d = 0; d < rank; ++d) spec.shape.push_back(dimension(in));
  const std::uint8_t q = in.u8();
  if (q & 0x80) {
    Quantization quant;
    quant.dtype = kQuant[q % kQuant.size()];
    if (q & 0x40) quant.min = (q & 0x10) ? in.f64() : static_cast<double>(static_cast<std::int8_t>(in.u8()));
    if (q & 0x20) quant.scale = (q & 0x10) ? in.f64() : in.u8() / 64.0;
    spec.quantization = std::move(quant);
  }
  return spec;
}

void check_tensor(const Tensor& t, const WeightSpec& spec, const WeightLayout& layout) {
  MODELPORT_FUZZ_CHECK(t.elements == layout.elements, spec.name);
  if (t.dtype == DType::string) {
    MODELPORT_FUZZ_CHECK(t.strings.size() == t.elements, spec.name);
    return;
  }
  const std::size_t width = t.dtype == DType::complex64 ? 8 : t.dtype == DType::boolean ? 1 : 4;
  MODELPORT_FUZZ_CHECK(t.data.size() == t.elements * width, spec.name + " holds " + std::to_string(t.data.size()) + " bytes");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* bytes, std::size_t size) {
  ByteReader in(bytes, size);
  const std::size_t count = in.u8() % 5;
  std::vector<WeightSpec> specs;
  for (std::size_t i = 0; i < count; ++i) specs.push_back(spec_from(in, i));
  // The rest of the input is the weight stream, cut into up to 4 shards.
  const std::size_t cuts = in.u8() % 4;
  std::vector<std::size_t> cut_at;
  for (std::size_t i = 0; i < cuts; ++i) cut_at.push_back(in.u8());
  const std::string_view stream = in.rest();
  std::vector<Buffer> shards;
  std::size_t from = 0;
  for (std::size_t at : cut_at) {
    at = std::min(from + at, stream.size());
    shards.push_back(Buffer::copy_of(stream.substr(from, at - from)));
    from = at;
  }
  shards.push_back(Buffer::copy_of(stream.substr(from)));
  const WeightData data(shards);

  std::vector<WeightLayout> plan;
  try {
    plan = plan_weights(specs, data, "fuzz://weights");
  } catch (const Error&) {
    return 0;
  }
  MODELPORT_FUZZ_CHECK(plan.size() == specs.size(), "one layout per spec");
  std::vector<Tensor> tensors;
  bool plain = true;  // no quantization: encoding must give the stream back
  for (const auto& layout : plan) {
    tensors.push_back(decode_weight(specs[layout.index], layout, data));
    check_tensor(tensors.back(), specs[layout.index], layout);
    plain &= !layout.quantization;
  }
  if (!plain) return 0;
  std::vector<TensorInput> inputs;
  for (const auto& t : tensors) {
    TensorInput input{t.name, t.shape, t.dtype, t.data, {}};
    for (const auto& s : t.strings) input.strings.emplace_back(reinterpret_cast<const char*>(s.data()), s.size());
    inputs.push_back(std::move(input));
  }
  const EncodedWeights encoded = encode_weights(inputs);
  MODELPORT_FUZZ_CHECK(encoded.data.size() == data.size(), "re-encoded size");
  const Buffer original = data.join();
  const Buffer again = encoded.data.join();
  MODELPORT_FUZZ_CHECK(original.size() == 0 || std::memcmp(original.data(), again.data(), original.size()) == 0,
                       "re-encoded bytes differ");
  return 0;
}
