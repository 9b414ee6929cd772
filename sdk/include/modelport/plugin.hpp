// The C++ side of the plugin SDK (header-only). Plugin authors write C++ classes; this header
// turns them into the C ABI of plugin_abi.h: trampolines catch every exception at the boundary,
// all memory the core sees is either copied by it or released through a callback into this
// plugin, and one macro emits the entry point.
//
// This header never includes a core header and a plugin never links the core: everything the
// plugin needs from the core comes through the host API table.
//
//   class MyPlugin : public modelport::sdk::Plugin {
//    public:
//     std::unique_ptr<modelport::sdk::Handler> create_handler(std::string_view url,
//                                                             const modelport::sdk::Context& ctx) override;
//   };
//   MODELPORT_PLUGIN(MyPlugin, "myscheme", "1.0.0",
//                    modelport::sdk::scheme("my://", MODELPORT_CAP_SAVE | MODELPORT_CAP_LOAD))
#pragma once

#include <modelport/plugin_abi.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#define MODELPORT_SDK_STRINGIFY_IMPL(x) #x
#define MODELPORT_SDK_STRINGIFY(x) MODELPORT_SDK_STRINGIFY_IMPL(x)

namespace modelport::sdk {

// Status codes, as in plugin_abi.h.
enum class Code : int {
  ok = MODELPORT_OK,
  not_found = MODELPORT_NOT_FOUND,
  invalid_argument = MODELPORT_INVALID_ARGUMENT,
  corrupt = MODELPORT_CORRUPT,
  quota_exceeded = MODELPORT_QUOTA_EXCEEDED,
  unavailable = MODELPORT_UNAVAILABLE,
  already_exists = MODELPORT_ALREADY_EXISTS,
  unimplemented = MODELPORT_UNIMPLEMENTED,
  permission_denied = MODELPORT_PERMISSION_DENIED,
  cancelled = MODELPORT_CANCELLED,
  internal = MODELPORT_INTERNAL,
};

// Throw this from plugin code: the trampolines turn it into a status with this code and text.
class Error : public std::runtime_error {
 public:
  Error(Code code, const std::string& message) : std::runtime_error(message), code_(code) {}
  Code code() const noexcept { return code_; }

 private:
  Code code_;
};

enum class Field : int {
  model_topology = MODELPORT_FIELD_MODEL_TOPOLOGY,
  weight_specs = MODELPORT_FIELD_WEIGHT_SPECS,
  training_config = MODELPORT_FIELD_TRAINING_CONFIG,
  format = MODELPORT_FIELD_FORMAT,
  generated_by = MODELPORT_FIELD_GENERATED_BY,
  converted_by = MODELPORT_FIELD_CONVERTED_BY,
  signature = MODELPORT_FIELD_SIGNATURE,
  user_defined_metadata = MODELPORT_FIELD_USER_DEFINED_METADATA,
  model_initializer = MODELPORT_FIELD_MODEL_INITIALIZER,
  initializer_signature = MODELPORT_FIELD_INITIALIZER_SIGNATURE,
  extra = MODELPORT_FIELD_EXTRA,
};

// ModelArtifactsInfo as a plugin reports it; unset byte counts are computed by the core.
struct ModelInfo {
  std::int64_t date_saved_ms = 0;
  std::string model_topology_type = "JSON";
  std::optional<std::int64_t> model_topology_bytes;
  std::optional<std::int64_t> weight_specs_bytes;
  std::optional<std::int64_t> weight_data_bytes;

