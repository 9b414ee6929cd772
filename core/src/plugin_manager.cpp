// Loading scheme plugins through Boost.DLL, validating them against the C ABI, and serving
// their prefixes through the router and model store registries.
#define BOOST_DLL_USE_STD_FS 1

#include "plugin_descriptor.hpp"
#include "plugin_host_api.hpp"

#include <modelport/error.hpp>
#include <modelport/plugins.hpp>
#include <modelport/weights_codec.hpp>

#include <boost/dll/shared_library.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>
#include <mutex>
#include <regex>
#include <shared_mutex>
#include <sstream>

#ifndef MODELPORT_INSTALL_PLUGIN_DIR
#define MODELPORT_INSTALL_PLUGIN_DIR ""
#endif

namespace modelport {

namespace fs = std::filesystem;

std::string_view to_string(PluginStage stage) noexcept {
  switch (stage) {
    case PluginStage::find: return "find";
    case PluginStage::open: return "open";
    case PluginStage::entry: return "entry";
    case PluginStage::handshake: return "handshake";
    case PluginStage::validate: return "validate";
    case PluginStage::init: return "init";
    case PluginStage::register_prefix: return "register";
  }
  return "unknown";
}

PluginError::PluginError(ErrorCode code, PluginStage stage, fs::path path, const std::string& message,
                         std::string loader_text)
    : Error(code, message), stage_(stage), path_(std::move(path)), loader_text_(std::move(loader_text)) {}

std::string capabilities_text(std::uint32_t caps) {
  std::string out;
  auto add = [&](std::uint32_t bit, const char* name) {
    if (caps & bit) out += (out.empty() ? "" : ",") + std::string(name);
  };
  add(capability::save, "save");
  add(capability::load, "load");
  add(capability::list, "list");
  add(capability::remove, "remove");
  add(capability::save_streamed, "save-streamed");
  return out;
}

namespace {

ErrorCode error_code_of(int status) {
  switch (status) {
    case MODELPORT_NOT_FOUND: return ErrorCode::not_found;
    case MODELPORT_INVALID_ARGUMENT: return ErrorCode::invalid_argument;
    case MODELPORT_CORRUPT: return ErrorCode::corrupt;
    case MODELPORT_QUOTA_EXCEEDED: return ErrorCode::quota_exceeded;
    case MODELPORT_UNAVAILABLE: return ErrorCode::unavailable;
    case MODELPORT_ALREADY_EXISTS: return ErrorCode::already_exists;
    case MODELPORT_UNIMPLEMENTED: return ErrorCode::unimplemented;
    case MODELPORT_PERMISSION_DENIED: return ErrorCode::permission_denied;
    case MODELPORT_CANCELLED: return ErrorCode::cancelled;
    default: return ErrorCode::internal;
  }
}

// Libraries stay loaded for the life of the process: code of theirs may run until exit (release
// hooks of buffers, threads they started), and unloading would turn that into a crash.
std::vector<boost::dll::shared_library>& resident_libraries() {
  static auto* libraries = new std::vector<boost::dll::shared_library>();
  return *libraries;
}
std::mutex& loader_mutex() {  // dlopen is not safe to call concurrently everywhere
  static std::mutex m;
  return m;
}

struct LoadedPlugin {
  boost::dll::shared_library library;
  PluginInfo info;
  modelport_plugin_descriptor descriptor{};
  std::vector<modelport_scheme_descriptor> schemes;  // core copies, zero-filled past struct_size
  std::vector<modelport_handler_ops> ops;
  void* state = nullptr;
  bool initialized = false;
  bool shut_down = false;
  std::shared_mutex calls;  // shared while a call runs; finalize takes it exclusively
};

using PluginPtr = std::shared_ptr<LoadedPlugin>;

// Copies a plugin-owned struct into a zeroed core struct: an older plugin's missing tail stays
// zero, a newer plugin's extra tail is ignored (TensorFlow's CopyToCore).
template <class T>
T copy_to_core(const T* from) {
  T to{};
  std::uint32_t size = 0;
  std::memcpy(&size, from, sizeof size);  // every ABI struct starts with struct_size
  std::memcpy(&to, from, std::min<std::size_t>(size, sizeof(T)));
  to.struct_size = static_cast<std::uint32_t>(sizeof(T));
  return to;
}

std::string describe(const PluginInfo& info) {
  return "'" + info.path.string() + "' (" + info.name + " " + info.version + ")";
}

// Owns copies of the caller's options in the C layout the plugin sees.
struct RequestOptions {
  LoadOptions load;  // the common part serves save handlers too
  bool is_load = false;
  std::vector<std::pair<std::string, std::string>> option_strings;
  std::vector<modelport_option> options;
  std::vector<modelport_option> headers;
  modelport_call_context context;
  modelport_request_options c{};

