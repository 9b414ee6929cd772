// modelport-bench-gen: writes a synthetic layers model of a given size for the benchmarks.
//
//   modelport-bench-gen --out DIR --bytes N [--shard-bytes S] [--weight-bytes W] [--seed K]
//
// DIR/model.json plus converter-style shards group1-shard<i>of<n>.bin (each S bytes except the
// last; one shard without --shard-bytes). The weights are float32 `layer<i>/kernel`, W bytes each
// (default 4 MiB), the last one takes the remainder. Values are pseudo-random in [-1, 1): float k
// of the stream depends only on the seed and k (a counter-based splitmix64), so the same --bytes
// and --seed give the same byte stream whatever the shard and weight sizes.
//
// Sizes accept the suffixes K, M and G (powers of 1024).

#include <modelport/error.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/model_json.hpp>
#include <modelport/weight_spec.hpp>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

constexpr std::uint64_t kKiB = 1024;
constexpr std::uint64_t kMiB = 1024 * kKiB;
constexpr std::uint64_t kGiB = 1024 * kMiB;
constexpr std::size_t kChunkBytes = 8 * kMiB;  // generation / write buffer

struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::string_view kUsage =
    "usage: modelport-bench-gen --out DIR --bytes N [--shard-bytes S] [--weight-bytes W] [--seed K]\n"
    "\n"
    "Writes DIR/model.json (format layers-model) and the shards group1-shard<i>of<n>.bin holding\n"
    "N bytes of deterministic pseudo-random float32 weights in [-1, 1).\n"
    "\n"
    "  --out DIR          output directory (created if missing; existing files are overwritten)\n"
    "  --bytes N          total weight bytes (rounded down to whole float32 values)\n"
    "  --shard-bytes S    bytes per shard, the last shard takes the rest (default: one shard)\n"
    "  --weight-bytes W   bytes per weight, a multiple of 4 (default 4M); the last weight takes\n"
    "                     the rest\n"
    "  --seed K           generator seed, an unsigned 64-bit integer (default 1)\n"
    "\n"
    "Sizes accept the suffixes K, M, G (powers of 1024), e.g. 64M, 1G.\n";

std::uint64_t parse_uint(std::string_view text, std::string_view option, bool allow_suffix) {
  if (text.empty()) throw UsageError(std::string(option) + ": empty value");
  std::uint64_t multiplier = 1;
  if (allow_suffix) {
    switch (text.back()) {
      case 'k': case 'K': multiplier = kKiB; break;
      case 'm': case 'M': multiplier = kMiB; break;
      case 'g': case 'G': multiplier = kGiB; break;
      default: break;
    }
    if (multiplier != 1) text.remove_suffix(1);
  }
  if (text.empty()) throw UsageError(std::string(option) + ": missing number before the suffix");
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      throw UsageError(std::string(option) + ": not a number: '" + std::string(text) + "'" +
                       (allow_suffix ? " (expected digits with an optional K, M or G suffix)" : ""));
    }
    const auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (std::numeric_limits<std::uint64_t>::max() - digit) / 10) {
      throw UsageError(std::string(option) + ": value too large");
    }
    value = value * 10 + digit;
  }
  if (value > std::numeric_limits<std::uint64_t>::max() / multiplier) {
    throw UsageError(std::string(option) + ": value too large");
  }
  return value * multiplier;
}

struct Options {
  fs::path out;
  std::uint64_t bytes = 0;
  std::optional<std::uint64_t> shard_bytes;
  std::uint64_t weight_bytes = 4 * kMiB;
  std::uint64_t seed = 1;
};

// Returns nullopt when --help was asked for.
std::optional<Options> parse_args(int argc, char** argv) {
  Options options;
  bool have_out = false;
  bool have_bytes = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") return std::nullopt;
    std::string_view value;
    if (const auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (arg.starts_with("--")) {
      if (i + 1 >= argc) throw UsageError(std::string(arg) + " needs a value");
      value = argv[++i];
    } else {
      throw UsageError("unexpected argument '" + std::string(arg) + "'");
    }
    if (arg == "--out") {
      if (value.empty()) throw UsageError("--out: empty path");
      options.out = fs::path(value);
      have_out = true;
    } else if (arg == "--bytes") {
      options.bytes = parse_uint(value, arg, true);
      have_bytes = true;
    } else if (arg == "--shard-bytes") {
      options.shard_bytes = parse_uint(value, arg, true);
      if (*options.shard_bytes == 0) throw UsageError("--shard-bytes must be > 0");
    } else if (arg == "--weight-bytes") {
      options.weight_bytes = parse_uint(value, arg, true);
      if (options.weight_bytes == 0 || options.weight_bytes % 4 != 0) {
        throw UsageError("--weight-bytes must be a positive multiple of 4 (whole float32 values)");
      }
    } else if (arg == "--seed") {
      options.seed = parse_uint(value, arg, false);
    } else {
      throw UsageError("unknown option '" + std::string(arg) + "'");
    }
  }
  if (!have_out) throw UsageError("--out is required");
  if (!have_bytes) throw UsageError("--bytes is required");
  return options;
}

