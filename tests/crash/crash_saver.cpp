// The saving process of the crash-consistency harness: loads the given plugins, builds every
// version of models "a" and "b" (tests/crash/crash_models.hpp), prints "ready", then saves back
// to back until it is killed, printing "<model> <version>" after each save returns.
//
//   modelport-crash-saver <url-base> <first-save-number> <plugin.so>...
//
// Save k writes version k % 4 of "a"; every third save also writes "b" (version (k / 3) % 4).
// Odd saves stream their weights in 256 KiB parts through IOHandler::save_streamed, the path
// `modelport cp` takes, so that a kill in the middle of a streamed save is tested too.
#include "crash_models.hpp"

#include <modelport/error.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weight_stream.hpp>

#include <algorithm>
#include <memory>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <string>
#include <unistd.h>

using namespace modelport;

namespace {

// One write per line: a pipe write of fewer than PIPE_BUF bytes is never split.
void report(const std::string& line) {
  const std::string text = line + "\n";
  if (::write(STDOUT_FILENO, text.data(), text.size()) != static_cast<ssize_t>(text.size())) std::_Exit(3);
}

// The weights in parts of `part` bytes (slices of the same memory), as a streamed save reads them.
std::unique_ptr<WeightStream> parts_of(const WeightData& data, std::uint64_t part) {
  WeightData parts;
  for (const Buffer& b : data.buffers()) {
    for (std::size_t at = 0; at < b.size(); at += part) parts.append(b.slice(at, std::min<std::size_t>(part, b.size() - at)));
  }
  return stream_of(std::move(parts));
}

void save_version(const std::string& url, const ModelArtifacts& a, bool streamed, const RouterRegistry& routers) {
  if (!streamed) {
    save(url, a, {}, routers);
    return;
  }
  auto handlers = routers.get_save_handlers(url);
  if (handlers.size() != 1) throw Error(ErrorCode::internal, "no single save handler for " + url);
  ModelArtifacts meta = a;
  meta.weight_data.reset();
  auto weights = parts_of(*a.weight_data, 256u << 10);
  handlers[0].handler->save_streamed(meta, weights.get());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: modelport-crash-saver <url-base> <first-save-number> <plugin.so>...\n";
    return 2;
  }
  try {
    const std::string base = argv[1];
    const std::uint64_t first = std::stoull(argv[2]);
    RouterRegistry routers;
    ModelStoreRegistry stores;
    PluginManager manager(routers, stores);
    for (int i = 3; i < argc; ++i) manager.load_plugin(argv[i]);
    std::map<std::string, std::vector<ModelArtifacts>> versions;
    for (const char* model : {"a", "b"}) {
      for (std::uint64_t v = 0; v < crashtest::kVersions; ++v) versions[model].push_back(crashtest::model_version(model, v));
    }
    report("ready");
    for (std::uint64_t k = first;; ++k) {
      const std::uint64_t va = k % crashtest::kVersions;
      save_version(base + "a", versions["a"][va], k % 2 == 1, routers);
      report("a " + std::to_string(va));
      if (k % 3 == 1) {
        const std::uint64_t vb = (k / 3) % crashtest::kVersions;
        save_version(base + "b", versions["b"][vb], k % 2 == 1, routers);
        report("b " + std::to_string(vb));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "modelport-crash-saver: " << e.what() << "\n";
    return 1;
  }
}