  RequestOptions(const CommonOptions& common, const LoadOptions* load_options) {
    if (load_options) {
      load = *load_options;
      is_load = true;
    } else {
      static_cast<CommonOptions&>(load) = common;
    }
    for (const auto& [k, v] : load.plugin_options) options.push_back({k.c_str(), v.c_str()});
    for (const auto& [k, v] : load.headers) headers.push_back({k.c_str(), v.c_str()});
    context.common = &load;
    context.load = is_load ? &load : nullptr;
    c.struct_size = sizeof(c);
    c.options = options.data();
    c.option_count = options.size();
    c.headers = headers.data();
    c.header_count = headers.size();
    c.method = load.method ? load.method->c_str() : nullptr;
    c.weight_path_prefix = is_load && load.weight_path_prefix ? load.weight_path_prefix->c_str() : nullptr;
    c.has_weight_url_converter = is_load && load.weight_url_converter ? 1 : 0;
    c.context = &context;
  }
  RequestOptions(const RequestOptions&) = delete;
  RequestOptions& operator=(const RequestOptions&) = delete;
};

[[noreturn]] void throw_call_failure(const LoadedPlugin& plugin, int code, const modelport_status& status,
                                     const std::string& recorded, const std::string& what) {
  std::string message = !status.message.empty() ? status.message
                        : !recorded.empty()     ? recorded
                                                : "plugin '" + plugin.info.name + "' failed to " + what +
                                                      " without giving a reason (status " + std::to_string(code) + ")";
  throw Error(error_code_of(code == MODELPORT_OK ? MODELPORT_INTERNAL : code), message);
}

class PluginCallGuard {
 public:
  PluginCallGuard(LoadedPlugin& plugin, std::string_view url) : lock_(plugin.calls) {
    if (plugin.shut_down) {
      throw Error(ErrorCode::unavailable, "plugin '" + plugin.info.name + "' has been shut down (finalize); cannot use '" +
                                              std::string(url) + "'");
    }
  }

 private:
  std::shared_lock<std::shared_mutex> lock_;
};

// The weights of a streamed plugin load: parts in hand are passed on (and dropped), deferred
// shards are filled by the plugin when their turn comes.
class PluginWeightStream final : public WeightStream {
 public:
  PluginWeightStream(PluginPtr plugin, std::string url, std::vector<detail::StreamPart> parts,
                     std::vector<std::uint64_t> sizes, std::vector<std::uint64_t> shard_sizes)
      : WeightStream(std::move(sizes), url, std::move(shard_sizes)), plugin_(std::move(plugin)), url_(std::move(url)), parts_(std::move(parts)) {}

 protected:
  Buffer read_part(std::size_t index) override {
    detail::StreamPart part = std::move(parts_[index]);
    if (!part.deferred) return std::move(part.bytes);
    modelport_status status;
    Buffer bytes;
    int code = MODELPORT_OK;
    {
      PluginCallGuard guard(*plugin_, url_);
      code = part.deferred->read(part.size, &status, bytes);
    }
    part.deferred.reset();  // releases the plugin's context now, not at the end of the copy
    if (code != MODELPORT_OK) {
      throw_call_failure(*plugin_, code, status, {}, "read weight shard " + std::to_string(index + 1) + " of '" + url_ + "'");
    }
    return bytes;
  }

 private:
  PluginPtr plugin_;
  std::string url_;
  std::vector<detail::StreamPart> parts_;
};

class PluginHandler final : public IOHandler {
 public:
  PluginHandler(PluginPtr plugin, std::size_t scheme, std::string url, std::unique_ptr<RequestOptions> options)
      : plugin_(std::move(plugin)), scheme_(scheme), url_(std::move(url)), options_(std::move(options)) {
    const modelport_scheme_descriptor& s = plugin_->schemes[scheme_];
    PluginCallGuard guard(*plugin_, url_);
    modelport_status status;
    int code = s.create_handler(plugin_->state, url_.c_str(), &options_->c, &handle_, &status);
    if (code != MODELPORT_OK) throw_call_failure(*plugin_, code, status, options_->context.first_error, "open '" + url_ + "'");
  }
  ~PluginHandler() override {
    std::shared_lock lock(plugin_->calls);
    if (!plugin_->shut_down && handle_.impl) plugin_->ops[scheme_].destroy(&handle_);
  }

  bool can_save() const noexcept override { return (plugin_->schemes[scheme_].capabilities & MODELPORT_CAP_SAVE) != 0; }
  bool can_load() const noexcept override { return (plugin_->schemes[scheme_].capabilities & MODELPORT_CAP_LOAD) != 0; }

  SaveResult save(const ModelArtifacts& artifacts) override {
    if (!can_save()) return IOHandler::save(artifacts);
    detail::ArtifactsViewStorage view;
    detail::fill_view(artifacts, view);
    modelport_save_sink sink;
    call_save(view, sink);
    return save_result(artifacts, sink, std::nullopt);
  }

