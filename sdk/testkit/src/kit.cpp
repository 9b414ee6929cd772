// The conformance kit's plumbing: configuration, the shared suite state, the Boost.Test tree
// and the end-of-run summary.
#include "kit.hpp"

#include <modelport/plugin_abi.h>

#include <boost/test/results_collector.hpp>
#include <boost/test/tree/observer.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <unistd.h>

namespace modelport::testkit {

namespace ut = boost::unit_test;

std::uint32_t parse_capabilities(std::string_view text) {
  std::uint32_t caps = 0;
  std::size_t start = 0;
  while (start <= text.size()) {
    std::size_t end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view word = text.substr(start, end - start);
    while (!word.empty() && word.front() == ' ') word.remove_prefix(1);
    while (!word.empty() && word.back() == ' ') word.remove_suffix(1);
    if (word == "save") caps |= capability::save;
    else if (word == "load") caps |= capability::load;
    else if (word == "list") caps |= capability::list;
    else if (word == "remove") caps |= capability::remove;
    else if (word == "all") caps |= capability::save | capability::load | capability::list | capability::remove;
    else if (!word.empty()) {
      throw std::invalid_argument("unknown capability '" + std::string(word) +
                                  "' (expected a comma-separated list of save, load, list, remove)");
    }
    start = end + 1;
  }
  if (caps == 0) throw std::invalid_argument("empty capability list '" + std::string(text) + "'");
  return caps;
}

std::string usage(std::string_view program) {
  std::ostringstream out;
  out << "usage: " << program
      << " [boost.test args] -- --plugin PATH [--url-base URL] [--caps save,load,list,remove]\n"
         "           [--max-weight-bytes N] [--require-info-byte-counts]\n"
         "\n"
         "Runs the modelport plugin conformance suite against the plugin library PATH, loaded\n"
         "through the production loader (PluginManager::load_plugin).\n"
         "\n"
         "  --plugin PATH              the plugin's shared object (required)\n"
         "  --url-base URL             model URLs are URL + a name (default: the plugin's first prefix)\n"
         "  --caps LIST                capabilities to test (default: what the plugin declares)\n"
         "  --max-weight-bytes N       largest model to save, in weight bytes (default: "
      << kLargeModelBytes
      << ")\n"
         "  --require-info-byte-counts fail, instead of noting, when a plugin reports unknown (-1)\n"
         "                             byte counts in a ModelArtifactsInfo\n"
         "\n"
         "Boost.Test arguments go before '--', e.g. --log_level=test_suite to see every case and\n"
         "the reason of every skip, or --run_test=conformance/list_models.\n";
  return out.str();
}

Config parse_arguments(int argc, char** argv) {
  Config config;
  bool have_plugin = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") continue;  // Boost.Test removes it; a caller who parses argv itself may not
    std::string_view name = arg;
    std::optional<std::string_view> value;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string_view::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
    }
    auto take_value = [&]() -> std::string_view {
      if (value) return *value;
      if (i + 1 >= argc) throw std::invalid_argument("option '" + std::string(name) + "' needs a value");
      return argv[++i];
    };
    if (name == "--plugin") {
      config.plugin = std::filesystem::path(std::string(take_value()));
      have_plugin = true;
    } else if (name == "--url-base") {
      config.url_base = take_value();
    } else if (name == "--caps" || name == "--capabilities") {
      config.capabilities = parse_capabilities(take_value());
    } else if (name == "--max-weight-bytes") {
      std::string_view v = take_value();
      std::uint64_t n = 0;
      auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      if (ec != std::errc() || end != v.data() + v.size()) {
        throw std::invalid_argument("--max-weight-bytes needs a non-negative integer, got '" + std::string(v) + "'");
      }
      config.max_weight_bytes = n;
    } else if (name == "--require-info-byte-counts" && !value) {
      config.require_info_byte_counts = true;
    } else {
      throw std::invalid_argument("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (!have_plugin || config.plugin.empty()) throw std::invalid_argument("--plugin PATH is required");
  return config;
}

namespace detail {

Suite::Suite(Config config) : config_(std::move(config)) {
  run_tag_ = "mpck-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count() %
                            100000000);
  // Only the descriptor is read here (no init): a plugin that cannot even be inspected still
  // gets a suite whose handshake case says why.
  try {
    inspected_ = PluginManager::inspect(config_.plugin);
  } catch (const std::exception& e) {
    inspect_error_ = e.what();
    return;
  }
  if (config_.url_base.empty() && !inspected_->schemes.empty()) config_.url_base = inspected_->schemes.front().prefix;
  const PluginSchemeInfo* scheme = nullptr;
  for (const auto& s : inspected_->schemes) {
    if (config_.url_base.starts_with(s.prefix) && (!scheme || s.prefix.size() > scheme->prefix.size())) scheme = &s;
  }
  if (!scheme) {
    std::string prefixes;
    for (const auto& s : inspected_->schemes) prefixes += (prefixes.empty() ? "" : ", ") + s.prefix;
    config_error_ = "the URL base '" + config_.url_base + "' does not start with a prefix of plugin '" +
                    inspected_->name + "' (" + prefixes + ")";
    config_.capabilities = 0;
    return;
  }
  prefix_ = scheme->prefix;
  plugin_capabilities_ = scheme->capabilities;
  if (config_.capabilities == 0) {
    config_.capabilities = plugin_capabilities_;
  } else if (std::uint32_t extra = config_.capabilities & ~plugin_capabilities_) {
    config_error_ = "the configuration asks to test '" + capabilities_text(extra) + "', which plugin '" +
                    inspected_->name + "' does not declare for " + prefix_ + " (it declares '" +
                    capabilities_text(plugin_capabilities_) + "')";
    config_.capabilities &= plugin_capabilities_;
  }
}

std::uint64_t Suite::weight_budget(std::uint64_t wanted) const noexcept {
  return config_.max_weight_bytes ? std::min(wanted, config_.max_weight_bytes) : wanted;
}

std::string Suite::missing_capability_reason(std::uint32_t caps) const {
  std::uint32_t missing = caps & ~config_.capabilities;
  if (!missing) return {};
  if (!inspected_) return "the plugin could not be inspected, so its capabilities are unknown";
  if (missing & ~plugin_capabilities_) {
    return "the plugin does not declare capability '" + capabilities_text(missing & ~plugin_capabilities_) + "' for " +
           (prefix_.empty() ? config_.url_base : prefix_) + " (it declares '" + capabilities_text(plugin_capabilities_) + "')";
  }
  return "capability '" + capabilities_text(missing) + "' is not selected for testing (tested: '" +
         capabilities_text(config_.capabilities) + "')";
}

PluginInfo Suite::ensure_loaded() {
  if (loaded_) return *loaded_;
  if (load_attempted_) {
    throw Error(ErrorCode::unavailable, "the plugin '" + config_.plugin.string() + "' failed to load earlier: " + load_error_);
  }
  load_attempted_ = true;
  manager_ = std::make_unique<PluginManager>(routers, stores);
  try {
    loaded_ = manager_->load_plugin(config_.plugin);
  } catch (const std::exception& e) {
    load_error_ = e.what();
    throw;
  }
  return *loaded_;
}

std::string Suite::unique_name(std::string_view what) {
  return run_tag_ + "-" + std::string(what) + "-" + std::to_string(counter_.fetch_add(1) + 1);
}

void Suite::track_saved(const std::string& url) {
  std::lock_guard lock(mutex_);
  if (std::find(saved_.begin(), saved_.end(), url) == saved_.end()) saved_.push_back(url);
}

void Suite::record_error(const Error& error, std::string_view where) {
  std::lock_guard lock(mutex_);
  errors_.push_back({error.code(), error.what(), std::string(where)});
}

std::vector<Suite::RecordedError> Suite::recorded_errors() const {
  std::lock_guard lock(mutex_);
  return errors_;
}

void Suite::note(const std::string& key, const std::string& text) {
  std::lock_guard lock(mutex_);
  auto [it, inserted] = notes_.try_emplace(key, text, 0u);
  ++it->second.second;
}

std::vector<std::string> Suite::notes() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [key, value] : notes_) {
    out.push_back(value.first + (value.second > 1 ? " (" + std::to_string(value.second) + " times)" : ""));
  }
  return out;
}

