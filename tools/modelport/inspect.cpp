// `modelport inspect`: what a model holds, and with --stats, what its weights decode to.
#include "commands.hpp"
#include "global_options.hpp"
#include "mapped_file.hpp"
#include "urls.hpp"

#include <modelport/browser_files.hpp>
#include <modelport/error.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/json.hpp>
#include <modelport/weight_stats.hpp>
#include <modelport/weights_codec.hpp>

#include <atomic>
#include <cstdio>
#include <iostream>
#include <thread>

namespace modelport::cli {

namespace bj = boost::json;

namespace {

constexpr const char* kUsage =
    "usage: modelport inspect <URL | path> [--json] [--stats]\n"
    "       modelport inspect --files MODEL.json [WEIGHT-FILE...] [--json] [--stats]\n"
    "\n"
    "Loads a model through its scheme (a path means file://: a model.json, a bare weights\n"
    "manifest, or a folder holding model.json). --files loads the way TensorFlow.js's\n"
    "browserFiles does: the JSON file first, then its weight files in any order, matched by\n"
    "base name.\n"
    "\n"
    "Prints the model's format, generatedBy, convertedBy, its byte counts (as TensorFlow.js\n"
    "computes them) and every weight: name, dtype, shape, quantization, offset and byte length.\n"
    "  --stats  also decode every weight: sum, absSum, min, max (float64, row-major) and the\n"
    "           SHA-256 of its stored bytes; string weights give their count and total bytes\n"
    "  --json   one JSON object instead of text\n"
    "Exit codes: 0 ok, 1 the model is missing or invalid, 2 bad arguments.\n";

struct WeightReport {
  WeightStats stats;
  std::string sha256;
};

// Hashing and summing are independent, so each weight yields two jobs and both cores stay busy
// even when one weight dominates the model.
std::vector<WeightReport> compute_reports(const std::vector<WeightSpec>& specs, const std::vector<WeightLayout>& plan,
                                          const WeightData& data) {
  std::vector<WeightReport> reports(plan.size());
  const std::size_t jobs = plan.size() * 2;
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  auto worker = [&] {
    for (std::size_t job = next++; job < jobs; job = next++) {
      try {
        const WeightLayout& layout = plan[job / 2];
        WeightReport& report = reports[job / 2];
        if (job % 2 == 0) {
          report.sha256 = sha256_hex(data, layout.offset, layout.byte_length);
        } else {
          report.stats = compute_stats(decode_weight(specs[layout.index], layout, data));
        }
      } catch (...) {
        std::lock_guard lock(failure_mutex);
        if (!failure) failure = std::current_exception();
      }
    }
  };
  unsigned threads = std::max(1u, std::min<unsigned>(std::thread::hardware_concurrency(), static_cast<unsigned>(jobs)));
  std::vector<std::jthread> pool;
  for (unsigned i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  pool.clear();
  if (failure) std::rethrow_exception(failure);
  return reports;
}

bj::value field_or_null(const JsonField& field) { return field ? *field : bj::value(nullptr); }

std::string text_of(const JsonField& field) {
  if (!field) return "(absent)";
  if (field->is_string()) return std::string(field->get_string());
  return json::stringify(*field);
}

std::string shape_text(const std::vector<std::int64_t>& shape) {
  std::string out = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) out += (i ? "," : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string number_text(double v) { return json::format_number(v); }

}  // namespace

int run_inspect(std::span<const std::string> args) {
  bool as_json = false;
  bool with_stats = false;
  bool files_mode = false;
  std::vector<std::string> positional;
  for (const auto& arg : args) {
    if (arg == "--json") {
      as_json = true;
    } else if (arg == "--stats") {
      with_stats = true;
    } else if (arg == "--files") {
      files_mode = true;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else if (arg.starts_with("-")) {
      std::cerr << "modelport inspect: unknown option '" << arg << "'\n" << kUsage;
      return kExitUsage;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.empty() || (!files_mode && positional.size() > 1)) {
    std::cerr << (positional.empty() ? "" : "modelport inspect: give one model (or use --files)\n") << kUsage;
    return kExitUsage;
  }

  std::string location;
  ModelArtifacts a;
  if (files_mode) {
    std::vector<NamedFile> files;
    for (const auto& p : positional) files.push_back({p, map_file(p)});
    location = positional.front();
    a = browser_files(std::move(files))->load();
  } else {
    ensure_plugins_discovered();
    location = to_url(positional.front());
    LoadOptions options;
    apply_plugin_options(options);
    a = modelport::load(location, options);
  }
  static const std::vector<WeightSpec> kNoSpecs;
  const std::vector<WeightSpec>& specs = a.weight_specs ? *a.weight_specs : kNoSpecs;
  const WeightData empty_data;
  const WeightData& data = a.weight_data ? *a.weight_data : empty_data;
  std::vector<WeightLayout> plan = plan_weights(specs, data, location);
  ModelArtifactsInfo info = get_model_artifacts_info(a);
  std::vector<WeightReport> reports;
  if (with_stats) reports = compute_reports(specs, plan, data);

  if (as_json) {
    bj::object out;
    out["format"] = field_or_null(a.format);
    out["generatedBy"] = field_or_null(a.generated_by);
    out["convertedBy"] = field_or_null(a.converted_by);
    out["modelTopologyBytes"] = info.model_topology_bytes.value_or(0);
    out["weightSpecsBytes"] = info.weight_specs_bytes.value_or(0);
    out["weightDataBytes"] = info.weight_data_bytes.value_or(0);
    bj::array weights;
    for (std::size_t i = 0; i < plan.size(); ++i) {
      const WeightSpec& s = specs[i];
      bj::object w;
      w["name"] = s.name;
      w["dtype"] = s.dtype;
      bj::array shape;
      for (auto d : s.shape) shape.emplace_back(d);
      w["shape"] = std::move(shape);
      w["quantization"] = s.quantization ? bj::value(s.quantization->dtype) : bj::value(nullptr);
      w["offset"] = plan[i].offset;
      w["byteLength"] = plan[i].byte_length;
      if (with_stats) {
        const WeightStats& st = reports[i].stats;
        w["sha256"] = reports[i].sha256;
        if (plan[i].dtype == DType::string) {
          w["count"] = st.string_count;
          w["stringBytes"] = st.string_bytes;
        } else {
          w["sum"] = st.sum;
          w["absSum"] = st.abs_sum;
          w["min"] = st.min ? bj::value(*st.min) : bj::value(nullptr);
          w["max"] = st.max ? bj::value(*st.max) : bj::value(nullptr);
        }
      }
      weights.emplace_back(std::move(w));
    }
    out["weights"] = std::move(weights);
    std::cout << json::stringify(out) << '\n';
    return kExitOk;
  }

  std::cout << "model:              " << location << (a.model_topology ? "" : " (no topology: weights only)") << '\n'
            << "format:             " << text_of(a.format) << '\n'
            << "generatedBy:        " << text_of(a.generated_by) << '\n'
            << "convertedBy:        " << text_of(a.converted_by) << '\n'
            << "modelTopologyBytes: " << info.model_topology_bytes.value_or(0) << '\n'
            << "weightSpecsBytes:   " << info.weight_specs_bytes.value_or(0) << '\n'
            << "weightDataBytes:    " << info.weight_data_bytes.value_or(0) << " in " << data.buffers().size()
            << " buffer(s)\n"
            << "weights:            " << plan.size() << '\n';
  for (std::size_t i = 0; i < plan.size(); ++i) {
    const WeightSpec& s = specs[i];
    std::cout << "  " << s.name << "  " << s.dtype << shape_text(s.shape);
    if (s.quantization) std::cout << "  quantized " << s.quantization->dtype;
    std::cout << "  offset " << plan[i].offset << "  bytes " << plan[i].byte_length;
    if (with_stats) {
      const WeightStats& st = reports[i].stats;
      if (plan[i].dtype == DType::string) {
        std::cout << "  count " << st.string_count << "  stringBytes " << st.string_bytes;
      } else {
        std::cout << "  sum " << number_text(st.sum) << "  absSum " << number_text(st.abs_sum) << "  min "
                  << (st.min ? number_text(*st.min) : "-") << "  max " << (st.max ? number_text(*st.max) : "-");
      }
      std::cout << "  sha256 " << reports[i].sha256;
    }
    std::cout << '\n';
  }
  return kExitOk;
}

}  // namespace modelport::cli