  modelport_model_info to_c() const {
    modelport_model_info info{};
    info.struct_size = sizeof(info);
    info.date_saved_ms = date_saved_ms;
    info.model_topology_type = model_topology_type.c_str();
    info.model_topology_bytes = model_topology_bytes.value_or(-1);
    info.weight_specs_bytes = weight_specs_bytes.value_or(-1);
    info.weight_data_bytes = weight_data_bytes.value_or(-1);
    return info;
  }
};

namespace detail {

// Atomic: the entry point may run again (inspect, a second manager) while handlers of a loaded
// instance read these on other threads. Every writer stores the same values.
struct Globals {
  std::atomic<const modelport_host_api*> host{nullptr};
  std::atomic<const char*> plugin_name{""};
};
// One per plugin library: the header is compiled with hidden visibility into each plugin.
inline Globals& globals() {
  static Globals g;
  return g;
}
inline const modelport_host_api& host() {
  const modelport_host_api* h = globals().host;
  if (!h) throw Error(Code::internal, "the modelport host API is not available yet (called before the entry point)");
  return *h;
}

// A host call failed: the core has already recorded the message (in the status, or with the
// sink or context), so the trampoline must return the code without overwriting it.
struct HostFailure : Error {
  using Error::Error;
};

// The status of the plugin operation running on this thread, so that host services called from
// deep inside it can describe their failures there.
inline modelport_status*& current_status() {
  thread_local modelport_status* status = nullptr;
  return status;
}

// Runs fn; converts every exception into a status. Nothing escapes into the core.
template <class Fn>
int guarded(modelport_status* status, Fn&& fn) noexcept {
  struct StatusScope {
    modelport_status* saved;
    explicit StatusScope(modelport_status* s) : saved(current_status()) { current_status() = s; }
    ~StatusScope() { current_status() = saved; }
  } scope(status);
  const modelport_host_api* h = globals().host;
  auto report = [&](int code, const std::string& message) {
    return h ? h->status_set(status, code, message.c_str()) : code;
  };
  try {
    fn();
    return MODELPORT_OK;
  } catch (const HostFailure& e) {
    return static_cast<int>(e.code());
  } catch (const Error& e) {
    return report(static_cast<int>(e.code()), e.what());
  } catch (const std::bad_alloc&) {
    return report(MODELPORT_INTERNAL, std::string("plugin '") + globals().plugin_name.load() + "' ran out of memory");
  } catch (const std::exception& e) {
    return report(MODELPORT_INTERNAL, std::string("plugin '") + globals().plugin_name.load() + "' threw: " + e.what());
  } catch (...) {
    return report(MODELPORT_INTERNAL, std::string("plugin '") + globals().plugin_name.load() + "' threw an unknown exception");
  }
}

}  // namespace detail

// Logging through the host (it decides where messages go).
inline void log(int level, const std::string& message) noexcept {
  if (const auto* h = detail::globals().host.load()) h->log(level, detail::globals().plugin_name.load(), message.c_str());
}

// A JSON string literal of `text`, escaped exactly as JSON.stringify escapes (for assembling
// documents from the field texts by concatenation).
inline std::string json_quote(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size() + 2);
  out += '"';
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += ch;
        }
    }
  }
  out += '"';
  return out;
}

// ModelArtifactsInfo of a stored model.json, computed by the core exactly as TensorFlow.js does
// (weight_data_bytes is left unset: add the shard sizes yourself).
inline ModelInfo model_json_info(std::string_view json, const std::string& source) {
  modelport_model_info c{};
  c.struct_size = sizeof(c);
  int code = detail::host().model_json_info(json.data(), json.size(), source.c_str(), &c, detail::current_status());
  if (code != MODELPORT_OK) throw detail::HostFailure(static_cast<Code>(code), "cannot read model info from '" + source + "'");
  ModelInfo info;
  info.date_saved_ms = c.date_saved_ms;
  if (c.model_topology_bytes >= 0) info.model_topology_bytes = c.model_topology_bytes;
  if (c.weight_specs_bytes >= 0) info.weight_specs_bytes = c.weight_specs_bytes;
  return info;
}

// The options a handler was created with, and the caller's progress, cancellation and weight
// URL converter.
class Context {
 public:
  explicit Context(const modelport_request_options* options, std::string url = {})
      : options_(options), url_(std::move(url)) {}

  const std::string& url() const noexcept { return url_; }