  SaveResult save_streamed(const ModelArtifacts& artifacts, WeightStream* weights) override {
    // Plugins built against ABI 1.0 know only whole-model views.
    // Only schemes that declare they read streamed views get one (a saver written for ABI 1.0
    // may keep spans until it is done).
    const bool streams = (plugin_->schemes[scheme_].capabilities & MODELPORT_CAP_SAVE_STREAMED) && plugin_->info.abi_minor >= 1;
    if (!can_save() || !weights || !streams) return IOHandler::save_streamed(artifacts, weights);
    ModelArtifacts meta = artifacts;
    meta.weight_data.reset();
    detail::ArtifactsViewStorage view;
    detail::fill_view(meta, view);
    view.view.has_weight_data = 1;
    view.view.weight_data_size = weights->size();
    view.view.weights_streamed = 1;
    view.view.weight_chunks = nullptr;
    view.view.weight_chunk_count = 0;
    modelport_save_sink sink;
    sink.stream = weights;
    call_save(view, sink);
    if (weights->parts_read() != weights->part_sizes().size()) {
      // The plugin committed without reading every byte (the SDK never does; plugin_abi.h asks
      // a saver to read to the end before committing): what it stored is not the model.
      throw Error(ErrorCode::internal, "plugin '" + plugin_->info.name + "' saved '" + url_ + "' after reading only " +
                                           std::to_string(weights->parts_read()) + " of " +
                                           std::to_string(weights->part_sizes().size()) +
                                           " weight parts: the model stored there is incomplete");
    }
    return save_result(meta, sink, weights->size());
  }

  ModelArtifacts load() override {
    if (!can_load()) return IOHandler::load();
    modelport_load_sink sink;
    call_load(sink);
    if (sink.has_weights) {
      // A plugin that hands over one buffer per manifest path gets every group checked against
      // its shards here, with the shard names in the error, before anything is decoded.
      if (sink.manifest) check_group_sizes(*sink.manifest, sink.weights.buffers(), url_);
      sink.artifacts.weight_data = std::move(sink.weights);
    }
    return std::move(sink.artifacts);
  }

  StreamedModel load_streamed() override {
    if (!can_load()) return IOHandler::load_streamed();
    modelport_load_sink sink;
    sink.allow_deferred = true;
    call_load(sink);
    StreamedModel model;
    if (sink.has_weights) {
      std::vector<std::uint64_t> sizes;
      sizes.reserve(sink.stream_parts.size());
      for (const auto& part : sink.stream_parts) sizes.push_back(part.size);
      if (!sink.shards_marked) sink.shard_sizes.clear();
      if (sink.manifest) check_group_sizes(*sink.manifest, sink.shards_marked ? sink.shard_sizes : sizes, url_);
      model.weights = std::make_unique<PluginWeightStream>(plugin_, url_, std::move(sink.stream_parts), std::move(sizes),
                                                           std::move(sink.shard_sizes));
    }
    model.artifacts = std::move(sink.artifacts);
    return model;
  }

 private:
  void call_save(detail::ArtifactsViewStorage& view, modelport_save_sink& sink) {
    modelport_status status;
    PluginCallGuard guard(*plugin_, url_);
    int code = plugin_->ops[scheme_].save(&handle_, &view.view, &sink, &status);
    if (code == MODELPORT_OK) return;
    // A save that failed because its source did: the source's own error, as it was thrown.
    if (sink.stream_failure) std::rethrow_exception(sink.stream_failure);
    throw_call_failure(*plugin_, code, status, options_->context.first_error, "save '" + url_ + "'");
  }

  // SaveResult of a save of `artifacts` (plus `streamed_bytes` of streamed weights).
  static SaveResult save_result(const ModelArtifacts& artifacts, const modelport_save_sink& sink,
                                std::optional<std::uint64_t> streamed_bytes) {
    SaveResult result;
    // Byte counts the plugin left unset come from the core, computed as TensorFlow.js does.
    if (artifacts.has_binary_topology()) {
      // tfjs's info cannot describe a GraphDef topology; count its raw bytes instead.
      ModelArtifacts rest = artifacts;
      const std::size_t raw = std::get<Buffer>(*artifacts.model_topology).size();
      rest.model_topology.reset();
      result.model_artifacts_info = get_model_artifacts_info(rest);
      result.model_artifacts_info.model_topology_type = "GraphDef";
      result.model_artifacts_info.model_topology_bytes = raw;
    } else {
      result.model_artifacts_info = get_model_artifacts_info(artifacts);
    }
    if (streamed_bytes) result.model_artifacts_info.weight_data_bytes = *streamed_bytes;
    if (sink.info) {
      ModelArtifactsInfo& info = result.model_artifacts_info;
      info.date_saved = sink.info->date_saved;
      info.model_topology_type = sink.info->model_topology_type;
      if (sink.info->model_topology_bytes) info.model_topology_bytes = sink.info->model_topology_bytes;
      if (sink.info->weight_specs_bytes) info.weight_specs_bytes = sink.info->weight_specs_bytes;
      if (sink.info->weight_data_bytes) info.weight_data_bytes = sink.info->weight_data_bytes;
    }
    result.responses = sink.responses;
    return result;
  }

  void call_load(modelport_load_sink& sink) {
    sink.pin = std::shared_ptr<const void>(plugin_, plugin_.get());
    modelport_status status;
    {
      PluginCallGuard guard(*plugin_, url_);
      int code = plugin_->ops[scheme_].load(&handle_, &sink, &status);
      if (code != MODELPORT_OK) {
        std::string recorded = !sink.first_error.empty() ? sink.first_error : options_->context.first_error;
        throw_call_failure(*plugin_, code, status, recorded, "load '" + url_ + "'");
      }
    }
    if (!sink.any_field && !sink.has_weights) {
      throw Error(ErrorCode::internal, "plugin '" + plugin_->info.name + "' returned OK for '" + url_ + "' without a model");
    }
  }