void Suite::teardown() {
  if (!manager_) return;
  if (loaded_ && has(capability::remove)) {
    std::vector<std::string> saved;
    {
      std::lock_guard lock(mutex_);
      saved.swap(saved_);
    }
    for (const auto& url : saved) {
      try {
        remove_model(url, {}, stores);
      } catch (const std::exception&) {
        // Already removed by a case, or never stored: cleanup is best effort.
      }
    }
  }
  manager_->finalize();
}

std::optional<Error> expect_error(Suite& suite, std::string_view what, std::initializer_list<ErrorCode> allowed,
                                  const std::function<void()>& fn) {
  std::string expected;
  for (ErrorCode c : allowed) expected += (expected.empty() ? "" : " or ") + std::string(to_string(c));
  if (expected.empty()) expected = "any code";
  try {
    fn();
  } catch (const Error& e) {
    suite.record_error(e, what);
    bool code_ok = allowed.size() == 0 || std::find(allowed.begin(), allowed.end(), e.code()) != allowed.end();
    BOOST_CHECK_MESSAGE(code_ok, what << ": expected Error(" << expected << "), got " << describe(e));
    BOOST_CHECK_MESSAGE(std::string_view(e.what()).find_first_not_of(" \t\r\n") != std::string_view::npos,
                        what << ": Error(" << to_string(e.code()) << ") has an empty message");
    return e;
  } catch (const std::exception& e) {
    BOOST_ERROR(what << ": expected modelport::Error(" << expected << "), but a " << typeid(e).name()
                     << " escaped: " << e.what());
    return std::nullopt;
  } catch (...) {
    BOOST_ERROR(what << ": expected modelport::Error(" << expected << "), but a non-std exception escaped");
    return std::nullopt;
  }
  BOOST_ERROR(what << ": expected modelport::Error(" << expected << "), but the call succeeded");
  return std::nullopt;
}

