#include "json_access.hpp"

#include <modelport/digests.hpp>
#include <modelport/error.hpp>
#include <modelport/weight_stats.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <exception>
#include <mutex>
#include <thread>

namespace modelport {

namespace bj = boost::json;

namespace {

std::size_t piece_count(std::uint64_t weight_bytes, std::uint64_t chunk_bytes) {
  return weight_bytes == 0 ? 0 : static_cast<std::size_t>((weight_bytes + chunk_bytes - 1) / chunk_bytes);
}

// Hashes pieces [0, count) with `hash(i)` on up to hardware_concurrency threads: SHA-256 runs at
// a few hundred MB/s per core, so a multi-GB model is worth both cores.
template <class Hash>
void for_each_piece(std::size_t count, Hash&& hash) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        hash(i);
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  const unsigned threads = static_cast<unsigned>(
      std::clamp<std::size_t>(std::thread::hardware_concurrency(), 1, std::max<std::size_t>(count, 1)));
  {
    std::vector<std::jthread> pool;
    for (unsigned t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
  }
  if (failure) std::rethrow_exception(failure);
}

bool is_hex_digest(const bj::value& v) {
  if (!v.is_string() || v.get_string().size() != 64) return false;
  return std::all_of(v.get_string().begin(), v.get_string().end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::uint64_t positive_option(const SaveOptions& options, std::string_view key) {
  std::string_view text = options.option(key);
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size() ? value : 0;
}

// How errors name the model: its URL, or "the model".
std::string where_of(std::string_view source) {
  return source.empty() ? std::string("the model") : "'" + std::string(source) + "'";
}

// A failing piece, as whole-model checks and streamed checks report it.
Error mismatch_error(std::string_view source, const DigestMismatch& m, std::size_t failing = 1) {
  std::string more = failing > 1 ? " (" + std::to_string(failing) + " shards fail in all)" : std::string();
  return Error(ErrorCode::corrupt, where_of(source) + ": " + describe_piece(m) + " fails its SHA-256 check: recorded " +
                                       m.recorded + ", computed " + m.actual + more);
}

}  // namespace

Error digest_size_error(std::string_view source, std::uint64_t actual, std::uint64_t recorded) {
  return Error(ErrorCode::corrupt, where_of(source) + " holds " + std::to_string(actual) +
                                       " weight bytes but its SHA-256 digests were recorded over " + std::to_string(recorded));
}

WeightDigests compute_weight_digests(const WeightData& data, std::uint64_t chunk_bytes) {
  WeightDigests d;
  d.weight_bytes = data.size();
  d.chunk_bytes = chunk_bytes == 0 ? std::max<std::uint64_t>(d.weight_bytes, 1) : chunk_bytes;
  d.sha256.resize(piece_count(d.weight_bytes, d.chunk_bytes));
  for_each_piece(d.sha256.size(), [&](std::size_t i) { d.sha256[i] = sha256_hex(data, d.offset(i), d.length(i)); });
  return d;
}

bj::object to_json(const WeightDigests& d) {
  bj::object o;
  o["algorithm"] = "SHA-256";
  o["weightBytes"] = d.weight_bytes;
  o["chunkBytes"] = d.chunk_bytes;
  bj::array list;
  for (const auto& h : d.sha256) list.emplace_back(h);
  o["sha256"] = std::move(list);
  return o;
}

std::optional<WeightDigests> recorded_weight_digests(const ModelArtifacts& artifacts, std::string_view source) {
  const bj::value* record = artifacts.extra_fields.if_contains(kDigestsKey);
  if (!record) return std::nullopt;
  const std::string where = "the " + std::string(kDigestsKey) + " record";
  if (!record->is_object()) detail::throw_corrupt(source, where + " is not a JSON object");
  const bj::object& o = record->get_object();
  const bj::value* algorithm = o.if_contains("algorithm");
  if (!algorithm || !algorithm->is_string() || algorithm->get_string() != "SHA-256") {
    detail::throw_corrupt(source, where + " names no supported algorithm (expected \"SHA-256\")");
  }
  auto count_of = [&](const char* key) -> std::uint64_t {
    const bj::value* v = o.if_contains(key);
    auto n = v ? detail::as_dimension(*v) : std::nullopt;
    if (!n) detail::throw_corrupt(source, where + " has no valid \"" + key + "\" (a non-negative integer)");
    return static_cast<std::uint64_t>(*n);
  };
  WeightDigests d;
  d.weight_bytes = count_of("weightBytes");
  d.chunk_bytes = count_of("chunkBytes");
  if (d.chunk_bytes == 0) detail::throw_corrupt(source, where + " has chunkBytes 0");
  const bj::value* list = o.if_contains("sha256");
  if (!list || !list->is_array()) detail::throw_corrupt(source, where + " has no \"sha256\" list");
  const std::size_t expected = piece_count(d.weight_bytes, d.chunk_bytes);
  if (list->get_array().size() != expected) {
    detail::throw_corrupt(source, where + " lists " + std::to_string(list->get_array().size()) + " digests but " +
                                      std::to_string(d.weight_bytes) + " weight bytes in pieces of " +
                                      std::to_string(d.chunk_bytes) + " need " + std::to_string(expected));
  }
  for (const auto& h : list->get_array()) {
    if (!is_hex_digest(h)) detail::throw_corrupt(source, where + " holds a digest that is not 64 lower-case hex digits");
    d.sha256.emplace_back(h.get_string());
  }
  return d;
}

DigestCheck check_weight_digests(const WeightDigests& digests, const WeightData& data) {
  DigestCheck check;
  check.actual_bytes = data.size();
  if (data.size() != digests.weight_bytes) {
    check.size_matches = false;
    return check;
  }
  std::vector<std::string> actual(digests.sha256.size());
  for_each_piece(actual.size(), [&](std::size_t i) { actual[i] = sha256_hex(data, digests.offset(i), digests.length(i)); });
  for (std::size_t i = 0; i < actual.size(); ++i) {
    if (actual[i] != digests.sha256[i]) {
      check.mismatches.push_back({i, actual.size(), digests.offset(i), digests.length(i), digests.sha256[i], actual[i]});
    }
  }
  return check;
}

std::string describe_piece(const DigestMismatch& m) {
  std::string range = m.length == 0 ? "no bytes"
                                    : "weight bytes " + std::to_string(m.offset) + ".." + std::to_string(m.offset + m.length - 1);
  return "shard " + std::to_string(m.index + 1) + " of " + std::to_string(m.count) + " (" + range + ")";
}

bool verify_weight_digests(const ModelArtifacts& artifacts, std::string_view source) {
  std::optional<WeightDigests> digests = recorded_weight_digests(artifacts, source);
  if (!digests) return false;
  const WeightData empty;
  DigestCheck check = check_weight_digests(*digests, artifacts.weight_data ? *artifacts.weight_data : empty);
  if (!check.size_matches) throw digest_size_error(source, check.actual_bytes, digests->weight_bytes);
  if (!check.mismatches.empty()) throw mismatch_error(source, check.mismatches.front(), check.mismatches.size());
  return true;
}

bool should_verify_digests(const LoadOptions& options) {
  if (!options.verify_digests) return false;
  std::string_view v = options.option("verify_digests", "1");
  return !(v == "0" || v == "false" || v == "no" || v == "off");
}

std::optional<ModelArtifacts> artifacts_for_save(const ModelArtifacts& artifacts, const SaveOptions& options) {
  const bool carries = artifacts.extra_fields.contains(kDigestsKey);
  const bool record = options.digests == DigestPolicy::record || (options.digests == DigestPolicy::keep && carries);
  // Weights absent altogether: nothing to digest, and no record either.
  if (!record || !artifacts.weight_data) {
    if (!carries) return std::nullopt;
    ModelArtifacts without = artifacts;
    without.extra_fields.erase(kDigestsKey);
    return without;
  }
  const std::uint64_t chunk = digest_chunk_bytes_for(options, artifacts.weight_data->uniform_shard_size());
  ModelArtifacts with = artifacts;
  // Erase first so the key goes last, after every other unknown key, as savers append it.
  with.extra_fields.erase(kDigestsKey);
  with.extra_fields[kDigestsKey] = to_json(compute_weight_digests(*artifacts.weight_data, chunk));
  return with;
}

std::uint64_t digest_chunk_bytes_for(const SaveOptions& options, std::optional<std::uint64_t> uniform_shard_size) {
  std::uint64_t chunk = options.digest_chunk_bytes.value_or(0);
  if (chunk == 0) chunk = positive_option(options, "shard_bytes");
  if (chunk == 0) chunk = uniform_shard_size.value_or(0);
  return chunk;
}

namespace {

class DigestStream final : public WeightStream {
 public:
  DigestStream(std::unique_ptr<WeightStream> inner, std::uint64_t chunk_bytes, std::optional<WeightDigests> expected,
               std::string source, std::shared_ptr<WeightDigests> computed)
      : WeightStream(inner->layout()),
        inner_(std::move(inner)),
        expected_(std::move(expected)),
        source_(std::move(source)),
        computed_(std::move(computed)) {
    if (expected_ && expected_->weight_bytes != size()) {
      throw digest_size_error(source_, size(), expected_->weight_bytes);
    }
    digests_.weight_bytes = size();
    digests_.chunk_bytes = expected_ ? expected_->chunk_bytes
                                     : (chunk_bytes == 0 ? std::max<std::uint64_t>(size(), 1) : chunk_bytes);
    count_ = piece_count(digests_.weight_bytes, digests_.chunk_bytes);
    if (count_ == 0) publish();
  }

 protected:
  Buffer read_part(std::size_t) override {
    std::optional<Buffer> part = inner_->next();
    if (!part) throw Error(ErrorCode::internal, "a digested weight stream ended early");
    std::span<const std::byte> bytes = part->span();
    while (!bytes.empty()) {
      const std::uint64_t left_in_piece = digests_.length(digests_.sha256.size()) - in_piece_;
      const auto take = static_cast<std::size_t>(std::min<std::uint64_t>(left_in_piece, bytes.size()));
      hasher_.update(bytes.first(take));
      bytes = bytes.subspan(take);
      in_piece_ += take;
      if (in_piece_ == digests_.length(digests_.sha256.size())) finish_piece();
    }
    return std::move(*part);
  }

 private:
  void finish_piece() {
    const std::size_t index = digests_.sha256.size();
    std::string actual = hasher_.hex();
    in_piece_ = 0;
    if (expected_ && expected_->sha256[index] != actual) {
      throw mismatch_error(source_, {index, count_, digests_.offset(index), digests_.length(index), expected_->sha256[index], actual});
    }
    digests_.sha256.push_back(std::move(actual));
    if (digests_.sha256.size() == count_) publish();
  }
  void publish() {
    if (computed_) *computed_ = digests_;
  }

  std::unique_ptr<WeightStream> inner_;
  std::optional<WeightDigests> expected_;
  std::string source_;
  std::shared_ptr<WeightDigests> computed_;
  WeightDigests digests_;
  std::size_t count_ = 0;
  std::uint64_t in_piece_ = 0;
  Sha256 hasher_;
};

// Lends a stream to digest_stream without giving it away.
class BorrowedStream final : public WeightStream {
 public:
  explicit BorrowedStream(WeightStream& inner) : WeightStream(inner.layout()), inner_(inner) {}

 protected:
  Buffer read_part(std::size_t) override {
    std::optional<Buffer> part = inner_.next();
    if (!part) throw Error(ErrorCode::internal, "a borrowed weight stream ended early");
    return std::move(*part);
  }

 private:
  WeightStream& inner_;
};

}  // namespace

std::unique_ptr<WeightStream> digest_stream(std::unique_ptr<WeightStream> inner, std::uint64_t chunk_bytes,
                                            std::optional<WeightDigests> expected, std::string source,
                                            std::shared_ptr<WeightDigests> computed) {
  return std::make_unique<DigestStream>(std::move(inner), chunk_bytes, std::move(expected), std::move(source),
                                        std::move(computed));
}

WeightDigests compute_weight_digests(WeightStream& stream, std::uint64_t chunk_bytes) {
  auto computed = std::make_shared<WeightDigests>();
  auto digesting = digest_stream(std::make_unique<BorrowedStream>(stream), chunk_bytes, std::nullopt, {}, computed);
  while (digesting->next()) {
  }
  return *computed;
}

}  // namespace modelport