  PluginPtr plugin_;
  std::size_t scheme_;
  std::string url_;
  std::unique_ptr<RequestOptions> options_;
  modelport_handler handle_{};
};

class PluginStoreManager final : public ModelStoreManager {
 public:
  PluginStoreManager(PluginPtr plugin, std::size_t scheme) : plugin_(std::move(plugin)), scheme_(scheme) {}

  std::vector<ListedModel> list_models(std::string_view url, const CommonOptions& common) override {
    const modelport_scheme_descriptor& s = plugin_->schemes[scheme_];
    if (!s.list_models) throw Error(ErrorCode::unimplemented, "scheme '" + std::string(s.prefix) + "' cannot list models");
    RequestOptions options(common, nullptr);
    modelport_list_sink sink;
    sink.prefix = s.prefix;
    modelport_status status;
    std::string u(url);
    PluginCallGuard guard(*plugin_, u);
    int code = s.list_models(plugin_->state, u.c_str(), &options.c, &sink, &status);
    if (code != MODELPORT_OK) throw_call_failure(*plugin_, code, status, options.context.first_error, "list '" + u + "'");
    return std::move(sink.models);
  }

  ModelArtifactsInfo remove_model(std::string_view url, const CommonOptions& common) override {
    const modelport_scheme_descriptor& s = plugin_->schemes[scheme_];
    if (!s.remove_model) throw Error(ErrorCode::unimplemented, "scheme '" + std::string(s.prefix) + "' cannot remove models");
    RequestOptions options(common, nullptr);
    modelport_info_sink sink;
    modelport_status status;
    std::string u(url);
    PluginCallGuard guard(*plugin_, u);
    int code = s.remove_model(plugin_->state, u.c_str(), &options.c, &sink, &status);
    if (code != MODELPORT_OK) throw_call_failure(*plugin_, code, status, options.context.first_error, "remove '" + u + "'");
    return sink.info.value_or(ModelArtifactsInfo{});
  }

 private:
  PluginPtr plugin_;
  std::size_t scheme_;
};

// Stands in for the manager of a prefix two plugins claimed.
class PoisonedStoreManager final : public ModelStoreManager {
 public:
  explicit PoisonedStoreManager(std::string message) : message_(std::move(message)) {}
  std::vector<ListedModel> list_models(std::string_view, const CommonOptions&) override {
    throw Error(ErrorCode::already_exists, message_);
  }
  ModelArtifactsInfo remove_model(std::string_view, const CommonOptions&) override {
    throw Error(ErrorCode::already_exists, message_);
  }

