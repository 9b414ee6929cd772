// `modelport verify URL`: loads a model, checks every size against its manifest, decodes every
// weight and checks the integrity digests it carries; reports each problem, not just the first.
#include "commands.hpp"
#include "global_options.hpp"
#include "mapped_file.hpp"
#include "urls.hpp"

#include <modelport/digests.hpp>
#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weights_codec.hpp>

#include <filesystem>
#include <iostream>

namespace modelport::cli {

namespace bj = boost::json;
namespace fs = std::filesystem;

namespace {

constexpr const char* kUsage =
    "usage: modelport verify <URL | path> [--json]\n"
    "\n"
    "Checks a model end to end: loads it through its scheme (every shard present, each manifest\n"
    "group's shard sizes add up), checks that the weight bytes are exactly what the weight specs\n"
    "need, decodes every weight (dtypes, quantization, string lengths), and, when the model\n"
    "carries integrity digests (saved with `cp --digest`), hashes every shard against them.\n"
    "Every problem is reported (shard, weight, expected and actual), not only the first.\n"
    "  --json  one JSON object: {url, ok, weights, weightBytes, digests, problems: [...]}\n"
    "          digests is \"verified\", \"absent\" or \"failed\"; each problem has kind\n"
    "          (load | sizes | weight | digest), message, and shard or weight when known\n"
    "Exit codes: 0 every check passed, 1 the model could not be read (missing, unreadable,\n"
    "no such scheme), 2 bad arguments, 3 verification failed (the model is damaged).\n";

struct Problem {
  std::string kind;
  std::string message;
  std::optional<std::string> shard;
  std::optional<std::string> weight;
};

// For file:// models, the shard file names of the manifest when they line up one to one with
// the digested pieces, so problems name files rather than byte ranges. Best effort: any failure
// leaves the names out.
std::vector<std::string> file_shard_names(const std::string& url, const WeightDigests& digests) {
  if (!url.starts_with("file://")) return {};
  try {
    fs::path path = url.substr(7);
    if (fs::is_directory(path)) path /= "model.json";
    Buffer text = map_file(path);
    ModelJson parsed = parse_model_json(text.view(), path.string());
    if (!parsed.weights_manifest) return {};
    std::vector<std::string> names;
    for (const auto& g : *parsed.weights_manifest) {
      for (const auto& p : g.paths) names.push_back((path.parent_path() / p).lexically_normal().string());
    }
    if (names.size() != digests.sha256.size()) return {};
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (fs::file_size(names[i]) != digests.length(i)) return {};
    }
    return names;
  } catch (const std::exception&) {
    return {};
  }
}

bool is_damage(ErrorCode code) { return code == ErrorCode::corrupt || code == ErrorCode::invalid_argument; }

}  // namespace

int run_verify(std::span<const std::string> args) {
  bool as_json = false;
  std::vector<std::string> positional;
  for (const auto& arg : args) {
    if (arg == "--json") {
      as_json = true;
    } else if (arg == "-h" || arg == "--help") {
      std::cout << kUsage;
      return kExitOk;
    } else if (arg.starts_with("-")) {
      std::cerr << "modelport verify: unknown option '" << arg << "'\n" << kUsage;
      return kExitUsage;
    } else {
      positional.push_back(arg);
    }
  }
  if (positional.size() != 1) {
    std::cerr << "modelport verify: needs one model\n" << kUsage;
    return kExitUsage;
  }
  ensure_plugins_discovered();
  const std::string url = to_url(positional.front());

  std::vector<Problem> problems;
  std::string digest_state = "absent";
  std::size_t weight_count = 0;
  std::uint64_t weight_bytes = 0;
  int exit_code = kExitOk;

  LoadOptions options;
  apply_plugin_options(options);
  // Digests are checked below, piece by piece, so that every bad shard is reported.
  options.verify_digests = false;
  std::optional<ModelArtifacts> model;
  try {
    model = modelport::load(url, options);
  } catch (const Error& e) {
    problems.push_back({"load", e.what(), std::nullopt, std::nullopt});
    exit_code = is_damage(e.code()) ? kExitVerifyFailed : kExitFailure;
  }

  if (model) {
    static const std::vector<WeightSpec> kNoSpecs;
    const std::vector<WeightSpec>& specs = model->weight_specs ? *model->weight_specs : kNoSpecs;
    const WeightData empty;
    const WeightData& data = model->weight_data ? *model->weight_data : empty;
    weight_count = specs.size();
    weight_bytes = data.size();

    try {
      std::vector<WeightLayout> plan = plan_weights(specs, data, url);
      for (const auto& layout : plan) {
        try {
          (void)decode_weight(specs[layout.index], layout, data);
        } catch (const Error& e) {
          problems.push_back({"weight", e.what(), std::nullopt, specs[layout.index].name});
        }
      }
    } catch (const Error& e) {
      problems.push_back({"sizes", e.what(), std::nullopt, std::nullopt});
    }

    try {
      if (auto digests = recorded_weight_digests(*model, url)) {
        DigestCheck check = check_weight_digests(*digests, data);
        const auto names = file_shard_names(url, *digests);
        if (!check.size_matches) {
          problems.push_back({"digest",
                              url + " holds " + std::to_string(check.actual_bytes) +
                                  " weight bytes but its digests were recorded over " + std::to_string(digests->weight_bytes),
                              std::nullopt, std::nullopt});
        }
        for (const auto& m : check.mismatches) {
          std::string shard = names.empty() ? describe_piece(m) : names[m.index];
          problems.push_back({"digest",
                              describe_piece(m) + (names.empty() ? "" : " " + names[m.index]) +
                                  " fails its SHA-256 check: recorded " + m.recorded + ", computed " + m.actual,
                              shard, std::nullopt});
        }
        digest_state = check.ok() ? "verified" : "failed";
      }
    } catch (const Error& e) {
      problems.push_back({"digest", e.what(), std::nullopt, std::nullopt});
      digest_state = "failed";
    }
    if (!problems.empty()) exit_code = kExitVerifyFailed;
  }

  if (as_json) {
    bj::object out;
    out["url"] = url;
    out["ok"] = problems.empty();
    out["weights"] = weight_count;
    out["weightBytes"] = weight_bytes;
    out["digests"] = digest_state;
    bj::array list;
    for (const auto& p : problems) {
      bj::object o;
      o["kind"] = p.kind;
      o["message"] = p.message;
      if (p.shard) o["shard"] = *p.shard;
      if (p.weight) o["weight"] = *p.weight;
      list.emplace_back(std::move(o));
    }
    out["problems"] = std::move(list);
    std::cout << json::stringify(out) << '\n';
    return exit_code;
  }
  if (problems.empty()) {
    if (!global_options().quiet) {
      std::cout << "ok " << url << ": " << weight_count << " weights, " << weight_bytes << " weight bytes decoded; digests "
                << digest_state << '\n';
    }
    return exit_code;
  }
  for (const auto& p : problems) {
    std::cerr << "modelport verify: " << p.kind;
    if (p.weight) std::cerr << " (weight '" << *p.weight << "')";
    std::cerr << ": " << p.message << '\n';
  }
  std::cout << "FAILED " << url << ": " << problems.size() << " problem(s)\n";
  return exit_code;
}

}  // namespace modelport::cli