  std::optional<std::string_view> option(std::string_view key) const {
    if (!options_) return std::nullopt;
    for (std::size_t i = 0; i < options_->option_count; ++i) {
      if (key == options_->options[i].key) return std::string_view(options_->options[i].value);
    }
    return std::nullopt;
  }
  std::vector<std::pair<std::string_view, std::string_view>> headers() const {
    std::vector<std::pair<std::string_view, std::string_view>> out;
    if (!options_) return out;
    for (std::size_t i = 0; i < options_->header_count; ++i) out.emplace_back(options_->headers[i].key, options_->headers[i].value);
    return out;
  }
  std::optional<std::string_view> method() const {
    return options_ && options_->method ? std::optional<std::string_view>(options_->method) : std::nullopt;
  }
  std::optional<std::string_view> weight_path_prefix() const {
    return options_ && options_->weight_path_prefix ? std::optional<std::string_view>(options_->weight_path_prefix)
                                                    : std::nullopt;
  }
  bool has_weight_url_converter() const noexcept { return options_ && options_->has_weight_url_converter; }

  std::string convert_weight_url(const std::string& manifest_path) const {
    std::string url;
    auto writer = [](void* out, const char* text, std::size_t size) { static_cast<std::string*>(out)->assign(text, size); };
    int code = detail::host().convert_weight_url(context(), manifest_path.c_str(), writer, &url, detail::current_status());
    if (code != MODELPORT_OK) {
      throw detail::HostFailure(static_cast<Code>(code), "the weight URL converter failed for '" + manifest_path + "'");
    }
    return url;
  }

  void progress(std::uint64_t done, std::optional<std::uint64_t> total, const std::string& current = {}) const {
    if (context()) {
      detail::host().report_progress(context(), done, total ? static_cast<std::int64_t>(*total) : -1, current.c_str());
    }
  }
  bool cancelled() const { return context() && detail::host().is_cancelled(context()); }
  void throw_if_cancelled(const std::string& what) const {
    if (cancelled()) throw Error(Code::cancelled, what + ": cancelled");
  }

  const modelport_request_options* raw() const noexcept { return options_; }

 private:
  modelport_call_context* context() const noexcept { return options_ ? options_->context : nullptr; }
  const modelport_request_options* options_;
  std::string url_;
};

// The model a save receives: every field as its compact JSON text (byte-exact JSON.stringify
// output, so documents can be assembled by concatenation), and the weight bytes.
//
// The weight bytes come either as chunks that all stay valid for the whole save, or (ABI v1.1,
// a streaming copy) as parts read one at a time from the source. for_each_chunk works for both
// and streams: a span is valid only during its call, so copy or write what you keep. Call it
// once per save (a streamed source cannot be rewound). weight_chunks() gives random access but,
// on a streamed save, first reads every part into memory: prefer for_each_chunk.
class ArtifactsView {
 public:
  explicit ArtifactsView(const modelport_artifacts_view* view, modelport_save_sink* sink = nullptr)
      : view_(view), sink_(sink) {}

  // The field's JSON text; nullopt when absent. An explicit null is "null".
  std::optional<std::string_view> field(Field f) const {
    const modelport_span& s = view_->fields[static_cast<int>(f)];
    if (!s.data) return std::nullopt;
    return std::string_view(static_cast<const char*>(s.data), s.size);
  }
  // JS `x == null`: absent or null.
  bool is_nullish(Field f) const {
    auto v = field(f);
    return !v || *v == "null";
  }
  bool topology_is_binary() const noexcept { return view_->topology_is_binary != 0; }
  bool has_weight_data() const noexcept { return view_->has_weight_data != 0; }
  std::uint64_t weight_data_size() const noexcept { return view_->weight_data_size; }
  // True when the weight bytes are read from the source while this save runs.
  bool weights_streamed() const noexcept { return streamed_raw(); }

  std::span<const modelport_span> weight_chunks() const {
    if (streamed_raw()) {
      if (!materialized_) {
        materialized_.emplace();
        for_each_streamed_part([&](std::span<const std::byte> part) {
          materialized_->storage.emplace_back(part.begin(), part.end());
        });
        for (const auto& bytes : materialized_->storage) materialized_->spans.push_back({bytes.data(), bytes.size()});
      }
      return materialized_->spans;
    }
    return {view_->weight_chunks, view_->weight_chunk_count};
  }
  // Calls fn(std::span<const std::byte>) for every non-empty piece of the weight bytes, in order.
  template <class Fn>
  void for_each_chunk(Fn&& fn) const {
    if (streamed_raw() && !materialized_) {
      for_each_streamed_part(fn);
      return;
    }
    for (const auto& c : weight_chunks()) {
      if (c.size) fn(std::span<const std::byte>(static_cast<const std::byte*>(c.data), c.size));
    }
  }
  const modelport_artifacts_view* raw() const noexcept { return view_; }

