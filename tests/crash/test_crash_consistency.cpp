// Crash consistency of every store that saves (docs/hardening.md): a process saving models back
// to back (modelport-crash-saver) is killed with SIGKILL at a random moment, many rounds per
// store. After each kill, every model the store lists must load byte-equal to a version that was
// saved (no half model listed), a model saved before stays loadable (a killed save leaves the
// previous version), and the model being saved is either its last finished version or the one
// in flight.
//
// The server's store is tested the same way with the server as the process killed: the saver
// uploads through the http:// plugin to `modelport serve --store file://...`, the server is
// killed while it receives or saves an upload, and the store behind it is checked directly.
//
// MODELPORT_CRASH_ROUNDS sets the rounds per store (default 25; a longer manual run: 500).
#include <boost/test/unit_test.hpp>

#include "crash_models.hpp"
#include "test_support.hpp"

#include <modelport/error.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>

#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace modelport;

namespace {

const std::vector<std::string> kPlugins = {MODELPORT_FILE_PLUGIN, MODELPORT_INDEXEDDB_PLUGIN, MODELPORT_LOCALSTORAGE_PLUGIN};
#ifdef MODELPORT_HTTP_PLUGIN
const char* const kHttpPlugin = MODELPORT_HTTP_PLUGIN;
const char* const kCli = MODELPORT_CLI;
#else
const char* const kHttpPlugin = "";  // no http plugin in this build: the serve_store case is left out
const char* const kCli = "";
#endif

// One data folder for the whole program, removed at exit (a static with a destructor, unlike
// the plugin manager below, which is never torn down).
const test::TempDir& data_dir() {
  static const test::TempDir dir;
  return dir;
}

// One set of plugins for the whole program; the saver processes inherit the environment that
// points the browser-store plugins at the data folder.
struct Env {
  RouterRegistry routers;
  ModelStoreRegistry stores;
  PluginManager manager{routers, stores};
  Env() {
    ::setenv("MODELPORT_DATA_DIR", data_dir().path().c_str(), 1);
    ::setenv("MODELPORT_ORIGIN", "crash-test", 1);
    ::setenv("MODELPORT_LOCALSTORAGE_QUOTA", "268435456", 1);  // room for 4 versions of 6 MiB in base64
    for (const auto& p : kPlugins) manager.load_plugin(p);
  }
};

Env& env() {
  static Env* e = new Env();  // plugins are never unloaded; neither is this
  return *e;
}

int rounds() {
  const char* text = std::getenv("MODELPORT_CRASH_ROUNDS");
  return text ? std::max(1, std::atoi(text)) : 25;
}

// The saver's schedule (crash_saver.cpp): entry n is the n-th save after `first`.
std::vector<std::pair<std::string, std::uint64_t>> schedule(std::uint64_t first, std::size_t count) {
  std::vector<std::pair<std::string, std::uint64_t>> out;
  for (std::uint64_t k = first; out.size() < count; ++k) {
    out.emplace_back("a", k % crashtest::kVersions);
    if (k % 3 == 1) out.emplace_back("b", (k / 3) % crashtest::kVersions);
  }
  out.resize(count);
  return out;
}

struct Child {
  pid_t pid = -1;
  int out = -1;
};

// Runs `args` with its stdout on a pipe.
Child spawn(std::vector<std::string> args, bool quiet = false) {
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  const pid_t pid = ::fork();
  BOOST_TEST_REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    ::dup2(fds[1], STDOUT_FILENO);
    if (quiet) {
      // Failures are expected here (the server died under it); the reports tell what happened.
      const int null = ::open("/dev/null", O_WRONLY);
      if (null >= 0) ::dup2(null, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  ::close(fds[1]);
  return {pid, fds[0]};
}

Child spawn_saver(const std::string& base, std::uint64_t first, const std::vector<std::string>& plugins, bool quiet) {
  std::vector<std::string> args = {MODELPORT_CRASH_SAVER, base, std::to_string(first)};
  args.insert(args.end(), plugins.begin(), plugins.end());
  return spawn(std::move(args), quiet);
}

// Reads lines until EOF, or (with `until`) until that line has been read.
// `prefix`: stop at the first line that starts with it.
std::vector<std::string> read_lines(int fd, std::string& pending, const char* until = nullptr, const char* prefix = nullptr) {
  std::vector<std::string> lines;
  char buf[4096];
  for (;;) {
    for (std::size_t nl; (nl = pending.find('\n')) != std::string::npos;) {
      lines.push_back(pending.substr(0, nl));
      pending.erase(0, nl + 1);
      if (until && lines.back() == until) return lines;
      if (prefix && lines.back().starts_with(prefix)) return lines;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return lines;
    pending.append(buf, static_cast<std::size_t>(n));
  }
}

// Which version of `name` `loaded` is, if it is exactly one of them.
std::optional<std::uint64_t> version_of(const std::string& name, const ModelArtifacts& loaded) {
  for (std::uint64_t v = 0; v < crashtest::kVersions; ++v) {
    if (same_model(loaded, crashtest::model_version(name, v))) return v;
  }
  return std::nullopt;
}

struct Stats {
  int rounds = 0;
  int before_first_report = 0;  // killed before any save of the round finished
  int committed_unreported = 0;  // the save in flight had landed (killed between commit and report)
  int previous_kept = 0;         // the save in flight had not landed: the previous version stayed
};

// `modelport serve --store <store> --port 0`, once it listens; `port` gets its port.
Child spawn_server(const std::string& store, int& port, std::string& pending) {
  Child server = spawn({kCli, "serve", "--store", store, "--port", "0", "--threads", "2"});
  std::vector<std::string> lines = read_lines(server.out, pending, nullptr, "serving ");
  BOOST_TEST_REQUIRE((!lines.empty() && lines.back().starts_with("serving ")), "modelport serve did not start");
  port = std::atoi(lines.back().c_str() + lines.back().rfind(':') + 1);
  BOOST_TEST_REQUIRE(port > 0);
  return server;
}

// `serve_store`: the server's store URL (file://...); the process killed is then the server,
// and `base` / `list_url` name the store behind it.
void run_store(const std::string& base, const std::string& list_url, const std::string& serve_store = {}) {
  Env& e = env();
  std::mt19937 rng(20261129);
  std::map<std::string, std::uint64_t> persisted;  // what each model held after the last round
  Stats stats;
  for (int round = 1; round <= rounds(); ++round) {
    BOOST_TEST_CONTEXT(base << " round " << round) {
      const std::uint64_t first = static_cast<std::uint64_t>(round) * 1000 + rng() % 12;
      Child server;
      std::string server_pending;
      int port = 0;
      if (!serve_store.empty()) server = spawn_server(serve_store, port, server_pending);
      const std::string save_base = serve_store.empty() ? base : "http://127.0.0.1:" + std::to_string(port) + "/models/";
      Child child = spawn_saver(save_base, first, serve_store.empty() ? kPlugins : std::vector<std::string>{kHttpPlugin},
                                !serve_store.empty());
      std::string pending;
      const auto ready = read_lines(child.out, pending, "ready");
      BOOST_TEST_REQUIRE((!ready.empty() && ready.back() == "ready"), "the saver did not start");
      std::this_thread::sleep_for(std::chrono::microseconds(std::uniform_int_distribution<int>(0, 120'000)(rng)));
      const Child& victim = serve_store.empty() ? child : server;
      ::kill(victim.pid, SIGKILL);
      int status = 0;
      ::waitpid(victim.pid, &status, 0);
      BOOST_TEST_REQUIRE((WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL), "the process ended by itself, status " << status);
      if (!serve_store.empty()) {
        // The uploads fail now; what the saver reported so far is in the pipe.
        ::close(server.out);
        ::kill(child.pid, SIGKILL);
        ::waitpid(child.pid, &status, 0);
      }
      const auto reports = read_lines(child.out, pending);
      ::close(child.out);

      const auto plan = schedule(first, reports.size() + 1);
      for (std::size_t i = 0; i < reports.size(); ++i) {
        BOOST_TEST_REQUIRE(reports[i] == plan[i].first + " " + std::to_string(plan[i].second), "unexpected report " << reports[i]);
      }
      std::map<std::string, std::uint64_t> finished = persisted;
      for (std::size_t i = 0; i < reports.size(); ++i) finished[plan[i].first] = plan[i].second;
      const auto& in_flight = plan.back();
      if (reports.empty()) ++stats.before_first_report;

      // Every listed model is exactly one saved version of a model the saver writes.
      std::map<std::string, std::uint64_t> loaded;
      for (const auto& listed : list_models(list_url, {}, e.stores)) {
        const std::string name = listed.url.substr(listed.url.find_last_of('/') + 1);
        BOOST_TEST_REQUIRE((listed.url == base + name && (name == "a" || name == "b")), "listed " << listed.url);
        ModelArtifacts a;
        try {
          a = load(listed.url, {}, e.routers);
        } catch (const Error& err) {
          BOOST_FAIL("listed model " << listed.url << " does not load: " << err.what());
        }
        const auto v = version_of(name, a);
        BOOST_TEST_REQUIRE(v.has_value(), "listed model " << listed.url << " is not a saved version");
        loaded[name] = *v;
      }
      // Saved models survive; each holds its last finished version or the one in flight.
      for (const auto& [name, version] : finished) {
        BOOST_TEST_REQUIRE(loaded.count(name) == 1u, "model " << name << " (last finished: version " << version << ") is gone");
        const bool flying = in_flight.first == name;
        BOOST_TEST(((loaded[name] == version) || (flying && loaded[name] == in_flight.second)),
                   name << ": loaded version " << loaded[name] << ", finished " << version);
        if (flying && loaded[name] != version) ++stats.committed_unreported;
        if (flying && loaded[name] == version && version != in_flight.second) ++stats.previous_kept;
      }
      for (const auto& [name, version] : loaded) {
        if (!finished.count(name)) BOOST_TEST((in_flight.first == name && in_flight.second == version), "model " << name);
      }
      persisted = loaded;
      ++stats.rounds;
    }
  }
  BOOST_TEST_MESSAGE(base << ": " << stats.rounds << " rounds; killed before the first save finished: " << stats.before_first_report
                          << "; in-flight save had landed: " << stats.committed_unreported
                          << "; in-flight save had not landed, previous version kept: " << stats.previous_kept);
  // The kills must land inside saves, or this tests nothing.
  BOOST_TEST(stats.previous_kept + stats.committed_unreported > 0, "no kill landed inside a save");
}

}  // namespace

BOOST_AUTO_TEST_SUITE(crash_consistency)

BOOST_AUTO_TEST_CASE(file_store) {
  const fs::path dir = data_dir().path() / "file-models";
  fs::create_directories(dir);
  run_store("file://" + dir.string() + "/", "file://" + dir.string());
}

BOOST_AUTO_TEST_CASE(indexeddb_store) { run_store("indexeddb://crash/", "indexeddb://"); }

BOOST_AUTO_TEST_CASE(localstorage_store) { run_store("localstorage://crash/", "localstorage://"); }

#ifdef MODELPORT_HTTP_PLUGIN
BOOST_AUTO_TEST_CASE(serve_store) {
  const fs::path dir = data_dir().path() / "served-models";
  fs::create_directories(dir);
  const std::string store = "file://" + dir.string();
  run_store(store + "/", store, store);
}
#endif

BOOST_AUTO_TEST_SUITE_END()
