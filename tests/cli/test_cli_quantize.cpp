// `modelport quantize`, checked against the converter's arithmetic written out again here (spec
// §1.5 writer side), independently of core/src/quantization.cpp: the stored integers, the
// manifest's min and scale, and the values modelport decodes back.
#include <boost/test/unit_test.hpp>

#include "cli_test_support.hpp"

#include <modelport/model_json.hpp>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

namespace bj = boost::json;
namespace fs = std::filesystem;
using modelport::test::CliSandbox;
using modelport::test::fixtures_dir;
using modelport::test::q;
using modelport::test::read_file;
using modelport::test::RunResult;

namespace {

const fs::path kAgeDir = fixtures_dir() / "real/human-age";

struct Weight {
  bj::object spec;
  std::string bytes;  // stored bytes
};

// A file:// model read from disk: each manifest entry with its stored bytes (fixed-size dtypes).
std::vector<Weight> read_weights(const fs::path& model_json) {
  modelport::ModelJson parsed = modelport::parse_model_json(read_file(model_json), model_json.string());
  std::string stream;
  for (const auto& g : *parsed.weights_manifest) {
    for (const auto& p : g.paths) stream += read_file(model_json.parent_path() / p);
  }
  std::vector<Weight> out;
  std::size_t offset = 0;
  for (const auto& spec : *parsed.artifacts.weight_specs) {
    std::size_t elements = 1;
    for (auto d : spec.shape) elements *= static_cast<std::size_t>(d);
    std::size_t width = 4;
    if (spec.quantization) width = spec.quantization->dtype == "uint8" ? 1 : 2;
    out.push_back({modelport::to_json(spec), stream.substr(offset, elements * width)});
    offset += elements * width;
  }
  BOOST_TEST_REQUIRE(offset == stream.size());
  return out;
}

std::vector<float> floats_of(const std::string& bytes) {
  std::vector<float> v(bytes.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), bytes.data(), bytes.size());
  return v;
}

// numpy's round: halves to even (the default floating-point rounding mode).
double round_half_even(double x) { return std::nearbyint(x); }

struct Affine {
  std::vector<std::uint32_t> stored;
  double min = 0;
  double scale = 1;
};

// The converter's uint8/uint16 quantizer, as spec §1.5 describes it.
Affine converter_affine(const std::vector<float>& data, double qmax) {
  Affine a;
  double lo = INFINITY, hi = -INFINITY;
  for (float x : data) {
    lo = std::min(lo, static_cast<double>(x));
    hi = std::max(hi, static_cast<double>(x));
  }
  if (lo == hi) {
    a.min = lo;
    a.scale = 1.0;
    a.stored.assign(data.size(), 0);
    return a;
  }
  a.scale = (hi - lo) / qmax;
  double nudged_min = lo, nudged_max = hi;
  if (lo <= 0 && 0 <= hi) {
    const double zero_point = round_half_even((0 - lo) / a.scale);
    nudged_min = -zero_point * a.scale;
    nudged_max = qmax * a.scale + nudged_min;
  }
  a.min = nudged_min;
  // numpy 1.x, which the converter runs on, evaluates `(data.clip(min, max) - min) / scale` in
  // float32: float64 scalars do not widen a float32 array (value-based casting), so every step
  // rounds to float32.
  const auto min32 = static_cast<float>(nudged_min);
  const auto max32 = static_cast<float>(nudged_max);
  const auto scale32 = static_cast<float>(a.scale);
  for (float x : data) {
    const float clipped = std::clamp(x, min32, max32);
    const float shifted = clipped - min32;
    const float steps = shifted / scale32;
    a.stored.push_back(static_cast<std::uint32_t>(std::nearbyint(steps)));
  }
  return a;
}

std::uint32_t stored_at(const std::string& bytes, std::size_t i, std::size_t width) {
  std::uint32_t v = static_cast<unsigned char>(bytes[i * width]);
  if (width == 2) v |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[i * width + 1])) << 8;
  return v;
}

// The per-weight sums `inspect --stats --json` reports for a model, by weight name.
std::map<std::string, double> decoded_sums(const CliSandbox& box, const fs::path& model) {
  RunResult r = box.run_stdout("inspect --stats --json " + q(model));
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  std::map<std::string, double> sums;
  const bj::value report = modelport::json::parse(r.out);  // named: the loop below refers into it
  for (const auto& w : report.at("weights").as_array()) {
    sums[std::string(w.at("name").as_string())] = w.at("sum").to_number<double>();
  }
  return sums;
}