std::string describe(const Error& error) {
  std::string out = "Error(" + std::string(to_string(error.code())) + ")";
  if (const auto* plugin_error = dynamic_cast<const PluginError*>(&error)) {
    out += " at loader stage '" + std::string(to_string(plugin_error->stage())) + "'";
  }
  return out + ": " + error.what();
}

namespace {

// Runs a case body; an exception it did not expect becomes a failure that says which step
// raised it, and a modelport::Error is recorded for errors_have_messages. A failed
// BOOST_REQUIRE throws a type outside std::exception, which passes through to Boost.Test.
void run_case(Suite& suite, void (*body)(Suite&)) {
  suite.set_step("starting the case");
  try {
    body(suite);
  } catch (const Error& e) {
    suite.record_error(e, suite.step());
    BOOST_ERROR("unexpected " << describe(e) << " while " << suite.step());
  } catch (const std::exception& e) {
    BOOST_ERROR("unexpected " << typeid(e).name() << " while " << suite.step() << ": " << e.what()
                              << " (only modelport::Error may leave the core)");
  }
}

// Prints, after the run, how each case of a suite ended: Boost.Test's default report says only
// "No errors detected", which would hide skipped cases.
class SummaryObserver final : public ut::test_observer {
 public:
  SummaryObserver(std::shared_ptr<Suite> suite, ut::test_unit_id suite_id) : suite_(std::move(suite)), suite_id_(suite_id) {}

  void add_case(ut::test_unit_id id, std::string name) { cases_.emplace_back(id, std::move(name)); }

  void test_unit_skipped(ut::test_unit const& tu, ut::const_string reason) override {
    skip_reasons_[tu.p_id] = std::string(reason.begin(), reason.end());
  }