 private:
  std::string message_;
};

// Who serves a prefix, or why nobody may.
struct Slot {
  PluginPtr plugin;
  std::size_t scheme = 0;
  std::string poison;  // set: lookups fail with this message
};

struct SlotTable {
  std::mutex mutex;
  std::map<std::string, Slot> slots;
  bool finalized = false;
};

bool valid_prefix(const char* prefix) {
  static const std::regex pattern("^[a-z][a-z0-9+.-]*://$");
  return prefix && std::regex_match(prefix, pattern);
}

bool valid_name(const char* name) {
  static const std::regex pattern("^[a-z0-9_-]{1,64}$");
  return name && std::regex_match(name, pattern);
}

std::string text_or(const char* s, const char* fallback) { return s ? s : fallback; }

}  // namespace

namespace detail {

ValidatedDescriptor validate_plugin_descriptor(const modelport_plugin_descriptor* described, const fs::path& path) {
  if (!described) {
    throw PluginError(ErrorCode::invalid_argument, PluginStage::entry, path,
                      "plugin entry point of '" + path.string() + "' returned no descriptor");
  }

  // Handshake. struct_size and the ABI version come first in every version of the descriptor,
  // so they can be read before the rest is trusted.
  constexpr std::size_t kVersionFields = offsetof(modelport_plugin_descriptor, abi_minor) + sizeof(std::uint32_t);
  constexpr std::size_t kMinimumSize = offsetof(modelport_plugin_descriptor, shutdown) + sizeof(void*);
  if (described->struct_size < kVersionFields) {
    throw PluginError(ErrorCode::invalid_argument, PluginStage::handshake, path,
                      "plugin descriptor in '" + path.string() + "' is " + std::to_string(described->struct_size) +
                          " bytes, too small to hold even its ABI version");
  }
  // Only the version fields are read until the size is known to cover the rest.
  if (described->abi_major != MODELPORT_PLUGIN_ABI_MAJOR) {
    const modelport_plugin_descriptor raw = described->struct_size >= kMinimumSize ? copy_to_core(described)
                                                                                    : modelport_plugin_descriptor{};
    throw PluginError(ErrorCode::invalid_argument, PluginStage::handshake, path,
                      "wrong plugin ABI in '" + path.string() + "': got " + std::to_string(described->abi_major) +
                          ", supported " + std::to_string(MODELPORT_PLUGIN_ABI_MAJOR) + " (plugin " +
                          text_or(raw.plugin_name, "?") + " " + text_or(raw.plugin_version, "?") + ", SDK " +
                          text_or(raw.sdk_version, "?") + ", " + text_or(raw.build_info, "no build info") + ")");
  }
  if (described->struct_size < kMinimumSize) {
    throw PluginError(ErrorCode::invalid_argument, PluginStage::handshake, path,
                      "plugin descriptor in '" + path.string() + "' is " + std::to_string(described->struct_size) +
                          " bytes, smaller than the ABI 1 minimum of " + std::to_string(kMinimumSize));
  }
  ValidatedDescriptor out;
  out.descriptor = copy_to_core(described);
  const auto& d = out.descriptor;
  PluginInfo& info = out.info;
  info.name = text_or(d.plugin_name, "");
  info.version = text_or(d.plugin_version, "");
  info.sdk_version = text_or(d.sdk_version, "");
  info.build_info = text_or(d.build_info, "");
  info.abi_major = d.abi_major;
  info.abi_minor = d.abi_minor;
  if (d.abi_minor > MODELPORT_PLUGIN_ABI_MINOR) {
    detail::host_api()->log(MODELPORT_LOG_DEBUG, info.name.c_str(),
                            ("plugin uses ABI 1." + std::to_string(d.abi_minor) + ", core 1." +
                             std::to_string(MODELPORT_PLUGIN_ABI_MINOR) + ": its newer features are ignored")
                                .c_str());
  }

  // Validation: every rule names the plugin file and what is wrong.
  auto invalid = [&](const std::string& what) {
    return PluginError(ErrorCode::invalid_argument, PluginStage::validate, path,
                       "invalid plugin '" + path.string() + "': " + what);
  };
  if (!valid_name(d.plugin_name)) throw invalid("plugin name '" + info.name + "' must match [a-z0-9_-]{1,64}");
  if (!d.plugin_version || !*d.plugin_version) throw invalid("plugin '" + info.name + "' has no version");
  if (!d.schemes || d.scheme_count == 0) throw invalid("plugin '" + info.name + "' declares no scheme");
  if (d.scheme_count > 64) throw invalid("plugin '" + info.name + "' declares " + std::to_string(d.scheme_count) + " schemes (at most 64)");
  if (d.init && !d.shutdown) throw invalid("plugin '" + info.name + "' has init but no shutdown");
  for (std::size_t i = 0; i < d.scheme_count; ++i) {
    const modelport_scheme_descriptor& raw_scheme = d.schemes[i];
    if (raw_scheme.struct_size < offsetof(modelport_scheme_descriptor, remove_model) + sizeof(void*)) {
      throw invalid("scheme descriptor " + std::to_string(i) + " is smaller than the ABI 1 minimum");
    }
    modelport_scheme_descriptor s = copy_to_core(&raw_scheme);
    std::string prefix = text_or(s.prefix, "(null)");
    if (!valid_prefix(s.prefix)) {
      throw invalid("prefix '" + prefix + "' must be a lower-case scheme followed by '://' (like 'indexeddb://')");
    }
    for (const auto& earlier : out.schemes) {
      if (prefix == earlier.prefix) throw invalid("prefix '" + prefix + "' is declared twice");
    }
    const std::uint32_t caps = s.capabilities;
    if ((caps & 0xFu) == 0 || (caps & ~0x1Fu) != 0) {
      throw invalid("prefix '" + prefix + "' declares capabilities 0x" + (std::ostringstream() << std::hex << caps).str() +
                    " (must be a non-empty set of save, load, list, remove, plus save-streamed)");
    }
    if ((caps & MODELPORT_CAP_SAVE_STREAMED) && !(caps & MODELPORT_CAP_SAVE)) {
      throw invalid("prefix '" + prefix + "' declares save-streamed without save");
    }
    modelport_handler_ops ops{};
    if (caps & (MODELPORT_CAP_SAVE | MODELPORT_CAP_LOAD)) {
      if (!s.create_handler) throw invalid("prefix '" + prefix + "' declares save/load but provides no 'create_handler'");
      if (!s.handler_ops) throw invalid("prefix '" + prefix + "' declares save/load but provides no handler operations");
      if (s.handler_ops->struct_size < offsetof(modelport_handler_ops, load) + sizeof(void*)) {
        throw invalid("handler operations of '" + prefix + "' are smaller than the ABI 1 minimum");
      }
      ops = copy_to_core(s.handler_ops);
      if (!ops.destroy) throw invalid("prefix '" + prefix + "' provides no 'destroy' operation");
      if ((caps & MODELPORT_CAP_SAVE) && !ops.save) throw invalid("prefix '" + prefix + "' declares CAP_SAVE but provides no 'save' operation");
      if ((caps & MODELPORT_CAP_LOAD) && !ops.load) throw invalid("prefix '" + prefix + "' declares CAP_LOAD but provides no 'load' operation");
    }
    if ((caps & MODELPORT_CAP_LIST) && !s.list_models) throw invalid("prefix '" + prefix + "' declares CAP_LIST but provides no 'list_models' operation");
    if ((caps & MODELPORT_CAP_REMOVE) && !s.remove_model) throw invalid("prefix '" + prefix + "' declares CAP_REMOVE but provides no 'remove_model' operation");
    out.schemes.push_back(s);
    out.ops.push_back(ops);
    info.schemes.push_back({prefix, caps});
  }
  return out;
}

}  // namespace detail

namespace {

// Open, entry, then the descriptor's handshake and validation. Returns a plugin that is not
// initialized yet.
PluginPtr open_plugin(const fs::path& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    throw PluginError(ErrorCode::not_found, PluginStage::find, path, "plugin file '" + path.string() + "' does not exist");
  }
  if (fs::is_directory(path, ec)) {
    throw PluginError(ErrorCode::invalid_argument, PluginStage::find, path, "plugin path '" + path.string() + "' is a directory");
  }
  auto plugin = std::make_shared<LoadedPlugin>();
  plugin->info.path = fs::absolute(path, ec);
  try {
    std::lock_guard lock(loader_mutex());
    // rtld_now: an unresolved symbol fails here, not in the middle of a save.
    plugin->library.load(path, boost::dll::load_mode::rtld_now | boost::dll::load_mode::rtld_local);
  } catch (const std::exception& e) {
    throw PluginError(ErrorCode::unavailable, PluginStage::open, path,
                      "could not load plugin '" + path.string() + "': " + e.what(), e.what());
  }