void check_affine(const char* dtype, double qmax, std::size_t width) {
  CliSandbox box;
  RunResult r = box.run_stdout("quantize " + q(kAgeDir / "age.json") + " " + q(box.path("out")) + " --dtype " + dtype + " --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  const bj::value summary = modelport::json::parse(r.out);
  const auto original = read_weights(kAgeDir / "age.json");
  const auto result = read_weights(box.path("out/model.json"));
  BOOST_TEST_REQUIRE(original.size() == result.size());
  const auto sums = decoded_sums(box, box.path("out"));
  std::size_t quantized = 0;
  for (std::size_t k = 0; k < original.size(); ++k) {
    const bj::object& before = original[k].spec;
    const bj::object& after = result[k].spec;
    const std::string name(before.at("name").as_string());
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(after.at("name") == before.at("name"));
      BOOST_TEST(after.at("dtype") == before.at("dtype"));
      if (before.at("dtype").as_string() != "float32") {
        BOOST_TEST(!after.contains("quantization"));
        BOOST_TEST((result[k].bytes == original[k].bytes));
        continue;
      }
      ++quantized;
      BOOST_TEST_REQUIRE(after.contains("quantization"));
      const bj::object& qz = after.at("quantization").as_object();
      BOOST_TEST(qz.at("dtype").as_string() == dtype);
      BOOST_TEST(qz.at("original_dtype").as_string() == "float32");
      const Affine expected = converter_affine(floats_of(original[k].bytes), qmax);
      BOOST_TEST(qz.at("min").to_number<double>() == expected.min);
      BOOST_TEST(qz.at("scale").to_number<double>() == expected.scale);
      BOOST_TEST_REQUIRE(result[k].bytes.size() == expected.stored.size() * width);
      double expected_sum = 0;
      std::size_t differing = 0;
      for (std::size_t i = 0; i < expected.stored.size(); ++i) {
        if (stored_at(result[k].bytes, i, width) != expected.stored[i]) ++differing;
        // What tfjs's decoder gives: q * scale + min in double, rounded to float32.
        expected_sum += static_cast<double>(static_cast<float>(static_cast<double>(expected.stored[i]) * expected.scale + expected.min));
      }
      BOOST_TEST(differing == 0u);
      BOOST_TEST(sums.at(name) == expected_sum);
    }
  }
  BOOST_TEST(quantized > 10u);
  BOOST_TEST(summary.at("quantized").as_array().size() == quantized);
  BOOST_TEST(summary.at("weightBytesAfter").to_number<std::uint64_t>() < summary.at("weightBytesBefore").to_number<std::uint64_t>());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli_quantize)

BOOST_AUTO_TEST_CASE(uint8_matches_the_converter_arithmetic) { check_affine("uint8", 255, 1); }

BOOST_AUTO_TEST_CASE(uint16_matches_the_converter_arithmetic) { check_affine("uint16", 65535, 2); }

#if defined(__FLT16_MAX__)
BOOST_AUTO_TEST_CASE(float16_is_a_rounded_half_cast) {
  CliSandbox box;
  RunResult r = box.run("-q quantize " + q(kAgeDir / "age.json") + " " + q(box.path("out")) + " --dtype float16");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  const auto original = read_weights(kAgeDir / "age.json");
  const auto result = read_weights(box.path("out/model.json"));
  const auto sums = decoded_sums(box, box.path("out"));
  for (std::size_t k = 0; k < original.size(); ++k) {
    if (original[k].spec.at("dtype").as_string() != "float32") continue;
    const std::string name(original[k].spec.at("name").as_string());
    BOOST_TEST_CONTEXT(name) {
      const bj::object& qz = result[k].spec.at("quantization").as_object();
      BOOST_TEST(qz.at("dtype").as_string() == "float16");
      BOOST_TEST(!qz.contains("min"));
      BOOST_TEST(!qz.contains("scale"));
      const auto values = floats_of(original[k].bytes);
      BOOST_TEST_REQUIRE(result[k].bytes.size() == values.size() * 2);
      std::size_t differing = 0;
      double expected_sum = 0;
      for (std::size_t i = 0; i < values.size(); ++i) {
        // The compiler's own binary16 conversion (round to nearest even).
        const _Float16 half = static_cast<_Float16>(values[i]);
        std::uint16_t bits;
        std::memcpy(&bits, &half, 2);
        if (stored_at(result[k].bytes, i, 2) != bits) ++differing;
        expected_sum += static_cast<double>(static_cast<float>(half));
      }
      BOOST_TEST(differing == 0u);
      BOOST_TEST(sums.at(name) == expected_sum);
    }
  }
}
#endif

