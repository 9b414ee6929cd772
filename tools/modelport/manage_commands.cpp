// cp, mv, ls, rm: model management across schemes, with cp/mv/ls/rm semantics people know.
#include "commands.hpp"
#include "global_options.hpp"
#include "progress.hpp"
#include "urls.hpp"

#include <modelport/digests.hpp>
#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>

#include <charconv>
#include <iostream>

namespace modelport::cli {

namespace bj = boost::json;

namespace {

struct Parsed {
  std::vector<std::string> positional;
  bool json = false;
  std::optional<std::string> shard_bytes;
  std::optional<DigestPolicy> digests;
  bool help = false;
  std::string bad;
};

// `copying`: the command writes a model, so it takes --shard-bytes and --digest/--no-digest.
Parsed parse(std::span<const std::string> args, bool copying) {
  Parsed p;
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "-h" || a == "--help") {
      p.help = true;
    } else if (a == "--json") {
      p.json = true;
    } else if (copying && a == "--shard-bytes" && i + 1 < args.size()) {
      p.shard_bytes = args[++i];
    } else if (copying && a.starts_with("--shard-bytes=")) {
      p.shard_bytes = a.substr(14);
    } else if (copying && a == "--digest") {
      p.digests = DigestPolicy::record;
    } else if (copying && a == "--no-digest") {
      p.digests = DigestPolicy::drop;
    } else if (a.starts_with("-") && a != "-") {
      p.bad = a;
    } else {
      p.positional.push_back(a);
    }
  }
  if (p.bad.empty() && p.shard_bytes) {
    std::uint64_t n = 0;
    auto [end, ec] = std::from_chars(p.shard_bytes->data(), p.shard_bytes->data() + p.shard_bytes->size(), n);
    if (ec != std::errc() || end != p.shard_bytes->data() + p.shard_bytes->size() || n == 0) {
      p.bad = "--shard-bytes " + *p.shard_bytes + " (needs a positive integer)";
    }
  }
  return p;
}

bj::object info_json(const std::string& url, const ModelArtifactsInfo& info) {
  bj::object o;
  o["url"] = url;
  for (const auto& kv : to_json(info)) o[kv.key()] = kv.value();
  return o;
}

int usage(const char* text, const std::string& problem = {}) {
  if (!problem.empty()) std::cerr << problem << '\n';
  (problem.empty() ? std::cout : std::cerr) << text;
  return problem.empty() ? kExitOk : kExitUsage;
}


constexpr const char* kCpUsage =
    "usage: modelport cp SRC DST [--shard-bytes N] [--digest | --no-digest] [--json]\n"
    "Copies a model between any two URLs or paths (file:///, indexeddb://, localstorage://,\n"
    "http(s)://, downloads://, ...). The weights stream shard by shard: the source's next shard\n"
    "is read while the previous one is written, so about two shards are in memory at a time\n"
    "(localstorage:// sources and plugins older than ABI 1.1 are read whole first).\n"
    "The copy keeps the source's shard size when the source is uniformly sharded, unless\n"
    "--shard-bytes N asks for another (schemes that store files use it).\n"
    "  --digest     record SHA-256 integrity digests (one per shard) in the copy's model.json\n"
    "  --no-digest  leave them out (by default a source that has digests keeps them, recomputed)\n"
    "  --json       print the copy's ModelArtifactsInfo as JSON\n"
    "A source with digests is verified while it loads (-o verify_digests=0 skips that).\n"
    "On a terminal, a progress line (bytes, total, rate, ETA) shows on stderr; -q hides it.\n"
    "Exit codes: 0 copied, 1 failed (the destination is unchanged: saves are all-or-nothing),\n"
    "2 bad arguments.\n";

constexpr const char* kMvUsage =
    "usage: modelport mv SRC DST [--shard-bytes N] [--digest | --no-digest] [--json]\n"
    "Moves a model: copies it, loads the copy back and compares it with the source, and only then\n"
    "removes the source. A move that fails at any step leaves the source where it was.\n"
    "Options as for cp, except that the shard size is not taken from the source.\n"
    "Exit codes: 0 moved, 1 failed (the source is intact), 2 bad arguments.\n";

constexpr const char* kLsUsage =
    "usage: modelport ls URL [--json]\n"
    "Lists the models of a store: file:///folder (every model folder below it), indexeddb://,\n"
    "localstorage://, ... with their save date and sizes.\n"
    "  --json  a JSON array of {url, dateSaved, modelTopologyType, modelTopologyBytes,\n"
    "          weightSpecsBytes, weightDataBytes}\n"
    "Exit codes: 0 listed, 1 failed, 2 bad arguments.\n";