  if (!plugin->library.has(MODELPORT_PLUGIN_ENTRY_SYMBOL)) {
    std::string message = "plugin entry point '" MODELPORT_PLUGIN_ENTRY_SYMBOL "' not found in '" + path.string() + "'";
    for (int major = 2; major <= 9; ++major) {
      std::string other = "modelport_plugin_entry_v" + std::to_string(major);
      if (plugin->library.has(other)) {
        message += " (found '" + other + "': plugin built for ABI " + std::to_string(major) + ", core supports " +
                   std::to_string(MODELPORT_PLUGIN_ABI_MAJOR) + ")";
        break;
      }
    }
    throw PluginError(ErrorCode::unimplemented, PluginStage::entry, path, message);
  }
  auto entry = plugin->library.get<int(const modelport_host_api*, const modelport_plugin_descriptor**, modelport_status*)>(
      MODELPORT_PLUGIN_ENTRY_SYMBOL);
  const modelport_plugin_descriptor* described = nullptr;
  modelport_status status;
  int code = entry(detail::host_api(), &described, &status);
  if (code != MODELPORT_OK) {
    throw PluginError(error_code_of(code), PluginStage::entry, path,
                      "plugin entry point of '" + path.string() + "' failed: " +
                          (status.message.empty() ? "status " + std::to_string(code) : status.message));
  }
  detail::ValidatedDescriptor valid = detail::validate_plugin_descriptor(described, path);
  plugin->descriptor = valid.descriptor;
  plugin->schemes = std::move(valid.schemes);
  plugin->ops = std::move(valid.ops);
  valid.info.path = std::move(plugin->info.path);
  plugin->info = std::move(valid.info);
  return plugin;
}

fs::path core_library_dir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<const void*>(&core_library_dir), &info) && info.dli_fname) {
    std::error_code ec;
    fs::path p = fs::canonical(info.dli_fname, ec);
    if (!ec) return p.parent_path();
  }
  return {};
}

}  // namespace

struct PluginManager::Impl {
  RouterRegistry& routers;
  ModelStoreRegistry& stores;
  std::shared_ptr<SlotTable> table = std::make_shared<SlotTable>();
  mutable std::mutex mutex;
  std::vector<PluginPtr> plugins;  // load order
  std::vector<PluginError> discovery_errors;
  std::vector<std::string> registered_prefixes;  // prefixes with a router in `routers`

  Impl(RouterRegistry& r, ModelStoreRegistry& s) : routers(r), stores(s) {}

  std::string owner_of(const std::string& prefix) {
    std::lock_guard lock(table->mutex);
    auto it = table->slots.find(prefix);
    if (it == table->slots.end() || !it->second.plugin) return {};
    return describe(it->second.plugin->info);
  }

  std::string poison_of(const std::string& prefix) {
    std::lock_guard lock(table->mutex);
    auto it = table->slots.find(prefix);
    return it == table->slots.end() ? std::string() : it->second.poison;
  }

  bool owns_prefix(const std::string& prefix) {
    std::lock_guard lock(mutex);
    return std::find(registered_prefixes.begin(), registered_prefixes.end(), prefix) != registered_prefixes.end();
  }

