// `modelport quantize SRC DST --dtype uint8|uint16|float16 [--weights GLOB]...`: the converter's
// weight quantization (spec §1.5, writer side) applied to a saved model.
#include "commands.hpp"
#include "global_options.hpp"
#include "progress.hpp"
#include "urls.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weights_codec.hpp>

#include <fnmatch.h>

#include <charconv>
#include <iostream>

namespace modelport::cli {

namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: modelport quantize SRC DST --dtype uint8|uint16|float16 [--weights GLOB]...\n"
    "                          [--shard-bytes N] [--json]\n"
    "\n"
    "Quantizes the float32 weights of a model the way the TensorFlow.js converter does\n"
    "(--quantize_uint8 / _uint16 / _float16): uint8 and uint16 store round((x - min) / scale)\n"
    "with a min nudged so that 0 stays exact, float16 a rounded half-precision cast. Each\n"
    "quantized weight's manifest entry gets {\"dtype\", \"min\", \"scale\", \"original_dtype\"}, which\n"
    "TensorFlow.js and modelport dequantize on load.\n"
    "  --weights GLOB   quantize only weights whose name matches GLOB (shell pattern, '*' also\n"
    "                   matches '/'); repeatable; default every float32 weight\n"
    "  --shard-bytes N  shard size of the result (default: the source's, if it is sharded)\n"
    "  --json           print {source, destination, dtype, quantized, kept, weightBytesBefore,\n"
    "                   weightBytesAfter} instead of a summary\n"
    "Weights of other dtypes (int32, bool, string, complex64), weights already quantized and\n"
    "weights no GLOB matches are copied as they are.\n"
    "Exit codes: 0 written, 1 failed (DST unchanged), 2 bad arguments.\n";

bool matches_any(const std::vector<std::string>& globs, const std::string& name) {
  if (globs.empty()) return true;
  for (const auto& g : globs) {
    if (::fnmatch(g.c_str(), name.c_str(), 0) == 0) return true;
  }
  return false;
}

}  // namespace

int run_quantize(std::span<const std::string> args) {
  std::vector<std::string> positional;
  std::vector<std::string> globs;
  std::optional<std::string> dtype_text;
  std::optional<std::string> shard_bytes;
  bool as_json = false;
  auto bad = [](const std::string& problem) {
    std::cerr << "modelport quantize: " << problem << '\n' << kUsage;
    return kExitUsage;
  };
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](std::string_view flag) -> std::optional<std::string> {
      if (a == flag && i + 1 < args.size()) return args[++i];
      if (a.starts_with(std::string(flag) + "=")) return a.substr(flag.size() + 1);
      return std::nullopt;
    };
    if (a == "-h" || a == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else if (a == "--json") {
      as_json = true;
    } else if (auto d = value("--dtype")) {
      dtype_text = *d;
    } else if (auto g = value("--weights")) {
      globs.push_back(*g);
    } else if (auto n = value("--shard-bytes")) {
      shard_bytes = *n;
    } else if (a.starts_with("-")) {
      return bad("unknown option or missing value '" + a + "'");
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() != 2) return bad("needs SRC and DST");
  if (!dtype_text) return bad("needs --dtype uint8|uint16|float16");
  std::optional<QuantDType> dtype = parse_quant_dtype(*dtype_text);
  if (!dtype) return bad("--dtype must be uint8, uint16 or float16, not '" + *dtype_text + "'");
  if (shard_bytes) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(shard_bytes->data(), shard_bytes->data() + shard_bytes->size(), n);
    if (ec != std::errc() || end != shard_bytes->data() + shard_bytes->size() || n == 0) {
      return bad("--shard-bytes needs a positive integer, not '" + *shard_bytes + "'");
    }
  }

  ensure_plugins_discovered();
  const std::string source = to_url(positional[0]);
  const std::string destination = to_url(positional[1]);
  if (source == destination) throw Error(ErrorCode::invalid_argument, "Old path and new path are the same: '" + source + "'");
  ProgressLine progress(std::cerr, progress_wanted(global_options().quiet));
  LoadOptions load_options;
  apply_plugin_options(load_options);
  load_options.on_progress = progress.callback("load " + source);
  ModelArtifacts model = modelport::load(source, load_options);
  if (!model.weight_specs || !model.weight_data) {
    throw Error(ErrorCode::invalid_argument, "'" + source + "' has no weights to quantize");
  }
  const std::vector<WeightSpec>& specs = *model.weight_specs;
  const WeightData& data = *model.weight_data;
  const std::vector<WeightLayout> plan = plan_weights(specs, data, source);

  std::vector<WeightSpec> out_specs;
  std::vector<Buffer> out_buffers;
  bj::array quantized, kept;
  EncodeOptions encode;
  encode.quantize = [&](const TensorInput&) { return dtype; };
  for (const WeightLayout& layout : plan) {
    const WeightSpec& spec = specs[layout.index];
    const bool eligible = layout.dtype == DType::float32 && !layout.quantization && matches_any(globs, spec.name);
    if (!eligible) {
      out_specs.push_back(spec);
      out_buffers.push_back(data.view(layout.offset, layout.byte_length));  // a slice, not a copy
      kept.emplace_back(spec.name);
      continue;
    }
    // The codec's encoder holds the converter's arithmetic; run it on this one weight and keep
    // the rest of the original entry (group, unknown keys, key order) as it was.
    TensorInput input;
    input.name = spec.name;
    input.shape = spec.shape;
    input.dtype = DType::float32;
    input.data = data.view(layout.offset, layout.byte_length);
    EncodedWeights encoded;
    try {
      encoded = encode_weights(std::span<const TensorInput>(&input, 1), encode);
    } catch (const Error& e) {
      throw Error(e.code(), "weight '" + spec.name + "' of " + source + ": " + e.what());
    }
    WeightSpec out = spec;
    out.quantization = std::move(encoded.specs.front().quantization);
    out_specs.push_back(std::move(out));
    for (const auto& b : encoded.data.buffers()) out_buffers.push_back(b);
    quantized.emplace_back(spec.name);
  }

  ModelArtifacts result = model;
  result.weight_specs = std::move(out_specs);
  result.weight_data = WeightData(std::move(out_buffers));
  SaveOptions save_options;
  apply_plugin_options(save_options);
  save_options.on_progress = progress.callback("save " + destination);
  if (shard_bytes) {
    save_options.plugin_options["shard_bytes"] = *shard_bytes;
  } else if (!save_options.plugin_options.count("shard_bytes")) {
    if (auto size = data.uniform_shard_size()) save_options.plugin_options["shard_bytes"] = std::to_string(*size);
  }
  SaveResult saved = modelport::save(destination, result, save_options);
  progress.finish();

  if (as_json) {
    bj::object out;
    out["source"] = source;
    out["destination"] = destination;
    out["dtype"] = std::string(to_string(*dtype));
    out["quantized"] = std::move(quantized);
    out["kept"] = std::move(kept);
    out["weightBytesBefore"] = data.size();
    out["weightBytesAfter"] = result.weight_data->size();
    std::cout << json::stringify(out) << '\n';
  } else if (!global_options().quiet) {
    std::cout << "quantized " << quantized.size() << " of " << plan.size() << " weights to " << to_string(*dtype) << ": "
              << source << " -> " << destination << " (" << data.size() << " -> "
              << saved.model_artifacts_info.weight_data_bytes.value_or(result.weight_data->size()) << " weight bytes)\n";
  }
  return kExitOk;
}

}  // namespace modelport::cli