constexpr const char* kRmUsage =
    "usage: modelport rm URL... [--json]\n"
    "Removes models. For file:// only the model's own files go (model.json and its shards);\n"
    "anything else in the folder stays.\n"
    "  --json  a JSON array with the info of each removed model\n"
    "Exit codes: 0 removed, 1 a model was missing or could not be removed (the others still\n"
    "are), 2 bad arguments.\n";

}  // namespace

int run_cp(std::span<const std::string> args) {
  Parsed p = parse(args, true);
  if (p.help) return usage(kCpUsage);
  if (!p.bad.empty()) return usage(kCpUsage, "modelport cp: bad option '" + p.bad + "'");
  if (p.positional.size() != 2) return usage(kCpUsage, "modelport cp: needs SRC and DST");
  ensure_plugins_discovered();
  const std::string source = to_url(p.positional[0]);
  const std::string destination = to_url(p.positional[1]);
  // copy_model refuses SRC == DST with tfjs's message before it opens anything.
  ProgressLine progress(std::cerr, progress_wanted(global_options().quiet));
  LoadOptions load_options;
  apply_plugin_options(load_options);
  SaveOptions save_options;
  apply_plugin_options(save_options);
  save_options.on_progress = progress.callback("save " + destination);
  if (p.digests) save_options.digests = *p.digests;
  if (p.shard_bytes) save_options.plugin_options["shard_bytes"] = *p.shard_bytes;
  save_options.keep_shard_layout = true;
  const ModelArtifactsInfo info = copy_model(source, destination, load_options, save_options);
  progress.finish();
  if (p.json) {
    std::cout << json::stringify(info_json(destination, info)) << '\n';
  } else if (!global_options().quiet) {
    std::cout << "copied " << source << " -> " << destination << " (" << info.weight_data_bytes.value_or(0)
              << " weight bytes)\n";
  }
  return kExitOk;
}

int run_mv(std::span<const std::string> args) {
  Parsed p = parse(args, true);
  if (p.help) return usage(kMvUsage);
  if (!p.bad.empty()) return usage(kMvUsage, "modelport mv: bad option '" + p.bad + "'");
  if (p.positional.size() != 2) return usage(kMvUsage, "modelport mv: needs SRC and DST");
  ensure_plugins_discovered();
  ProgressLine progress(std::cerr, progress_wanted(global_options().quiet));
  LoadOptions load_options;
  apply_plugin_options(load_options);
  load_options.on_progress = progress.callback("load");
  SaveOptions save_options;
  apply_plugin_options(save_options);
  save_options.on_progress = progress.callback("save");
  if (p.digests) save_options.digests = *p.digests;
  if (p.shard_bytes) save_options.plugin_options["shard_bytes"] = *p.shard_bytes;
  const std::string source = to_url(p.positional[0]);
  const std::string destination = to_url(p.positional[1]);
  ModelArtifactsInfo info = move_model(source, destination, load_options, save_options);
  progress.finish();
  if (p.json) {
    std::cout << json::stringify(info_json(destination, info)) << '\n';
  } else if (!global_options().quiet) {
    std::cout << "moved " << source << " -> " << destination << " (" << info.weight_data_bytes.value_or(0) << " weight bytes)\n";
  }
  return kExitOk;
}

int run_ls(std::span<const std::string> args) {
  Parsed p = parse(args, false);
  if (p.help) return usage(kLsUsage);
  if (!p.bad.empty()) return usage(kLsUsage, "modelport ls: unknown option '" + p.bad + "'");
  if (p.positional.size() != 1) return usage(kLsUsage, "modelport ls: needs one URL");
  ensure_plugins_discovered();
  CommonOptions options;
  apply_plugin_options(options);
  auto models = list_models(to_url(p.positional[0]), options);
  if (p.json) {
    bj::array out;
    for (const auto& m : models) out.emplace_back(info_json(m.url, m.info));
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
  Parsed p = parse(args, false);
  if (p.help) return usage(kRmUsage);
  if (!p.bad.empty()) return usage(kRmUsage, "modelport rm: unknown option '" + p.bad + "'");
  if (p.positional.empty()) return usage(kRmUsage, "modelport rm: needs at least one URL");
  ensure_plugins_discovered();
  CommonOptions options;
  apply_plugin_options(options);
  int exit_code = kExitOk;
  bj::array removed;
  for (const auto& target : p.positional) {
    try {
      ModelArtifactsInfo info = remove_model(to_url(target), options);
      if (p.json) {
        removed.emplace_back(info_json(to_url(target), info));
      } else if (!global_options().quiet) {
        std::cout << "removed " << to_url(target) << '\n';
      }
    } catch (const Error& e) {
      std::cerr << "modelport rm: " << e.what() << " [" << to_string(e.code()) << "]\n";
      exit_code = kExitFailure;
    }
  }
  if (p.json) std::cout << json::stringify(removed) << '\n';
  return exit_code;
}

}  // namespace modelport::cli