// splitmix64's output function: a good 64-bit mix of a counter.
constexpr std::uint64_t mix64(std::uint64_t z) noexcept {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

// 24 random bits -> (bits - 2^23) / 2^23, exactly representable, in [-1, 1).
inline std::uint32_t unit_float_bits(std::uint32_t bits24) noexcept {
  const float value = static_cast<float>(static_cast<std::int32_t>(bits24) - (1 << 23)) * 0x1p-23f;
  return std::bit_cast<std::uint32_t>(value);
}

inline void store_le32(std::byte* out, std::uint32_t value) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(out, &value, 4);
  } else {
    for (int b = 0; b < 4; ++b) out[b] = static_cast<std::byte>((value >> (8 * b)) & 0xFFu);
  }
}

// Float k of the stream is half (k & 1) of mix64(key + (k >> 1)).
class FloatStream {
 public:
  explicit FloatStream(std::uint64_t seed) : key_(mix64(seed ^ 0x6D6F64656C706F72ULL) * 2 + 1) {}

  // Writes floats [first, first + count) as little-endian float32 into out.
  void fill(std::uint64_t first, std::size_t count, std::byte* out) const noexcept {
    std::size_t i = 0;
    if ((first & 1) != 0 && count > 0) {
      store_le32(out, unit_float_bits(high_bits(first >> 1)));
      ++i;
    }
    for (; i + 2 <= count; i += 2) {
      const std::uint64_t r = mix64(key_ + ((first + i) >> 1) * 0x9E3779B97F4A7C15ULL);
      store_le32(out + 4 * i, unit_float_bits(static_cast<std::uint32_t>(r) >> 8));
      store_le32(out + 4 * (i + 1), unit_float_bits(static_cast<std::uint32_t>(r >> 40)));
    }
    if (i < count) store_le32(out + 4 * i, unit_float_bits(low_bits((first + i) >> 1)));
  }

 private:
  std::uint32_t low_bits(std::uint64_t pair) const noexcept {
    return static_cast<std::uint32_t>(mix64(key_ + pair * 0x9E3779B97F4A7C15ULL)) >> 8;
  }
  std::uint32_t high_bits(std::uint64_t pair) const noexcept {
    return static_cast<std::uint32_t>(mix64(key_ + pair * 0x9E3779B97F4A7C15ULL) >> 40);
  }
  std::uint64_t key_;
};

class OutFile {
 public:
  explicit OutFile(const fs::path& path) : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) fail("cannot create");
    std::setvbuf(file_, nullptr, _IONBF, 0);  // we only issue large writes
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;
  ~OutFile() {
    if (file_ != nullptr) std::fclose(file_);
  }
  void write(const void* data, std::size_t size) {
    if (size != 0 && std::fwrite(data, 1, size, file_) != size) fail("cannot write");
  }
  void close() {
    std::FILE* file = file_;
    file_ = nullptr;
    if (std::fclose(file) != 0) fail("cannot close");
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string(what) + " " + path_.string() + ": " + std::strerror(errno));
  }
  fs::path path_;
  std::FILE* file_;
};

std::vector<std::int64_t> kernel_shape(std::uint64_t elements) {
  // Columns: the largest power of two dividing the count, at most 1024 (4 MiB -> [1024, 1024]).
  const std::uint64_t cols = std::min<std::uint64_t>(elements & (~elements + 1), 1024);
  return {static_cast<std::int64_t>(elements / cols), static_cast<std::int64_t>(cols)};
}

boost::json::value make_topology(const std::vector<modelport::WeightSpec>& specs) {
  boost::json::array layers;
  layers.reserve(specs.size());
  for (std::size_t i = 0; i < specs.size(); ++i) {
    boost::json::object config;
    config["name"] = "layer" + std::to_string(i);
    config["trainable"] = true;
    if (i == 0) config["batch_input_shape"] = boost::json::array{nullptr, specs[i].shape[0]};
    config["dtype"] = "float32";
    config["units"] = specs[i].shape[1];
    config["activation"] = "linear";
    config["use_bias"] = false;
    layers.push_back(boost::json::object{{"class_name", "Dense"}, {"config", std::move(config)}});
  }
  return boost::json::object{
      {"class_name", "Sequential"},
      {"config", boost::json::object{{"name", "modelport_bench"}, {"layers", std::move(layers)}}},
      {"keras_version", "modelport-bench-gen"},
      {"backend", "tensor_flow.js"},
  };
}