  void test_finish() override {
    unsigned passed = 0, failed = 0, skipped = 0, not_run = 0;
    std::ostringstream details;
    for (const auto& [id, name] : cases_) {
      const ut::test_results& r = ut::results_collector.results(id);
      auto reason = skip_reasons_.find(id);
      // Disabled means filtered out (--run_test): not run by request, not a skip of the kit's.
      if (!ut::framework::get(id, ut::TUT_CASE).is_enabled()) {
        ++not_run;
      } else if (reason != skip_reasons_.end() || r.skipped()) {
        ++skipped;
        details << "  SKIPPED " << name << ": "
                << (reason != skip_reasons_.end() ? reason->second : std::string("skipped")) << "\n";
      } else if (r.passed()) {
        ++passed;
      } else {
        ++failed;
        details << "  FAILED  " << name << "\n";
      }
    }
    if (passed + failed + skipped == 0) return;  // the suite was filtered out
    const Config& c = suite_->config();
    std::ostringstream out;
    out << "\nmodelport plugin conformance: " << c.plugin.string();
    if (const auto& info = suite_->inspected()) out << " (" << info->name << " " << info->version << ")";
    out << "\n  url base '" << c.url_base << "', tested capabilities '" << capabilities_text(c.capabilities) << "'\n"
        << "  " << passed << " passed, " << failed << " failed, " << skipped << " skipped";
    if (not_run) out << ", " << not_run << " not selected";
    out << " (of " << cases_.size() << " cases)\n" << details.str();
    auto notes = suite_->notes();
    if (!notes.empty()) {
      out << "  notes (not failures):\n";
      for (const auto& n : notes) out << "    - " << n << "\n";
    }
    std::cout << out.str() << std::flush;
  }

  int priority() override { return 1000; }  // after Boost.Test's own observers

 private:
  std::shared_ptr<Suite> suite_;
  ut::test_unit_id suite_id_;
  std::vector<std::pair<ut::test_unit_id, std::string>> cases_;
  std::map<ut::test_unit_id, std::string> skip_reasons_;
};

// Observers must outlive the run; Boost.Test keeps only pointers.
std::deque<SummaryObserver>& observers() {
  static std::deque<SummaryObserver> list;
  return list;
}

}  // namespace

}  // namespace detail

ut::test_suite* register_conformance_suite(const Config& config) {
  using namespace detail;
  auto suite = std::make_shared<Suite>(config);
  ut::test_suite* ts = BOOST_TEST_SUITE(config.suite_name.empty() ? std::string("conformance") : config.suite_name);
  // The suite's teardown shuts the plugin down (finalize), so its shutdown runs, and is checked
  // not to crash, inside the run.
  ts->p_fixtures.value.push_back(ut::test_unit_fixture_ptr(
      new ut::function_based_fixture(boost::function<void()>(), [suite] { suite->teardown(); })));
  ut::framework::master_test_suite().add(ts);

  SummaryObserver& observer = observers().emplace_back(suite, ts->p_id);
  ut::test_case* load = nullptr;
  for (const CaseDef& def : all_cases()) {
    auto body = def.body;
    ut::test_case* tc = ut::make_test_case([suite, body] { run_case(*suite, body); }, def.name, def.file, def.line);
    const std::uint32_t needs = def.needs;
    if (needs) {
      tc->add_precondition([suite, needs](ut::test_unit_id) -> boost::test_tools::assertion_result {
        std::string reason = suite->missing_capability_reason(needs);
        if (reason.empty()) return true;
        boost::test_tools::assertion_result result(false);
        result.message() << reason;
        return result;
      });
    }
    // Nothing can work when the plugin does not load; the dependency makes the rest report
    // "skipped because dependency load_plugin has failed" instead of repeating the load error.
    if (std::string_view(def.name) == "load_plugin") {
      load = tc;
    } else if (load) {
      tc->depends_on(load);
    }
    ts->add(tc);
    observer.add_case(tc->p_id, def.name);
  }
  ut::framework::register_observer(observer);
  return ts;
}

}  // namespace modelport::testkit
