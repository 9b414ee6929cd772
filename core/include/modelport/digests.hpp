// Integrity digests of the weight bytes (none of TensorFlow.js's savers has them).
//
// A model saved with digests carries one extra top-level model.json key, which TensorFlow.js
// ignores (it reads only the keys it defines):
//
//   "modelportDigests":{"algorithm":"SHA-256","weightBytes":T,"chunkBytes":N,"sha256":["<hex>",...]}
//
// Digest i covers the weight stream bytes [i*N, min((i+1)*N, T)). N is the shard size the model
// was saved with (one digest per shard for file:// shards, one for a single weights file), but
// the record describes the logical weight stream, not the files: a scheme that stores the bytes
// differently (localstorage's one base64 string, indexeddb's 4 MiB rows, an http server that
// re-shards) cannot make the record stale, and every scheme that keeps unknown top-level keys
// carries it. Saves recompute it from the bytes being saved (SaveOptions::digests), never copy
// it blindly, so a record always describes the data it travels with.
#pragma once

#include <modelport/error.hpp>
#include <modelport/export.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/options.hpp>
#include <modelport/weight_data.hpp>
#include <modelport/weight_stream.hpp>

#include <boost/json/object.hpp>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace modelport {

// The top-level model.json key that holds the record.
inline constexpr std::string_view kDigestsKey = "modelportDigests";

struct WeightDigests {
  std::uint64_t weight_bytes = 0;  // size of the whole weight stream
  std::uint64_t chunk_bytes = 1;   // size of every digested piece but the last (>= 1)
  std::vector<std::string> sha256;  // lower-case hex, one per piece; empty when weight_bytes == 0

  // The piece i covers [offset(i), offset(i) + length(i)).
  std::uint64_t offset(std::size_t i) const noexcept { return static_cast<std::uint64_t>(i) * chunk_bytes; }
  std::uint64_t length(std::size_t i) const noexcept {
    const std::uint64_t start = offset(i);
    return start >= weight_bytes ? 0 : std::min(chunk_bytes, weight_bytes - start);
  }
  bool operator==(const WeightDigests&) const = default;
};

// SHA-256 of every `chunk_bytes` piece of `data` (chunk_bytes 0 means one piece for all).
MODELPORT_API WeightDigests compute_weight_digests(const WeightData& data, std::uint64_t chunk_bytes);

MODELPORT_API boost::json::object to_json(const WeightDigests& digests);

// The record the artifacts carry, or nullopt when they carry none. A record that is not what
// compute_weight_digests writes (wrong types, a piece count that does not fit the sizes, digests
// that are not 64 hex digits) is Error(corrupt) naming `source`: a damaged record must not pass
// for "no digests".
MODELPORT_API std::optional<WeightDigests> recorded_weight_digests(const ModelArtifacts& artifacts,
                                                                   std::string_view source);

// One piece whose bytes do not hash to the recorded digest.
struct DigestMismatch {
  std::size_t index = 0;  // piece index; the shard index when the model was saved in shards
  std::size_t count = 0;  // number of pieces
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
  std::string recorded;
  std::string actual;
};

struct DigestCheck {
  bool size_matches = true;  // the stream holds weight_bytes bytes
  std::uint64_t actual_bytes = 0;
  std::vector<DigestMismatch> mismatches;  // every failing piece, in order
  bool ok() const noexcept { return size_matches && mismatches.empty(); }
};

// Hashes every piece of `data` and compares (no exception for a mismatch; see verify_...).
MODELPORT_API DigestCheck check_weight_digests(const WeightDigests& digests, const WeightData& data);

// Error(corrupt) naming `source`: it holds `actual` weight bytes, its record covers `recorded`.
MODELPORT_API Error digest_size_error(std::string_view source, std::uint64_t actual, std::uint64_t recorded);

// "shard 2 of 3 (weight bytes 200..399)": how messages name a piece.
MODELPORT_API std::string describe_piece(const DigestMismatch& mismatch);

// Verifies the artifacts' record, if any, against their weight data. Error(corrupt) names
// `source`, the first failing shard with its byte range and both digests; returns whether a
// record was present.
MODELPORT_API bool verify_weight_digests(const ModelArtifacts& artifacts, std::string_view source);

// Whether a load with these options verifies digests: LoadOptions::verify_digests, turned off
// also by the plugin option verify_digests=0|false|no|off (so `-o verify_digests=0` works).
MODELPORT_API bool should_verify_digests(const LoadOptions& options);

// The artifacts a save should hand to its handler under options.digests: with a fresh record
// (computed over their bytes, pieces of options.digest_chunk_bytes, else the shard_bytes plugin
// option, else the weight data's uniform shard size, else one piece), or without any record.
// nullopt when `artifacts` already are what should be saved (no copy made).
MODELPORT_API std::optional<ModelArtifacts> artifacts_for_save(const ModelArtifacts& artifacts,
                                                               const SaveOptions& options);

// -- Streaming copies ----------------------------------------------------------------------

// Hashes the bytes of `inner` in pieces of `chunk_bytes` (0: one piece) as they pass through.
// With `expected`, each piece is compared as soon as its last byte has been read, and a mismatch
// throws Error(corrupt) naming `source` and the piece, before the part that completes it is
// handed on: a save consuming the stream fails before it can commit bad bytes. A stream whose
// size differs from expected->weight_bytes is refused up front. When the stream has been read to
// its end, `*computed` (if given) holds the digests of what passed.
MODELPORT_API std::unique_ptr<WeightStream> digest_stream(std::unique_ptr<WeightStream> inner, std::uint64_t chunk_bytes,
                                                          std::optional<WeightDigests> expected, std::string source,
                                                          std::shared_ptr<WeightDigests> computed = nullptr);

// Reads the whole stream and returns its digests (memory: one part at a time).
MODELPORT_API WeightDigests compute_weight_digests(WeightStream& stream, std::uint64_t chunk_bytes);

// The piece size a save under `options` digests with: options.digest_chunk_bytes, else the
// shard_bytes plugin option, else `uniform_shard_size`, else 0 (one piece).
MODELPORT_API std::uint64_t digest_chunk_bytes_for(const SaveOptions& options,
                                                   std::optional<std::uint64_t> uniform_shard_size);

}  // namespace modelport