 private:
  bool streamed_raw() const noexcept {
    return view_->struct_size >= offsetof(modelport_artifacts_view, weights_streamed) + sizeof(uint32_t) &&
           view_->weights_streamed != 0;
  }
  template <class Fn>
  void for_each_streamed_part(Fn&& fn) const {
    const modelport_host_api& h = detail::host();
    if (!sink_ || h.struct_size < offsetof(modelport_host_api, save_next_weights) + sizeof(void*) || !h.save_next_weights) {
      throw Error(Code::internal, "the weights of this save are streamed but the core offers no way to read them");
    }
    if (consumed_) throw Error(Code::internal, "the streamed weights of a save can be read only once");
    consumed_ = true;
    std::uint64_t seen = 0;
    for (;;) {
      modelport_span part{};
      int code = h.save_next_weights(sink_, &part, detail::current_status());
      if (code != MODELPORT_OK) throw detail::HostFailure(static_cast<Code>(code), "reading the weights to save failed");
      if (!part.data || part.size == 0) break;
      seen += part.size;
      fn(std::span<const std::byte>(static_cast<const std::byte*>(part.data), part.size));
    }
    if (seen != weight_data_size()) {
      throw Error(Code::internal, "the streamed weights held " + std::to_string(seen) + " bytes, not the announced " +
                                      std::to_string(weight_data_size()));
    }
  }
  struct Materialized {
    std::vector<std::vector<std::byte>> storage;
    std::vector<modelport_span> spans;
  };
  const modelport_artifacts_view* view_;
  modelport_save_sink* sink_;
  mutable bool consumed_ = false;
  mutable std::optional<Materialized> materialized_;
};

// Where a load puts the model it read.
class LoadSink {
 public:
  LoadSink(modelport_load_sink* sink, modelport_status* status) : sink_(sink), status_(status) {}