  // Registers the router pair for a prefix once; it dispatches to whoever owns the slot then.
  void ensure_router(const std::string& prefix, const std::string& provider) {
    {
      std::lock_guard lock(mutex);
      if (std::find(registered_prefixes.begin(), registered_prefixes.end(), prefix) != registered_prefixes.end()) return;
      registered_prefixes.push_back(prefix);
    }
    std::weak_ptr<SlotTable> weak = table;
    auto make = [weak, prefix](std::span<const std::string> urls, const CommonOptions& common, const LoadOptions* load,
                               std::uint32_t needed) -> HandlerPtr {
      if (urls.size() != 1 || !urls[0].starts_with(prefix)) return nullptr;
      auto t = weak.lock();
      if (!t) return nullptr;
      Slot slot;
      {
        std::lock_guard lock(t->mutex);
        if (t->finalized) {
          throw Error(ErrorCode::unavailable, "plugins have been finalized; cannot open '" + urls[0] + "'");
        }
        auto it = t->slots.find(prefix);
        if (it == t->slots.end()) return nullptr;
        slot = it->second;
      }
      if (!slot.poison.empty()) throw Error(ErrorCode::already_exists, slot.poison);
      if (!slot.plugin || !(slot.plugin->schemes[slot.scheme].capabilities & needed)) return nullptr;
      return std::make_unique<PluginHandler>(slot.plugin, slot.scheme, urls[0],
                                             std::make_unique<RequestOptions>(common, load));
    };
    routers.register_save_router({provider, prefix}, [make](std::span<const std::string> urls, const SaveOptions& o) {
      return make(urls, o, nullptr, MODELPORT_CAP_SAVE);
    });
    routers.register_load_router({provider, prefix}, [make](std::span<const std::string> urls, const LoadOptions& o) {
      return make(urls, o, &o, MODELPORT_CAP_LOAD);
    });
  }

  PluginInfo load(const fs::path& path, bool discovery) {
    PluginPtr plugin = open_plugin(path);
    const PluginInfo& info = plugin->info;
    {
      std::lock_guard lock(mutex);
      for (const auto& p : plugins) {
        if (p->info.name == info.name) {
          throw PluginError(ErrorCode::already_exists, PluginStage::register_prefix, path,
                            "plugin '" + info.name + "' from '" + path.string() + "' is already loaded from " + describe(p->info));
        }
      }
    }
    // Collisions are decided before init, so a rejected plugin never runs any code but its entry.
    std::vector<std::string> taken;
    std::string collision;
    for (const auto& s : info.schemes) {
      std::string owner = owner_of(s.prefix);
      std::string poison = poison_of(s.prefix);
      bool ours = owns_prefix(s.prefix);
      bool foreign = false;
      if (owner.empty() && poison.empty() && !ours) {
        // A router or store manager for this prefix that this manager did not register: an
        // embedder's in-process handler factory, which a plugin must not displace silently.
        auto saves = routers.save_schemes();
        auto loads = routers.load_schemes();
        auto managed = stores.schemes();
        auto has = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), s.prefix) != v.end(); };
        foreign = has(saves) || has(loads) || has(managed);
      }
      if (!owner.empty() || !poison.empty() || foreign) {
        taken.push_back(s.prefix);
        if (collision.empty()) {
          collision = "prefix '" + s.prefix + "' from " + describe(info) + " is already provided by " +
                      (!owner.empty() ? owner : !poison.empty() ? "two plugins that collided (" + poison + ")"
                                                                : std::string("an in-process handler factory"));
        }
      }
    }
    if (!taken.empty() && !discovery) {
      throw PluginError(ErrorCode::already_exists, PluginStage::register_prefix, path, collision);
    }

    if (plugin->descriptor.init) {
      modelport_status status;
      int code = plugin->descriptor.init(&plugin->state, detail::host_api(), &status);
      // Resident from here on even if init failed: it may have started threads.
      resident_libraries().push_back(plugin->library);
      if (code != MODELPORT_OK) {
        throw PluginError(error_code_of(code), PluginStage::init, path,
                          "plugin " + describe(info) + " failed to initialize: " +
                              (status.message.empty() ? "status " + std::to_string(code) : status.message));
      }
    } else {
      resident_libraries().push_back(plugin->library);
    }
    plugin->initialized = true;

    {
      std::lock_guard lock(table->mutex);
      for (std::size_t i = 0; i < plugin->schemes.size(); ++i) {
        const std::string prefix = info.schemes[i].prefix;
        if (std::find(taken.begin(), taken.end(), prefix) != taken.end()) {
          // Discovery: neither side wins; every lookup says why.
          Slot& slot = table->slots[prefix];
          slot.plugin.reset();
          slot.poison = collision.find("'" + prefix + "'") != std::string::npos
                            ? collision
                            : "prefix '" + prefix + "' from " + describe(info) + " is already provided by another plugin";
          continue;
        }
        table->slots[prefix] = Slot{plugin, i, {}};
      }
    }
    for (std::size_t i = 0; i < plugin->schemes.size(); ++i) {
      const std::string prefix = info.schemes[i].prefix;
      if (std::find(taken.begin(), taken.end(), prefix) != taken.end()) {
        if (discovery && owns_prefix(prefix)) {
          // The prefix is poisoned: list and remove say why, like save and load do.
          std::string message;
          {
            std::lock_guard lock(table->mutex);
            message = table->slots[prefix].poison;
          }
          stores.register_manager(prefix, "(collision)", std::make_shared<PoisonedStoreManager>(message), /*replace=*/true);
        }
        continue;
      }
      ensure_router(prefix, info.name);
      if (plugin->schemes[i].capabilities & (MODELPORT_CAP_LIST | MODELPORT_CAP_REMOVE)) {
        stores.register_manager(prefix, info.name, std::make_shared<PluginStoreManager>(plugin, i), /*replace=*/true);
      }
    }
    {
      std::lock_guard lock(mutex);
      plugins.push_back(plugin);
    }
    if (!taken.empty()) {
      throw PluginError(ErrorCode::already_exists, PluginStage::register_prefix, path, collision);
    }
    return info;
  }
};

