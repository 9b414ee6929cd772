// cp, mv, ls, rm: model management across schemes, with cp/mv/ls/rm semantics people know.
#include "commands.hpp"
#include "global_options.hpp"
#include "urls.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>

#include <iostream>

namespace modelport::cli {

namespace bj = boost::json;

namespace {

struct Parsed {
  std::vector<std::string> positional;
  bool json = false;
  std::optional<std::string> shard_bytes;
  bool help = false;
  std::string bad;
};

Parsed parse(std::span<const std::string> args, bool allow_json, bool allow_shards) {
  Parsed p;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      p.help = true;
    } else if (allow_json && a == "--json") {
      p.json = true;
    } else if (allow_shards && a == "--shard-bytes" && i + 1 < args.size()) {
      p.shard_bytes = args[++i];
    } else if (allow_shards && a.starts_with("--shard-bytes=")) {
      p.shard_bytes = a.substr(14);
    } else if (a.starts_with("-") && a != "-") {
      p.bad = a;
    } else {
      p.positional.push_back(a);
    }
  }
  return p;
}

int usage(const char* text, const std::string& problem = {}) {
  if (!problem.empty()) std::cerr << problem << '\n';
  (problem.empty() ? std::cout : std::cerr) << text;
  return problem.empty() ? kExitOk : kExitUsage;
}


constexpr const char* kCpUsage =
    "usage: modelport cp SRC DST [--shard-bytes N]\n"
    "Copies a model between any two URLs or paths (file:///, indexeddb://, localstorage://,\n"
    "http(s)://, downloads://, ...). Weights are passed along buffer by buffer, never joined.\n"
    "The copy keeps the source's shard size when the source is sharded, unless --shard-bytes N\n"
    "asks for another (schemes that store files use it).\n"
    "Exit codes: 0 copied, 1 failed (nothing was changed at DST unless the save itself failed\n"
    "half-way, which the scheme rolls back), 2 bad arguments.\n";

constexpr const char* kMvUsage =
    "usage: modelport mv SRC DST\n"
    "Moves a model: copies it, loads the copy back and compares it with the source, and only then\n"
    "removes the source. A move that fails at any step leaves the source where it was.\n"
    "Exit codes: 0 moved, 1 failed, 2 bad arguments.\n";

constexpr const char* kLsUsage =
    "usage: modelport ls URL [--json]\n"
    "Lists the models of a store: file:///folder (every model folder below it), indexeddb://,\n"
    "localstorage://, ... with their save date and sizes.\n"
    "Exit codes: 0 listed, 1 failed, 2 bad arguments.\n";

constexpr const char* kRmUsage =
    "usage: modelport rm URL...\n"
    "Removes models. For file:// only the model's own files go (model.json and its shards);\n"
    "anything else in the folder stays.\n"
    "Exit codes: 0 removed, 1 a model was missing or could not be removed, 2 bad arguments.\n";

}  // namespace

int run_cp(std::span<const std::string> args) {
  Parsed p = parse(args, false, true);
  if (p.help) return usage(kCpUsage);
  if (!p.bad.empty()) return usage(kCpUsage, "modelport cp: unknown option '" + p.bad + "'");
  if (p.positional.size() != 2) return usage(kCpUsage, "modelport cp: needs SRC and DST");
  ensure_plugins_discovered();
  const std::string source = to_url(p.positional[0]);
  const std::string destination = to_url(p.positional[1]);
  if (source == destination) throw Error(ErrorCode::invalid_argument, "Old path and new path are the same: '" + source + "'");
  LoadOptions load_options;
  apply_plugin_options(load_options);
  ModelArtifacts artifacts = modelport::load(source, load_options);
  SaveOptions save_options;
  apply_plugin_options(save_options);
  if (p.shard_bytes) {
    save_options.plugin_options["shard_bytes"] = *p.shard_bytes;
  } else if (!save_options.plugin_options.count("shard_bytes")) {
    if (auto size = (artifacts.weight_data ? artifacts.weight_data->uniform_shard_size() : std::nullopt)) save_options.plugin_options["shard_bytes"] = std::to_string(*size);
  }
  SaveResult result = modelport::save(destination, artifacts, save_options);
  if (!global_options().quiet) {
    std::cout << "copied " << source << " -> " << destination << " ("
              << result.model_artifacts_info.weight_data_bytes.value_or(0) << " weight bytes)\n";
  }
  return kExitOk;
}

int run_mv(std::span<const std::string> args) {
  Parsed p = parse(args, false, false);
  if (p.help) return usage(kMvUsage);
  if (!p.bad.empty()) return usage(kMvUsage, "modelport mv: unknown option '" + p.bad + "'");
  if (p.positional.size() != 2) return usage(kMvUsage, "modelport mv: needs SRC and DST");
  ensure_plugins_discovered();
  LoadOptions load_options;
  apply_plugin_options(load_options);
  SaveOptions save_options;
  apply_plugin_options(save_options);
  const std::string source = to_url(p.positional[0]);
  const std::string destination = to_url(p.positional[1]);
  ModelArtifactsInfo info = move_model(source, destination, load_options, save_options);
  if (!global_options().quiet) {
    std::cout << "moved " << source << " -> " << destination << " (" << info.weight_data_bytes.value_or(0) << " weight bytes)\n";
  }
  return kExitOk;
}

int run_ls(std::span<const std::string> args) {
  Parsed p = parse(args, true, false);
  if (p.help) return usage(kLsUsage);
  if (!p.bad.empty()) return usage(kLsUsage, "modelport ls: unknown option '" + p.bad + "'");
  if (p.positional.size() != 1) return usage(kLsUsage, "modelport ls: needs one URL");
  ensure_plugins_discovered();
  CommonOptions options;
  apply_plugin_options(options);
  auto models = list_models(to_url(p.positional[0]), options);
  if (p.json) {
    bj::array out;
    for (const auto& m : models) {
      bj::object o;
      o["url"] = m.url;
      for (const auto& kv : to_json(m.info)) o[kv.key()] = kv.value();
      out.emplace_back(std::move(o));
    }
    std::cout << json::stringify(out) << '\n';
    return kExitOk;
  }
  for (const auto& m : models) {
    std::cout << format_iso8601(m.info.date_saved) << "  " << m.info.weight_data_bytes.value_or(0) << " weight bytes  "
              << m.info.model_topology_bytes.value_or(0) << " topology bytes  " << m.url << '\n';
  }
  return kExitOk;
}

int run_rm(std::span<const std::string> args) {
  Parsed p = parse(args, false, false);
  if (p.help) return usage(kRmUsage);
  if (!p.bad.empty()) return usage(kRmUsage, "modelport rm: unknown option '" + p.bad + "'");
  if (p.positional.empty()) return usage(kRmUsage, "modelport rm: needs at least one URL");
  ensure_plugins_discovered();
  CommonOptions options;
  apply_plugin_options(options);
  int exit_code = kExitOk;
  for (const auto& target : p.positional) {
    try {
      remove_model(to_url(target), options);
      if (!global_options().quiet) std::cout << "removed " << to_url(target) << '\n';
    } catch (const Error& e) {
      std::cerr << "modelport rm: " << e.what() << " [" << to_string(e.code()) << "]\n";
      exit_code = kExitFailure;
    }
  }
  return exit_code;
}

}  // namespace modelport::cli