  // Hands a whole model.json (or bare manifest) to the core, which parses it as TensorFlow.js
  // does; returns the manifest's shard paths in order.
  std::vector<std::string> set_model_json(std::string_view json, const std::string& source) {
    check(detail::host().load_set_model_json(sink_, json.data(), json.size(), source.c_str(), status_));
    std::vector<std::string> paths;
    std::size_t n = detail::host().load_shard_count(sink_);
    paths.reserve(n);
    for (std::size_t i = 0; i < n; ++i) paths.emplace_back(detail::host().load_shard_path(sink_, i));
    return paths;
  }
  void set_field(Field f, std::string_view json, const std::string& source) {
    check(detail::host().load_set_field(sink_, static_cast<int>(f), json.data(), json.size(), 0, source.c_str(), status_));
  }
  void set_binary_topology(std::span<const std::byte> bytes, const std::string& source) {
    check(detail::host().load_set_field(sink_, MODELPORT_FIELD_MODEL_TOPOLOGY, bytes.data(), bytes.size(), 1,
                                        source.c_str(), status_));
  }
  void append_copy(std::span<const std::byte> bytes) {
    check(detail::host().load_append_weights_copy(sink_, bytes.data(), bytes.size(), status_));
  }
  // The core keeps `bytes` without copying; `release` runs once when the last reference is gone
  // (possibly on another thread, possibly after this load returned).
  void append_owned(std::span<const std::byte> bytes, std::function<void()> release) {
    auto* holder = new std::function<void()>(std::move(release));
    auto trampoline = [](void* ctx) noexcept {
      auto* fn = static_cast<std::function<void()>*>(ctx);
      try {
        if (*fn) (*fn)();
      } catch (...) {
        // A release hook has nobody to report to; swallowing keeps the core alive.
      }
      delete fn;
    };
    int code = detail::host().load_append_weights_owned(sink_, bytes.data(), bytes.size(), trampoline, holder, status_);
    if (code != MODELPORT_OK) {
      // The core did not take ownership, so the memory is still ours to release.
      trampoline(holder);
      check(code);
    }
  }
  // True when this load feeds a streaming copy (ABI v1.1): shards appended with append_deferred
  // are then read one at a time while the copy is saved, instead of all during the load.
  bool deferred_allowed() const {
    const modelport_host_api& h = detail::host();
    return has_deferred(h) && h.load_deferred_allowed(sink_) != 0;
  }
  // Appends `size` weight bytes that fill(dest) writes (exactly dest.size() bytes) when the core
  // needs them. fill may run on another thread after this load returned and the handler is gone,
  // so it must own what it uses (capture shared state, open files, a snapshot). Fills of one load
  // never run at the same time. Where deferral is not allowed (an ordinary load, or an older
  // core), fill runs now, into a core-owned buffer.
  void append_deferred(std::uint64_t size, std::function<void(std::span<std::byte>)> fill) {
    const modelport_host_api& h = detail::host();
    if (!has_deferred(h)) {
      if (size > SIZE_MAX) throw Error(Code::invalid_argument, "a weight shard is larger than this process can address");
      std::span<std::byte> out = append_alloc(static_cast<std::size_t>(size));
      fill(out);
      return;
    }
    using Fill = std::function<void(std::span<std::byte>)>;
    auto* holder = new Fill(std::move(fill));
    auto fill_trampoline = [](void* ctx, void* dest, uint64_t n, modelport_status* status) noexcept -> int {
      return detail::guarded(status, [&] {
        (*static_cast<Fill*>(ctx))(std::span<std::byte>(static_cast<std::byte*>(dest), static_cast<std::size_t>(n)));
      });
    };
    auto release_trampoline = [](void* ctx) noexcept { delete static_cast<Fill*>(ctx); };
    int code = h.load_append_weights_deferred(sink_, size, fill_trampoline, release_trampoline, holder, status_);
    if (code != MODELPORT_OK) {
      release_trampoline(holder);
      check(code);
    }
  }
  // As append_deferred, for bytes that already sit in memory of this plugin once it is asked for
  // them (a mapping of the stored file): produce() returns them with the hook that frees them,
  // and the core reads them there instead of copying them into a buffer of its own.
  struct OwnedBytes {
    std::span<const std::byte> bytes;
    std::function<void()> release;
  };
  void append_deferred_owned(std::uint64_t size, std::function<OwnedBytes()> produce) {
    const modelport_host_api& h = detail::host();
    if (!has_deferred_owned(h) || !deferred_allowed()) {
      OwnedBytes now = produce();
      if (now.bytes.size() != size) {
        if (now.release) now.release();
        throw Error(Code::internal, "a deferred weight shard produced " + std::to_string(now.bytes.size()) +
                                        " bytes, not the announced " + std::to_string(size));
      }
      append_owned(now.bytes, std::move(now.release));
      return;
    }
    using Produce = std::function<OwnedBytes()>;
    using Release = std::function<void()>;
    auto* holder = new Produce(std::move(produce));
    auto produce_trampoline = [](void* ctx, modelport_span* out, void (**bytes_release)(void*), void** bytes_context,
                                 modelport_status* status) noexcept -> int {
      return detail::guarded(status, [&] {
        OwnedBytes got = (*static_cast<Produce*>(ctx))();
        auto* release = new Release(std::move(got.release));
        *out = modelport_span{got.bytes.data(), got.bytes.size()};
        *bytes_context = release;
        *bytes_release = [](void* c) noexcept {
          auto* fn = static_cast<Release*>(c);
          try {
            if (*fn) (*fn)();
          } catch (...) {
            // A release hook has nobody to report to.
          }
          delete fn;
        };
      });
    };
    auto release_trampoline = [](void* ctx) noexcept { delete static_cast<Produce*>(ctx); };
    int code = h.load_append_weights_deferred_owned(sink_, size, produce_trampoline, release_trampoline, holder, status_);
    if (code != MODELPORT_OK) {
      release_trampoline(holder);
      check(code);
    }
  }
  // Starts the next stored shard: what is appended until the next call belongs to it (ABI 1.1;
  // a no-op for an older core). Needed only when one stored file goes over in several pieces.
  void begin_shard() {
    const modelport_host_api& h = detail::host();
    if (h.struct_size >= offsetof(modelport_host_api, load_begin_shard) + sizeof(void*) && h.load_begin_shard) {
      h.load_begin_shard(sink_);
    }
  }
  // A core-owned chunk to fill in place (valid until the load returns).
  std::span<std::byte> append_alloc(std::size_t size) {
    void* p = detail::host().load_append_weights_alloc(sink_, size, status_);
    if (!p && size) throw detail::HostFailure(Code::internal, "allocation refused by the core");
    return {static_cast<std::byte*>(p), size};
  }