PluginManager::PluginManager(RouterRegistry& routers, ModelStoreRegistry& stores)
    : impl_(std::make_unique<Impl>(routers, stores)) {}

PluginManager::~PluginManager() = default;

PluginManager& PluginManager::global() {
  static auto* manager = new PluginManager();
  return *manager;
}

PluginInfo PluginManager::load_plugin(const fs::path& path) {
  {
    std::lock_guard lock(impl_->table->mutex);
    if (impl_->table->finalized) {
      throw PluginError(ErrorCode::unavailable, PluginStage::register_prefix, path,
                        "plugins have been finalized; cannot load '" + path.string() + "'");
    }
  }
  return impl_->load(path, /*discovery=*/false);
}

std::vector<fs::path> PluginManager::default_search_dirs() {
  std::vector<fs::path> dirs;
  const std::string abi = "abi" + std::to_string(MODELPORT_PLUGIN_ABI_MAJOR);
  fs::path beside = core_library_dir();
  if (!beside.empty()) dirs.push_back(beside / "modelport" / "plugins" / abi);
  fs::path installed = MODELPORT_INSTALL_PLUGIN_DIR;
  if (!installed.empty() && std::find(dirs.begin(), dirs.end(), installed) == dirs.end()) dirs.push_back(installed);
  return dirs;
}

DiscoveryReport PluginManager::discover_plugins(const DiscoveryOptions& options) {
  DiscoveryReport report;
  {
    std::lock_guard lock(impl_->table->mutex);
    if (impl_->table->finalized) {
      report.errors.emplace_back(ErrorCode::unavailable, PluginStage::find, fs::path(),
                                 "plugins have been finalized; discovery loads nothing");
      return report;
    }
  }
  std::vector<fs::path> dirs = options.extra_dirs;
  if (options.use_environment) {
    if (const char* env = std::getenv("MODELPORT_PLUGIN_PATH")) {
      std::string value = env;
      if (value == "disable") return report;
      std::stringstream parts(value);
      std::string part;
      while (std::getline(parts, part, ':')) {
        if (!part.empty()) dirs.emplace_back(part);
      }
    }
  }
  if (options.use_default_dirs) {
    for (auto& d : default_search_dirs()) dirs.push_back(std::move(d));
  }
  std::vector<std::string> skip;
  if (const char* env = std::getenv("MODELPORT_PLUGIN_SKIP")) {
    std::stringstream parts(env);
    std::string part;
    while (std::getline(parts, part, ',')) skip.push_back(part);
  }

  std::vector<fs::path> seen_files;
  for (const auto& dir : dirs) {
    std::error_code ec;
    fs::path canonical_dir = fs::weakly_canonical(dir, ec);
    if (std::find(report.searched.begin(), report.searched.end(), canonical_dir) != report.searched.end()) continue;
    report.searched.push_back(canonical_dir);
    if (!fs::is_directory(canonical_dir, ec)) continue;
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(canonical_dir, ec)) {
      std::string name = entry.path().filename().string();
      if (name.starts_with("libmodelport_plugin_") && name.ends_with(".so")) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      std::string stem = file.filename().string();
      stem = stem.substr(20, stem.size() - 23);  // between "libmodelport_plugin_" and ".so"
      if (std::find(skip.begin(), skip.end(), stem) != skip.end()) continue;
      fs::path canonical_file = fs::weakly_canonical(file, ec);
      if (std::find(seen_files.begin(), seen_files.end(), canonical_file) != seen_files.end()) continue;
      seen_files.push_back(canonical_file);
      try {
        report.loaded.push_back(impl_->load(file, /*discovery=*/true));
      } catch (const PluginError& e) {
        report.errors.push_back(e);
      }
    }
  }
  std::lock_guard lock(impl_->mutex);
  impl_->discovery_errors.insert(impl_->discovery_errors.end(), report.errors.begin(), report.errors.end());
  return report;
}

std::vector<PluginInfo> PluginManager::plugins() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<PluginInfo> out;
  for (const auto& p : impl_->plugins) out.push_back(p->info);
  return out;
}

std::vector<PluginError> PluginManager::discovery_errors() const {
  std::lock_guard lock(impl_->mutex);
  return impl_->discovery_errors;
}

void PluginManager::finalize() {
  {
    std::lock_guard lock(impl_->table->mutex);
    if (impl_->table->finalized) return;
    impl_->table->finalized = true;
  }
  std::vector<PluginPtr> plugins;
  {
    std::lock_guard lock(impl_->mutex);
    plugins = impl_->plugins;
  }
  for (auto it = plugins.rbegin(); it != plugins.rend(); ++it) {
    LoadedPlugin& p = **it;
    std::unique_lock calls(p.calls);  // waits for calls in flight
    if (p.shut_down) continue;
    p.shut_down = true;
    if (p.initialized && p.descriptor.shutdown) p.descriptor.shutdown(p.state);
  }
}

PluginInfo PluginManager::inspect(const fs::path& path) { return open_plugin(path)->info; }

}  // namespace modelport