BOOST_AUTO_TEST_CASE(weights_glob_picks_by_name_and_the_rest_is_copied_as_is) {
  CliSandbox box;
  RunResult r = box.run_stdout("quantize " + q(kAgeDir / "age.json") + " " + q(box.path("out")) +
                               " --dtype uint8 --weights 'unknown_9*' --weights '*/mul/y' --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  const auto original = read_weights(kAgeDir / "age.json");
  const auto result = read_weights(box.path("out/model.json"));
  std::size_t quantized = 0;
  for (std::size_t k = 0; k < original.size(); ++k) {
    const std::string name(original[k].spec.at("name").as_string());
    const bool float32 = original[k].spec.at("dtype").as_string() == "float32";
    const bool wanted = float32 && (name.starts_with("unknown_9") || name.ends_with("/mul/y"));
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(result[k].spec.contains("quantization") == wanted);
      if (!wanted) {
        BOOST_TEST((result[k].bytes == original[k].bytes));
        BOOST_TEST(result[k].spec == original[k].spec);
      }
    }
    quantized += wanted;
  }
  BOOST_TEST(quantized >= 2u);
  BOOST_TEST(modelport::json::parse(r.out).at("quantized").as_array().size() == quantized);
  // The topology is carried over unchanged.
  BOOST_TEST(modelport::parse_model_json(read_file(box.path("out/model.json")), "").artifacts.topology_json()->as_object() ==
             modelport::parse_model_json(read_file(kAgeDir / "age.json"), "").artifacts.topology_json()->as_object());
}

BOOST_AUTO_TEST_CASE(already_quantized_weights_stay_and_digests_follow_the_new_bytes) {
  CliSandbox box;
  // quantized-layers holds float16, uint16 and uint8 weights and two plain float32 biases.
  BOOST_TEST_REQUIRE(box.run("-q cp " + q(fixtures_dir() / "synthetic/quantized-layers") + " " + q(box.path("src")) + " --digest").exit_code == 0);
  RunResult r = box.run_stdout("quantize " + q(box.path("src")) + " indexeddb://q --dtype uint8 --json");
  BOOST_TEST_REQUIRE(r.exit_code == 0, r.out);
  const bj::value summary = modelport::json::parse(r.out);
  BOOST_TEST(summary.at("quantized").as_array().size() == 2u);
  BOOST_TEST(summary.at("kept").as_array().size() == 4u);
  RunResult v = box.run_stdout("verify indexeddb://q --json");
  BOOST_TEST(v.exit_code == 0, v.out);
  BOOST_TEST(modelport::json::parse(v.out).at("digests").as_string() == "verified");
}

BOOST_AUTO_TEST_CASE(a_model_without_weights_cannot_be_quantized) {
  CliSandbox box;
  const std::string topology_only = R"({"modelTopology":{"class_name":"Sequential"},"format":"layers-model"})";
  fs::create_directories(box.path("t"));
  std::ofstream(box.path("t/model.json")) << topology_only;
  RunResult r = box.run("quantize " + q(box.path("t")) + " " + q(box.path("out")) + " --dtype uint8");
  BOOST_TEST(r.exit_code == 1, r.out);
  BOOST_TEST(r.out.find("no weights") != std::string::npos, r.out);
  BOOST_TEST(!fs::exists(box.path("out")));
}

BOOST_AUTO_TEST_CASE(nan_cannot_go_on_an_integer_grid_but_float16_keeps_it) {
  CliSandbox box;
  fs::create_directories(box.path("nan"));
  std::ofstream(box.path("nan/model.json"))
      << R"({"modelTopology":{},"weightsManifest":[{"paths":["weights.bin"],"weights":[)"
      << R"({"name":"ok","shape":[1],"dtype":"float32"},{"name":"bad","shape":[2],"dtype":"float32"}]}]})";
  const float values[] = {2.0f, 1.0f, std::nanf("")};
  std::ofstream(box.path("nan/weights.bin"), std::ios::binary).write(reinterpret_cast<const char*>(values), sizeof values);
  RunResult r = box.run("quantize " + q(box.path("nan")) + " " + q(box.path("out")) + " --dtype uint8");
  BOOST_TEST(r.exit_code == 1, r.out);
  BOOST_TEST(r.out.find("weight 'bad'") != std::string::npos, r.out);
  BOOST_TEST(!fs::exists(box.path("out")));
  RunResult half = box.run("-q quantize " + q(box.path("nan")) + " " + q(box.path("out16")) + " --dtype float16");
  BOOST_TEST(half.exit_code == 0, half.out);
  const auto result = read_weights(box.path("out16/model.json"));
  BOOST_TEST_REQUIRE(result.size() == 2u);
  BOOST_TEST(stored_at(result[1].bytes, 1, 2) == 0x7E00u);  // the default NaN, as binary16
}

BOOST_AUTO_TEST_SUITE_END()