int run(const Options& options) {
  const auto start = std::chrono::steady_clock::now();
  const std::uint64_t total = options.bytes - options.bytes % 4;
  if (total == 0) throw UsageError("--bytes must be at least 4 (one float32)");
  if (total != options.bytes) {
    std::cerr << "modelport-bench-gen: note: --bytes " << options.bytes << " rounded down to " << total
              << " (whole float32 values)\n";
  }
  const std::uint64_t shard_bytes = options.shard_bytes.value_or(total);
  const std::uint64_t shard_count = (total + shard_bytes - 1) / shard_bytes;
  const std::uint64_t weight_count = (total + options.weight_bytes - 1) / options.weight_bytes;
  if (shard_count > 1'000'000 || weight_count > 10'000'000) {
    throw UsageError("too many shards or weights (" + std::to_string(shard_count) + " shards, " +
                     std::to_string(weight_count) + " weights); raise --shard-bytes / --weight-bytes");
  }

  std::vector<modelport::WeightSpec> specs;
  specs.reserve(weight_count);
  for (std::uint64_t i = 0; i < weight_count; ++i) {
    const std::uint64_t bytes = std::min(options.weight_bytes, total - i * options.weight_bytes);
    modelport::WeightSpec spec;
    spec.name = "layer" + std::to_string(i) + "/kernel";
    spec.shape = kernel_shape(bytes / 4);
    spec.dtype = "float32";
    specs.push_back(std::move(spec));
  }
  std::vector<std::string> paths;
  paths.reserve(shard_count);
  for (std::uint64_t i = 0; i < shard_count; ++i) {
    paths.push_back("group1-shard" + std::to_string(i + 1) + "of" + std::to_string(shard_count) + ".bin");
  }

  fs::create_directories(options.out);

  // Shards: the byte stream cut every shard_bytes bytes (a float may straddle two shards when S
  // is not a multiple of 4, as with the converter).
  const FloatStream stream(options.seed);
  std::vector<std::byte> chunk(kChunkBytes);
  std::uint64_t produced = 0;  // stream bytes generated into `chunk` so far
  std::size_t chunk_used = 0;
  std::size_t chunk_size = 0;
  for (std::uint64_t s = 0; s < shard_count; ++s) {
    OutFile shard(options.out / paths[s]);
    std::uint64_t remaining = std::min(shard_bytes, total - s * shard_bytes);
    while (remaining > 0) {
      if (chunk_used == chunk_size) {
        const auto floats = static_cast<std::size_t>(std::min<std::uint64_t>(kChunkBytes, total - produced) / 4);
        stream.fill(produced / 4, floats, chunk.data());
        chunk_size = floats * 4;
        chunk_used = 0;
        produced += chunk_size;
      }
      const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining, chunk_size - chunk_used));
      shard.write(chunk.data() + chunk_used, n);
      chunk_used += n;
      remaining -= n;
    }
    shard.close();
  }

  // model.json last: its presence means the shards are complete.
  modelport::ModelArtifacts artifacts;
  artifacts.model_topology = make_topology(specs);
  artifacts.format = boost::json::value("layers-model");
  artifacts.generated_by = boost::json::value("modelport-bench-gen");
  artifacts.converted_by = boost::json::value(nullptr);
  const std::string text = modelport::serialize_model_json(
      artifacts, modelport::single_group_manifest(paths, specs), modelport::ModelJsonLayout::browser);
  {
    OutFile json(options.out / "model.json");
    json.write(text.data(), text.size());
    json.close();
  }

  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::cout << "modelport-bench-gen: wrote " << options.out.string() << ": " << total << " bytes, "
            << weight_count << " weight" << (weight_count == 1 ? "" : "s") << ", " << shard_count
            << " shard" << (shard_count == 1 ? "" : "s") << ", seed " << options.seed << " in "
            << std::fixed << std::setprecision(2) << seconds << " s\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const auto options = parse_args(argc, argv);
    if (!options) {
      std::cout << kUsage;
      return 0;
    }
    return run(*options);
  } catch (const UsageError& e) {
    std::cerr << "modelport-bench-gen: " << e.what() << "\n\n" << kUsage;
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "modelport-bench-gen: error: " << e.what() << '\n';
    return 1;
  }
}
