#include "plugin_host_api.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/plugins.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <mutex>

namespace modelport {

namespace {

std::mutex log_mutex;
PluginLogHandler& log_handler() {
  static PluginLogHandler handler;
  return handler;
}

int set_status(modelport_status* status, int code, const char* message) {
  if (status) {
    status->code = code;
    status->message = message ? message : "";
  }
  return code;
}

// Records a failure where the plugin will see it (its status) and where the core will find it
// even if the plugin drops the status (the sink).
int fail(modelport_status* status, std::string* first_error, int code, const std::string& message) {
  if (first_error && first_error->empty()) *first_error = message;
  return set_status(status, code, message.c_str());
}

int code_of(const Error& e) {
  switch (e.code()) {
    case ErrorCode::not_found: return MODELPORT_NOT_FOUND;
    case ErrorCode::invalid_argument: return MODELPORT_INVALID_ARGUMENT;
    case ErrorCode::corrupt: return MODELPORT_CORRUPT;
    case ErrorCode::quota_exceeded: return MODELPORT_QUOTA_EXCEEDED;
    case ErrorCode::unavailable: return MODELPORT_UNAVAILABLE;
    case ErrorCode::already_exists: return MODELPORT_ALREADY_EXISTS;
    case ErrorCode::unimplemented: return MODELPORT_UNIMPLEMENTED;
    case ErrorCode::permission_denied: return MODELPORT_PERMISSION_DENIED;
    case ErrorCode::cancelled: return MODELPORT_CANCELLED;
    case ErrorCode::internal: return MODELPORT_INTERNAL;
  }
  return MODELPORT_INTERNAL;
}

template <class Fn>
int guarded(modelport_status* status, std::string* first_error, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const Error& e) {
    return fail(status, first_error, code_of(e), e.what());
  } catch (const std::exception& e) {
    return fail(status, first_error, MODELPORT_INTERNAL, e.what());
  } catch (...) {
    return fail(status, first_error, MODELPORT_INTERNAL, "unknown failure in the modelport core");
  }
}

void host_log(int level, const char* plugin, const char* message) {
  std::lock_guard lock(log_mutex);
  std::string_view name = plugin ? plugin : "?";
  std::string_view text = message ? message : "";
  if (log_handler()) {
    log_handler()(level, name, text);
    return;
  }
  static const bool debug = [] {
    const char* v = std::getenv("MODELPORT_PLUGIN_DEBUG");
    return v && std::string_view(v) == "1";
  }();
  if (level >= MODELPORT_LOG_WARNING || debug) {
    static constexpr const char* kLevels[] = {"debug", "info", "warning", "error"};
    std::cerr << "modelport plugin '" << name << "' " << kLevels[std::clamp(level, 0, 3)] << ": " << text << '\n';
  }
}

void report_progress(modelport_call_context* context, uint64_t done, int64_t total, const char* current) {
  if (!context || !context->common) return;
  Progress p;
  p.bytes_done = done;
  if (total >= 0) p.bytes_total = static_cast<std::uint64_t>(total);
  p.current = current ? current : "";
  try {
    context->common->report(p);
  } catch (...) {
    // A progress callback that throws must not unwind through plugin frames.
  }
}

int is_cancelled(modelport_call_context* context) {
  return context && context->common && context->common->cancel.stop_requested() ? 1 : 0;
}

int convert_weight_url(modelport_call_context* context, const char* manifest_path,
                       void (*out_url)(void*, const char*, size_t), void* out_context, modelport_status* status) {
  std::string* first_error = context ? &context->first_error : nullptr;
  return guarded(status, first_error, [&] {
    if (!context || !context->load || !context->load->weight_url_converter) {
      return fail(status, first_error, MODELPORT_INVALID_ARGUMENT, "no weight URL converter was given");
    }
    std::string url = context->load->weight_url_converter(manifest_path ? manifest_path : "");
    out_url(out_context, url.data(), url.size());
    return MODELPORT_OK;
  });
}

int load_set_model_json(modelport_load_sink* sink, const char* json, size_t size, const char* source,
                        modelport_status* status) {
  return guarded(status, &sink->first_error, [&] {
    ModelJson parsed = parse_model_json(std::string_view(json, size), source ? source : "");
    ModelArtifacts& a = sink->artifacts;
    ModelArtifacts& p = parsed.artifacts;
    // Set only what the document holds, so a plugin may combine it with set_field calls.
    auto take = [](auto& to, auto& from) {
      if (from) to = std::move(from);
    };
    take(a.model_topology, p.model_topology);
    take(a.training_config, p.training_config);
    take(a.weight_specs, p.weight_specs);
    take(a.format, p.format);
    take(a.generated_by, p.generated_by);
    take(a.converted_by, p.converted_by);
    take(a.signature, p.signature);
    take(a.user_defined_metadata, p.user_defined_metadata);
    take(a.model_initializer, p.model_initializer);
    take(a.initializer_signature, p.initializer_signature);
    for (auto& kv : p.extra_fields) a.extra_fields[kv.key()] = kv.value();
    sink->shard_paths.clear();
    if (parsed.weights_manifest) {
      for (const auto& g : *parsed.weights_manifest) sink->shard_paths.insert(sink->shard_paths.end(), g.paths.begin(), g.paths.end());
      sink->manifest = std::move(parsed.weights_manifest);
    }
    sink->any_field = true;
    return MODELPORT_OK;
  });
}

size_t load_shard_count(modelport_load_sink* sink) { return sink->shard_paths.size(); }

const char* load_shard_path(modelport_load_sink* sink, size_t index) {
  return index < sink->shard_paths.size() ? sink->shard_paths[index].c_str() : nullptr;
}

int load_set_field(modelport_load_sink* sink, int field, const void* data, size_t size, int binary, const char* source,
                   modelport_status* status) {
  return guarded(status, &sink->first_error, [&] {
    std::string_view text(static_cast<const char*>(data), size);
    ModelArtifacts& a = sink->artifacts;
    if (binary) {
      if (field != MODELPORT_FIELD_MODEL_TOPOLOGY) {
        return fail(status, &sink->first_error, MODELPORT_INVALID_ARGUMENT, "only the model topology may be binary");
      }
      a.model_topology = ModelTopology(Buffer::copy_of(text));
      sink->any_field = true;
      return MODELPORT_OK;
    }
    std::string_view where = source ? std::string_view(source) : std::string_view();
    boost::json::value value = json::parse(text, where);
    switch (field) {
      case MODELPORT_FIELD_MODEL_TOPOLOGY: a.model_topology = ModelTopology(std::move(value)); break;
      case MODELPORT_FIELD_WEIGHT_SPECS: a.weight_specs = weight_specs_from_json(value, where); break;
      case MODELPORT_FIELD_TRAINING_CONFIG: a.training_config = std::move(value); break;
      case MODELPORT_FIELD_FORMAT: a.format = std::move(value); break;
      case MODELPORT_FIELD_GENERATED_BY: a.generated_by = std::move(value); break;
      case MODELPORT_FIELD_CONVERTED_BY: a.converted_by = std::move(value); break;
      case MODELPORT_FIELD_SIGNATURE: a.signature = std::move(value); break;
      case MODELPORT_FIELD_USER_DEFINED_METADATA: a.user_defined_metadata = std::move(value); break;
      case MODELPORT_FIELD_MODEL_INITIALIZER: a.model_initializer = std::move(value); break;
      case MODELPORT_FIELD_INITIALIZER_SIGNATURE: a.initializer_signature = std::move(value); break;
      case MODELPORT_FIELD_EXTRA:
        if (!value.is_object()) {
          return fail(status, &sink->first_error, MODELPORT_INVALID_ARGUMENT, "the extra fields must be a JSON object");
        }
        for (auto& kv : value.as_object()) a.extra_fields[kv.key()] = kv.value();
        break;
      default:
        return fail(status, &sink->first_error, MODELPORT_INVALID_ARGUMENT, "unknown artifact field " + std::to_string(field));
    }
    sink->any_field = true;
    return MODELPORT_OK;
  });
}

void count_in_shard(modelport_load_sink* sink, std::uint64_t size) {
  if (!sink->shards_marked) return;
  if (sink->shard_sizes.empty()) sink->shard_sizes.push_back(0);  // pieces before the first mark
  sink->shard_sizes.back() += size;
}

void load_begin_shard(modelport_load_sink* sink) {
  if (!sink) return;
  sink->shards_marked = true;
  sink->shard_sizes.push_back(0);
}

void append_bytes(modelport_load_sink* sink, Buffer bytes) {
  count_in_shard(sink, bytes.size());
  if (sink->allow_deferred) {
    const std::uint64_t size = bytes.size();
    sink->stream_parts.push_back({std::move(bytes), nullptr, size});
  } else {
    sink->weights.append(std::move(bytes));
  }
  sink->has_weights = true;
}

int load_append_weights_copy(modelport_load_sink* sink, const void* data, size_t size, modelport_status* status) {
  return guarded(status, &sink->first_error, [&] {
    append_bytes(sink, Buffer::copy_of(std::span<const std::byte>(static_cast<const std::byte*>(data), size)));
    return MODELPORT_OK;
  });
}

int load_append_weights_owned(modelport_load_sink* sink, const void* data, size_t size, void (*release)(void*),
                              void* release_context, modelport_status* status) {
  return guarded(status, &sink->first_error, [&] {
    std::shared_ptr<const void> pin = sink->pin;
    // Armed only once the buffer is in the sink: if appending fails, the memory stays the
    // plugin's to release (plugin_abi.h), so the hook must not run from here too.
    auto armed = std::make_shared<bool>(false);
    Buffer buffer = Buffer::external(data, size, [release, release_context, pin, armed] {
      if (*armed && release) release(release_context);
    });
    append_bytes(sink, buffer);
    *armed = true;
    return MODELPORT_OK;
  });
}

void* load_append_weights_alloc(modelport_load_sink* sink, size_t size, modelport_status* status) {
  void* where = nullptr;
  guarded(status, &sink->first_error, [&] {
    BufferBuilder builder(size);
    where = builder.data().data();
    // The bytes are written after this call returns; a builder's memory does not move when it
    // is frozen, so handing out the pointer first is safe.
    append_bytes(sink, std::move(builder).finish());
    return MODELPORT_OK;
  });
  // NULL means failure, so an empty chunk still gets a valid (never written) address.
  static std::byte empty_chunk;
  if (!where && size == 0 && sink->first_error.empty()) where = &empty_chunk;
  return where;
}

// Queues a deferred shard of a streamed load, or, in an ordinary load, reads it now. The core
// owns `context` once this returns OK; on failure it stays the plugin's to release.
int append_deferred(modelport_load_sink* sink, std::shared_ptr<detail::DeferredShard> shard, uint64_t size,
                    void (*release)(void*), void* context, modelport_status* status) {
  shard->release = release;
  shard->context = context;
  shard->pin = sink->pin;
  if (!sink->allow_deferred) {
    Buffer bytes;
    int code = shard->read(size, status, bytes);
    if (code != MODELPORT_OK) {
      if (status && !status->message.empty() && sink->first_error.empty()) sink->first_error = status->message;
      return code;
    }
    if (bytes.size() != size) {
      throw Error(ErrorCode::corrupt, "a deferred weight shard produced " + std::to_string(bytes.size()) +
                                          " bytes, not the announced " + std::to_string(size));
    }
    append_bytes(sink, std::move(bytes));
    shard->armed = true;  // read and kept: the context goes back to the plugin with `shard`, now
    return MODELPORT_OK;
  }
  sink->stream_parts.push_back({Buffer(), shard, size});
  shard->armed = true;  // only now: had the push failed, the plugin would release it itself
  count_in_shard(sink, size);
  sink->has_weights = true;
  return MODELPORT_OK;
}

int load_deferred_allowed(modelport_load_sink* sink) { return sink && sink->allow_deferred ? 1 : 0; }

int load_append_weights_deferred(modelport_load_sink* sink, uint64_t size,
                                 int (*fill)(void*, void*, uint64_t, modelport_status*), void (*release)(void*),
                                 void* context, modelport_status* status) {
  if (!sink || !fill) return set_status(status, MODELPORT_INVALID_ARGUMENT, "a deferred weight shard needs a fill function");
  return guarded(status, &sink->first_error, [&] {
    auto shard = std::make_shared<detail::DeferredShard>();
    shard->fill = fill;
    return append_deferred(sink, std::move(shard), size, release, context, status);
  });
}

int load_append_weights_deferred_owned(modelport_load_sink* sink, uint64_t size,
                                       int (*produce)(void*, modelport_span*, void (**)(void*), void**, modelport_status*),
                                       void (*release)(void*), void* context, modelport_status* status) {
  if (!sink || !produce) return set_status(status, MODELPORT_INVALID_ARGUMENT, "a deferred weight shard needs a produce function");
  return guarded(status, &sink->first_error, [&] {
    auto shard = std::make_shared<detail::DeferredShard>();
    shard->produce = produce;
    return append_deferred(sink, std::move(shard), size, release, context, status);
  });
}

int save_next_weights(modelport_save_sink* sink, modelport_span* out, modelport_status* status) {
  if (!sink || !out) return set_status(status, MODELPORT_INVALID_ARGUMENT, "save_next_weights needs a sink and an output span");
  *out = modelport_span{nullptr, 0};
  if (!sink->stream) {
    return set_status(status, MODELPORT_INVALID_ARGUMENT, "the weights of this save are not streamed (read weight_chunks)");
  }
  if (sink->stream_failure) return set_status(status, MODELPORT_INVALID_ARGUMENT, "the weight stream has already failed");
  try {
    sink->current = Buffer();  // the previous part goes before the next one is read
    std::optional<Buffer> part;
    do {
      part = sink->stream->next();
    } while (part && part->empty());  // an empty span would read as the end
    if (part) {
      sink->current = std::move(*part);
      *out = modelport_span{sink->current.data(), sink->current.size()};
    }
    return MODELPORT_OK;
  } catch (const Error& e) {
    sink->stream_failure = std::current_exception();
    return set_status(status, code_of(e), e.what());
  } catch (const std::exception& e) {
    sink->stream_failure = std::current_exception();
    return set_status(status, MODELPORT_INTERNAL, e.what());
  }
}

void save_set_info(modelport_save_sink* sink, const modelport_model_info* info) {
  if (sink && info) sink->info = detail::info_from_c(*info);
}

void save_add_response(modelport_save_sink* sink, const char* json_text, size_t size) {
  if (!sink) return;
  try {
    if (!sink->responses) sink->responses.emplace();
    sink->responses->push_back(json::parse(std::string_view(json_text, size), "plugin response"));
  } catch (...) {
    // A malformed response description is diagnostics only; drop it.
  }
}

void list_add(modelport_list_sink* sink, const char* model_path, const modelport_model_info* info) {
  if (!sink || !model_path || !info) return;
  std::string path = model_path;
  std::string url = path.starts_with(sink->prefix) ? path : sink->prefix + path;
  sink->models.push_back({std::move(url), detail::info_from_c(*info)});
}

void info_set(modelport_info_sink* sink, const modelport_model_info* info) {
  if (sink && info) sink->info = detail::info_from_c(*info);
}

int model_json_info(const char* json_text, size_t size, const char* source, modelport_model_info* out,
                    modelport_status* status) {
  return guarded(status, nullptr, [&] {
    ModelJson parsed = parse_model_json(std::string_view(json_text, size), source ? source : "");
    ModelArtifactsInfo info = get_model_artifacts_info(parsed.artifacts, std::chrono::system_clock::time_point{});
    modelport_model_info c{};
    c.struct_size = out && out->struct_size ? std::min<uint32_t>(out->struct_size, sizeof c) : sizeof c;
    c.date_saved_ms = 0;
    c.model_topology_type = "JSON";
    c.model_topology_bytes = static_cast<int64_t>(info.model_topology_bytes.value_or(0));
    c.weight_specs_bytes = static_cast<int64_t>(info.weight_specs_bytes.value_or(0));
    c.weight_data_bytes = -1;
    std::memcpy(out, &c, c.struct_size);
    return MODELPORT_OK;
  });
}

}  // namespace

