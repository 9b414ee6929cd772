// Caps on what modelport reads from model files and stores (docs/limits.md gives the reasons).
//
// Input comes from files and servers written by others. Each cap bounds the memory or time one
// bad file can cost before it is refused, and is set far above every real model (the largest
// public TensorFlow.js models have model.json files of tens of MB, tens of thousands of
// weights, rank <= 6 and weights of a few GB). Exceeding a cap throws modelport::Error with
// ErrorCode::corrupt naming the file or URL, the value found and the cap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace modelport::limits {

// A model.json (or bare weights manifest) text, in bytes.
inline constexpr std::uint64_t max_model_json_bytes = std::uint64_t{256} << 20;  // 256 MiB

// Nesting of JSON arrays and objects (the parser's own cap; recursion stays inside a thread stack).
inline constexpr std::size_t max_json_depth = 1000;

// Weight entries of one model (all manifest groups together), and of one weight spec list.
inline constexpr std::size_t max_weights = 1'000'000;

// Dimensions of one weight's shape.
inline constexpr std::size_t max_rank = 64;

// Elements of one weight: 2^53, the largest count a JavaScript number holds exactly (tfjs
// computes sizes as numbers). Its stored bytes (quantized: the stored, not the decoded, bytes)
// are capped lower, at 64 GiB, which also bounds fixed-size weights' element counts.
inline constexpr std::uint64_t max_weight_elements = std::uint64_t{1} << 53;
inline constexpr std::uint64_t max_weight_bytes = std::uint64_t{1} << 36;  // 64 GiB

// One element of a string weight (the uint32 length prefix allows up to 4 GiB).
inline constexpr std::uint64_t max_string_bytes = std::uint64_t{256} << 20;  // 256 MiB

// A weight name, in bytes.
inline constexpr std::size_t max_weight_name_bytes = 64 * 1024;

// One shard path in a manifest, in bytes, and shard paths of one model (all groups).
inline constexpr std::size_t max_shard_path_bytes = 4096;
inline constexpr std::size_t max_shard_paths = 100'000;

}  // namespace modelport::limits
