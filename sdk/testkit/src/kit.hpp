// Internal to the conformance kit: the state the cases share, and their helpers.
#pragma once

#include <modelport/testkit/conformance.hpp>

#include <modelport/error.hpp>
#include <modelport/model_artifacts.hpp>
#include <modelport/model_management.hpp>
#include <modelport/plugins.hpp>
#include <modelport/router_registry.hpp>

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace modelport::testkit::detail {

// Everything the cases of one registered suite share. The cases run one after another on the
// Boost.Test thread; only the concurrency case calls in from other threads, and it goes through
// the locked members (record_error, track_saved, unique_name).
class Suite {
 public:
  explicit Suite(Config config);
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;

  // --- resolved configuration ---
  const Config& config() const noexcept { return config_; }
  const std::string& url_base() const noexcept { return config_.url_base; }
  // The scheme prefix url_base belongs to ("memstore://"); empty when inspection failed.
  const std::string& prefix() const noexcept { return prefix_; }
  std::uint32_t capabilities() const noexcept { return config_.capabilities; }
  std::uint32_t plugin_capabilities() const noexcept { return plugin_capabilities_; }
  bool has(std::uint32_t caps) const noexcept { return (config_.capabilities & caps) == caps; }
  std::uint64_t weight_budget(std::uint64_t wanted) const noexcept;
  // Why the configuration does not fit the plugin (checked by the handshake case); empty if it does.
  const std::string& config_error() const noexcept { return config_error_; }
  const std::optional<PluginInfo>& inspected() const noexcept { return inspected_; }
  const std::string& inspect_error() const noexcept { return inspect_error_; }
  // Why a case needing `caps` cannot run; empty when it can.
  std::string missing_capability_reason(std::uint32_t caps) const;

  // --- the plugin, loaded through the production loader into this suite's registries ---
  RouterRegistry routers;
  ModelStoreRegistry stores;
  // Loads the plugin on first use; every later call rethrows the first failure.
  PluginInfo ensure_loaded();
  PluginManager* manager() noexcept { return manager_.get(); }

  // --- bookkeeping ---
  std::string unique_name(std::string_view what);  // distinct per call and per run
  std::string url(std::string_view name) const { return config_.url_base + std::string(name); }
  void track_saved(const std::string& url);
  void record_error(const Error& error, std::string_view where);
  struct RecordedError {
    ErrorCode code;
    std::string message;
    std::string where;
  };
  std::vector<RecordedError> recorded_errors() const;
  // Things that are allowed but worth a plugin author's attention; printed in the summary.
  void note(const std::string& key, const std::string& text);
  std::vector<std::string> notes() const;

  // End of the suite: removes what the suite saved (when removal is tested) and calls finalize,
  // which runs the plugin's shutdown.
  void teardown();

  // Step descriptions for failure messages ("saving 'memstore://x'").
  void set_step(std::string step) { step_ = std::move(step); }
  const std::string& step() const noexcept { return step_; }

 private:
  Config config_;
  std::string prefix_;
  std::uint32_t plugin_capabilities_ = 0;
  std::string config_error_;
  std::optional<PluginInfo> inspected_;
  std::string inspect_error_;

  std::unique_ptr<PluginManager> manager_;
  std::optional<PluginInfo> loaded_;
  std::string load_error_;
  bool load_attempted_ = false;

  mutable std::mutex mutex_;
  std::string run_tag_;
  std::atomic<unsigned> counter_{0};
  std::vector<std::string> saved_;
  std::vector<RecordedError> errors_;
  std::map<std::string, std::pair<std::string, unsigned>> notes_;  // key -> (text, count)
  std::string step_;
};

// Runs `fn`, which must fail with a modelport::Error whose code is one of `allowed` (any code
// when empty) and whose message is not empty. Returns the error (nullopt when it did not throw
// one). Any other exception type is a failure: it means something escaped the plugin or the
// core un-translated.
std::optional<Error> expect_error(Suite& suite, std::string_view what, std::initializer_list<ErrorCode> allowed,
                                  const std::function<void()>& fn);

// "code: message" of an error, for failure messages.
std::string describe(const Error& error);

// --- artifacts (artifacts.cpp) ---

// A small Layers topology whose config.name is `name`, with strings that exercise JSON escaping.
boost::json::value make_topology(std::string_view name);
// `size` deterministic pseudo-random bytes derived from `seed`, in buffers of `buffer_size` bytes
// (the last one takes the rest; 0: a single buffer).
WeightData make_weight_data(std::uint64_t size, std::uint64_t seed, std::uint64_t buffer_size = 0);
void fill_bytes(std::span<std::byte> out, std::uint64_t seed);
// Parses weight specs from JSON text (the kit's fixtures are written as JSON, in file key order).
std::vector<WeightSpec> specs_from_text(std::string_view json_text);
// Topology, two dense weights (36 bytes) and every metadata field left absent.
ModelArtifacts make_model(std::string_view name, std::uint64_t seed);
// Specs describing `bytes` bytes of float32 (and bool for a remainder that is not a multiple of 4).
std::vector<WeightSpec> specs_for_bytes(std::string_view prefix, std::uint64_t bytes);

// Field-by-field comparison, stricter than modelport::same_model (which the cases check too):
// JSON is compared as JS JSON.stringify text, so key order and unknown keys count; weight specs
// entry by entry as text (quantization details, groups, unknown keys); weight bytes exactly, and
// whether weight data and specs are present at all; unknown top-level keys. Null versus absent
// follows what TensorFlow.js stores guarantee (documented at the null_and_absent_fields case):
// an explicit null of format/generatedBy/convertedBy stays null, any other null may come back
// absent, and an absent field must not come back with a value (coming back null is a note).
// Returns what differs, one line each; notes go to `notes` when given.
std::vector<std::string> differences(const ModelArtifacts& saved, const ModelArtifacts& loaded,
                                     std::vector<std::string>* notes = nullptr);

// The cases, in registration order (cases.cpp). `needs` is the capabilities a case requires.
struct CaseDef {
  const char* name;
  std::uint32_t needs;
  void (*body)(Suite&);
  const char* file;
  std::size_t line;
};
std::span<const CaseDef> all_cases();

}  // namespace modelport::testkit::detail