void set_plugin_log_handler(PluginLogHandler handler) {
  std::lock_guard lock(log_mutex);
  log_handler() = std::move(handler);
}

namespace detail {

const modelport_host_api* host_api() {
  static const modelport_host_api api = [] {
    modelport_host_api h{};
    h.struct_size = sizeof(h);
    h.abi_major = MODELPORT_PLUGIN_ABI_MAJOR;
    h.abi_minor = MODELPORT_PLUGIN_ABI_MINOR;
    h.core_version = MODELPORT_SDK_VERSION_STRING;
    h.status_set = &set_status;
    h.log = &host_log;
    h.report_progress = &report_progress;
    h.is_cancelled = &is_cancelled;
    h.convert_weight_url = &convert_weight_url;
    h.load_set_model_json = &load_set_model_json;
    h.load_shard_count = &load_shard_count;
    h.load_shard_path = &load_shard_path;
    h.load_set_field = &load_set_field;
    h.load_append_weights_copy = &load_append_weights_copy;
    h.load_append_weights_owned = &load_append_weights_owned;
    h.load_append_weights_alloc = &load_append_weights_alloc;
    h.save_set_info = &save_set_info;
    h.save_add_response = &save_add_response;
    h.list_add = &list_add;
    h.info_set = &info_set;
    h.model_json_info = &model_json_info;
    h.load_deferred_allowed = &load_deferred_allowed;
    h.load_append_weights_deferred = &load_append_weights_deferred;
    h.save_next_weights = &save_next_weights;
    h.load_append_weights_deferred_owned = &load_append_weights_deferred_owned;
    h.load_begin_shard = &load_begin_shard;
    return h;
  }();
  return &api;
}

ModelArtifactsInfo info_from_c(const modelport_model_info& c) {
  ModelArtifactsInfo info;
  info.date_saved = std::chrono::system_clock::time_point(std::chrono::milliseconds(c.date_saved_ms));
  info.model_topology_type = c.model_topology_type ? c.model_topology_type : "JSON";
  auto count = [](int64_t v) { return v < 0 ? std::optional<std::uint64_t>() : std::optional<std::uint64_t>(static_cast<std::uint64_t>(v)); };
  info.model_topology_bytes = count(c.model_topology_bytes);
  info.weight_specs_bytes = count(c.weight_specs_bytes);
  info.weight_data_bytes = count(c.weight_data_bytes);
  return info;
}

int DeferredShard::read(std::uint64_t size, modelport_status* status, Buffer& out) const {
  if (produce) {
    modelport_span lent{};
    void (*bytes_release)(void*) = nullptr;
    void* bytes_context = nullptr;
    int code = produce(context, &lent, &bytes_release, &bytes_context, status);
    if (code != MODELPORT_OK) return code;
    out = Buffer::external(lent.data, lent.size, [bytes_release, bytes_context, pin = pin] {
      if (bytes_release) bytes_release(bytes_context);
    });
    return MODELPORT_OK;
  }
  if (size > SIZE_MAX) throw Error(ErrorCode::corrupt, "a weight shard is larger than this process can address");
  BufferBuilder builder(static_cast<std::size_t>(size));
  int code = fill(context, builder.data().data(), size, status);
  if (code == MODELPORT_OK) out = std::move(builder).finish();
  return code;
}

void fill_view(const ModelArtifacts& a, ArtifactsViewStorage& storage) {
  storage.texts.assign(MODELPORT_FIELD_COUNT, std::string());
  modelport_artifacts_view& v = storage.view;
  v = modelport_artifacts_view{};
  v.struct_size = sizeof(v);
  std::vector<bool> present(MODELPORT_FIELD_COUNT, false);
  auto put = [&](int field, const JsonField& value) {
    if (!value) return;
    storage.texts[field] = json::stringify(*value);
    present[field] = true;
  };
  if (a.model_topology) {
    if (const auto* bytes = std::get_if<Buffer>(&*a.model_topology)) {
      storage.texts[MODELPORT_FIELD_MODEL_TOPOLOGY].assign(bytes->view());
      v.topology_is_binary = 1;
    } else {
      storage.texts[MODELPORT_FIELD_MODEL_TOPOLOGY] = json::stringify(std::get<boost::json::value>(*a.model_topology));
    }
    present[MODELPORT_FIELD_MODEL_TOPOLOGY] = true;
  }
  if (a.weight_specs) {
    storage.texts[MODELPORT_FIELD_WEIGHT_SPECS] = json::stringify(to_json(*a.weight_specs));
    present[MODELPORT_FIELD_WEIGHT_SPECS] = true;
  }
  put(MODELPORT_FIELD_TRAINING_CONFIG, a.training_config);
  put(MODELPORT_FIELD_FORMAT, a.format);
  put(MODELPORT_FIELD_GENERATED_BY, a.generated_by);
  put(MODELPORT_FIELD_CONVERTED_BY, a.converted_by);
  put(MODELPORT_FIELD_SIGNATURE, a.signature);
  put(MODELPORT_FIELD_USER_DEFINED_METADATA, a.user_defined_metadata);
  put(MODELPORT_FIELD_MODEL_INITIALIZER, a.model_initializer);
  put(MODELPORT_FIELD_INITIALIZER_SIGNATURE, a.initializer_signature);
  storage.texts[MODELPORT_FIELD_EXTRA] = json::stringify(a.extra_fields);
  present[MODELPORT_FIELD_EXTRA] = true;
  for (int f = 0; f < MODELPORT_FIELD_COUNT; ++f) {
    // An empty string's data() is still non-null, so a present empty field stays present.
    if (present[f]) v.fields[f] = {storage.texts[f].data(), storage.texts[f].size()};
  }
  storage.chunks.clear();
  if (a.weight_data) {
    v.has_weight_data = 1;
    for (const auto& b : a.weight_data->buffers()) {
      if (!b.empty()) storage.chunks.push_back({b.data(), b.size()});
    }
    v.weight_data_size = a.weight_data->size();
  }
  v.weight_chunks = storage.chunks.data();
  v.weight_chunk_count = storage.chunks.size();
}

}  // namespace detail

}  // namespace modelport