 private:
  static bool has_deferred_owned(const modelport_host_api& h) {
    return h.struct_size >= offsetof(modelport_host_api, load_append_weights_deferred_owned) + sizeof(void*) &&
           h.load_append_weights_deferred_owned;
  }
  static bool has_deferred(const modelport_host_api& h) {
    return h.struct_size >= offsetof(modelport_host_api, load_append_weights_deferred) + sizeof(void*) &&
           h.load_deferred_allowed && h.load_append_weights_deferred;
  }
  // The host has set the status already; HostFailure makes the trampoline return its code as is.
  static void check(int code) {
    if (code != MODELPORT_OK) throw detail::HostFailure(static_cast<Code>(code), "rejected by the modelport core");
  }
  modelport_load_sink* sink_;
  modelport_status* status_;
};

class SaveResult {
 public:
  explicit SaveResult(modelport_save_sink* sink) : sink_(sink) {}
  void set_info(const ModelInfo& info) {
    modelport_model_info c = info.to_c();
    detail::host().save_set_info(sink_, &c);
  }
  void add_response(std::string_view json) { detail::host().save_add_response(sink_, json.data(), json.size()); }

 private:
  modelport_save_sink* sink_;
};

class ListSink {
 public:
  explicit ListSink(modelport_list_sink* sink) : sink_(sink) {}
  void add(const std::string& model_path, const ModelInfo& info) {
    modelport_model_info c = info.to_c();
    detail::host().list_add(sink_, model_path.c_str(), &c);
  }

 private:
  modelport_list_sink* sink_;
};

// One model at one URL.
class Handler {
 public:
  virtual ~Handler() = default;
  virtual void save(const ArtifactsView&, SaveResult&) {
    throw Error(Code::unimplemented, "this scheme cannot save");
  }
  virtual void load(LoadSink&) { throw Error(Code::unimplemented, "this scheme cannot load"); }
};

// The plugin: created once by init (never by a static constructor), destroyed by shutdown.
class Plugin {
 public:
  virtual ~Plugin() = default;
  // A handler for `url`, which starts with one of the plugin's prefixes.
  virtual std::unique_ptr<Handler> create_handler(const std::string& url, const Context& context) = 0;
  virtual void list_models(const std::string& url, const Context&, ListSink&) {
    throw Error(Code::unimplemented, "listing models is not supported for '" + url + "'");
  }
  virtual ModelInfo remove_model(const std::string& url, const Context&) {
    throw Error(Code::unimplemented, "removing models is not supported for '" + url + "'");
  }
};

struct SchemeDecl {
  const char* prefix;
  std::uint32_t capabilities;
};
constexpr SchemeDecl scheme(const char* prefix, std::uint32_t capabilities) { return {prefix, capabilities}; }

namespace detail {

inline const char* build_info() {
  return "compiler="
#if defined(__clang__)
         "clang " __clang_version__
#elif defined(__GNUC__)
         "gcc " __VERSION__
#else
         "unknown"
#endif
         " stdlib="
#if defined(_LIBCPP_VERSION)
         "libc++"
#elif defined(__GLIBCXX__)
         "libstdc++"
#else
         "unknown"
#endif
         " cxx=" MODELPORT_SDK_STRINGIFY(__cplusplus);
}

struct HandlerBox {
  std::unique_ptr<Handler> handler;
};

inline void destroy_handler(modelport_handler* h) noexcept {
  delete static_cast<HandlerBox*>(h->impl);
  h->impl = nullptr;
}

inline int save_handler(modelport_handler* h, const modelport_artifacts_view* view, modelport_save_sink* out,
                        modelport_status* status) noexcept {
  return guarded(status, [&] {
    ArtifactsView artifacts(view, out);
    SaveResult result(out);
    static_cast<HandlerBox*>(h->impl)->handler->save(artifacts, result);
  });
}

inline int load_handler(modelport_handler* h, modelport_load_sink* out, modelport_status* status) noexcept {
  return guarded(status, [&] {
    LoadSink sink(out, status);
    static_cast<HandlerBox*>(h->impl)->handler->load(sink);
  });
}

inline const modelport_handler_ops* handler_ops() {
  static const modelport_handler_ops ops = {sizeof(modelport_handler_ops), &destroy_handler, &save_handler, &load_handler};
  return &ops;
}

template <class P>
int init_plugin(void** state, const modelport_host_api* host, modelport_status* status) noexcept {
  globals().host.store(host);
  return guarded(status, [&] { *state = static_cast<Plugin*>(new P()); });
}

inline void shutdown_plugin(void* state) noexcept { delete static_cast<Plugin*>(state); }

inline int create_handler(void* state, const char* url, const modelport_request_options* options,
                          modelport_handler* out, modelport_status* status) noexcept {
  return guarded(status, [&] {
    Context context(options, url);
    auto handler = static_cast<Plugin*>(state)->create_handler(url, context);
    if (!handler) throw Error(Code::internal, std::string("plugin returned no handler for '") + url + "'");
    out->impl = new HandlerBox{std::move(handler)};
  });
}

inline int list_models(void* state, const char* url, const modelport_request_options* options, modelport_list_sink* out,
                       modelport_status* status) noexcept {
  return guarded(status, [&] {
    Context context(options, url);
    ListSink sink(out);
    static_cast<Plugin*>(state)->list_models(url, context, sink);
  });
}

inline int remove_model(void* state, const char* url, const modelport_request_options* options, modelport_info_sink* out,
                        modelport_status* status) noexcept {
  return guarded(status, [&] {
    Context context(options, url);
    ModelInfo info = static_cast<Plugin*>(state)->remove_model(url, context);
    modelport_model_info c = info.to_c();
    host().info_set(out, &c);
  });
}

template <class P>
int describe(const modelport_host_api* host, const modelport_plugin_descriptor** out, const char* name,
             const char* version, std::initializer_list<SchemeDecl> decls) noexcept {
  // Static storage, built on the first call: the descriptor must outlive the call and the entry
  // must give the same answer every time.
  static const std::vector<modelport_scheme_descriptor> schemes = [&] {
    std::vector<modelport_scheme_descriptor> v;
    for (const auto& d : decls) {
      modelport_scheme_descriptor s{};
      s.struct_size = sizeof(s);
      s.prefix = d.prefix;
      s.capabilities = d.capabilities;
      s.handler_ops = handler_ops();
      s.create_handler = &create_handler;
      s.list_models = (d.capabilities & MODELPORT_CAP_LIST) ? &list_models : nullptr;
      s.remove_model = (d.capabilities & MODELPORT_CAP_REMOVE) ? &remove_model : nullptr;
      v.push_back(s);
    }
    return v;
  }();
  static const modelport_plugin_descriptor descriptor = [&] {
    modelport_plugin_descriptor d{};
    modelport_set_version_metadata(&d);
    d.plugin_name = name;
    d.plugin_version = version;
    d.build_info = build_info();
    d.schemes = schemes.data();
    d.scheme_count = schemes.size();
    d.init = &init_plugin<P>;
    d.shutdown = &shutdown_plugin;
    return d;
  }();
  if (host) globals().host.store(host);
  globals().plugin_name.store(name);
  *out = &descriptor;
  return MODELPORT_OK;
}

}  // namespace detail

}  // namespace modelport::sdk

// Emits the plugin's one exported symbol. PluginClass derives from modelport::sdk::Plugin;
// the variadic part lists modelport::sdk::scheme(prefix, capabilities) declarations.
#define MODELPORT_PLUGIN(PluginClass, name, version, ...)                                                  \
  extern "C" MODELPORT_PLUGIN_EXPORT int modelport_plugin_entry_v1(                                        \
      const modelport_host_api* host, const modelport_plugin_descriptor** out, modelport_status* status) { \
    (void)status;                                                                                          \
    return ::modelport::sdk::detail::describe<PluginClass>(host, out, name, version, {__VA_ARGS__});        \
  }
