#include "model_store.hpp"

#include "base64.hpp"
#include "json_scan.hpp"
#include "tfjs_layout.hpp"

#include <algorithm>
#include <chrono>

namespace modelport::localstorage {

using sdk::Code;
using sdk::Error;
using sdk::Field;

namespace {

// Weights are encoded and decoded in pieces of this size, with progress and cancellation between.
constexpr std::size_t kPieceBytes = 3u << 20;  // 3 MiB of bytes = 4 MiB of base64

Code code_of(StoreError::Kind kind) {
  switch (kind) {
    case StoreError::Kind::quota_exceeded: return Code::quota_exceeded;
    case StoreError::Kind::invalid_argument: return Code::invalid_argument;
    case StoreError::Kind::corrupt: return Code::corrupt;
    case StoreError::Kind::permission_denied: return Code::permission_denied;
    case StoreError::Kind::unavailable: return Code::unavailable;
    case StoreError::Kind::io: return Code::unavailable;
  }
  return Code::internal;
}

[[noreturn]] void rethrow(const StoreError& e, const std::string& context = {}) {
  throw Error(code_of(e.kind()), context + e.what());
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

std::string in_quotes(std::string_view path) { return "'" + std::string(path) + "'"; }

sdk::ModelInfo model_info_of(const StoredInfo& s) {
  sdk::ModelInfo info;
  info.date_saved_ms = s.has_date ? s.date_saved_ms : 0;
  info.model_topology_type = s.model_topology_type.empty() ? "JSON" : s.model_topology_type;
  auto count = [](const std::optional<std::uint64_t>& v) {
    return v ? std::optional<std::int64_t>(static_cast<std::int64_t>(*v)) : std::nullopt;
  };
  info.model_topology_bytes = count(s.model_topology_bytes);
  info.weight_specs_bytes = count(s.weight_specs_bytes);
  info.weight_data_bytes = count(s.weight_data_bytes);
  return info;
}

// The info of a listed or removed model; a value that cannot be read gives what can be read, and a
// warning (the model stays visible, so it can be removed).
sdk::ModelInfo readable_info(std::string_view text, const std::string& key) {
  try {
    StoredInfo s = parse_info_json(text);
    if (!s.has_date) sdk::log(MODELPORT_LOG_WARNING, "localStorage key '" + key + "' has no readable dateSaved");
    return model_info_of(s);
  } catch (const std::exception& e) {
    sdk::log(MODELPORT_LOG_WARNING, "localStorage key '" + key + "' is not a valid model info (" + e.what() + ")");
    sdk::ModelInfo info;
    return info;
  }
}

// model_metadata: tfjs's keys in tfjs's order; then (modelport only) the unknown top-level keys the
// model carried, so copies keep them. A model without those is byte-identical to tfjs's value.
std::string metadata_json(const sdk::ArtifactsView& a) {
  std::string out = "{";
  auto put = [&](const char* name, std::string_view text) {
    if (out.size() > 1) out += ',';
    out += '"';
    out += name;
    out += "\":";
    out += text;
  };
  // Copied as they are (JSON.stringify drops undefined and keeps null).
  for (auto [name, field] : {std::pair{"format", Field::format}, std::pair{"generatedBy", Field::generated_by},
                             std::pair{"convertedBy", Field::converted_by}}) {
    if (auto text = a.field(field)) put(name, *text);
  }
  // Written only when not null-ish.
  for (auto [name, field] : {std::pair{"signature", Field::signature}, std::pair{"userDefinedMetadata", Field::user_defined_metadata},
                             std::pair{"modelInitializer", Field::model_initializer},
                             std::pair{"initializerSignature", Field::initializer_signature},
                             std::pair{"trainingConfig", Field::training_config}}) {
    if (!a.is_nullish(field)) put(name, *a.field(field));
  }
  if (auto extra = a.field(Field::extra); extra && extra->size() > 2) {
    if (out.size() > 1) out += ',';
    out += extra->substr(1, extra->size() - 2);
  }
  return out + "}";
}

std::string encode_weights(const sdk::ArtifactsView& a, const std::string& key, const sdk::Context& context) {
  const std::uint64_t total = a.weight_data_size();
  std::string out(base64_encoded_size(total), '\0');
  Base64Encoder encoder(out.data());
  std::uint64_t done = 0;
  a.for_each_chunk([&](std::span<const std::byte> chunk) {
    while (!chunk.empty()) {
      context.throw_if_cancelled("saving '" + key + "'");
      const auto piece = chunk.first(std::min(chunk.size(), kPieceBytes));
      encoder.update(piece);
      done += piece.size();
      chunk = chunk.subspan(piece.size());
      context.progress(done, total, key);
    }
  });
  const std::size_t written = encoder.finish();
  if (written != out.size()) {
    throw Error(Code::internal, "the weight data of '" + key + "' changed size while it was encoded (" +
                                    std::to_string(written) + " base64 characters, expected " + std::to_string(out.size()) + ")");
  }
  return out;
}

// Decodes the weight value straight into one buffer the core allocated.
void decode_weights(std::string_view text, const std::string& path, const std::string& key, const sdk::Context& context,
                    sdk::LoadSink& sink) {
  std::string stripped;
  if (base64_has_whitespace(text)) {  // atob() skips ASCII whitespace
    stripped = base64_strip_whitespace(text);
    text = stripped;
  }
  auto corrupt = [&](const Base64Error& e) {
    return Error(Code::corrupt, "In local storage, the binary weight values of model " + in_quotes(path) + " (key '" + key +
                                    "') are not valid base64: " + e.what() + (stripped.empty() ? "" : " (after removing whitespace)"));
  };
  std::size_t size = 0;
  try {
    size = base64_decoded_size(text);
  } catch (const Base64Error& e) {
    throw corrupt(e);
  }
  std::span<std::byte> out = sink.append_alloc(size);
  constexpr std::size_t kPieceChars = kPieceBytes / 3 * 4;
  try {
    for (std::size_t at = 0; at < text.size(); at += kPieceChars) {
      context.throw_if_cancelled("loading '" + key + "'");
      const std::string_view piece = text.substr(at, kPieceChars);
      const std::size_t first = at / 4 * 3;
      const bool last = at + piece.size() == text.size();
      const std::size_t bytes = last ? size - first : piece.size() / 4 * 3;
      base64_decode(piece, out.subspan(first, bytes), at, last);
      context.progress(first + bytes, size, key);
    }
  } catch (const Base64Error& e) {
    throw corrupt(e);
  }
}

// Sets the fields a model_metadata value holds, as tfjs's load reads them.
void apply_metadata(std::string_view text, const std::string& path, const std::string& key, sdk::LoadSink& sink) {
  std::vector<JsonMember> members;
  try {
    members = object_members(text);
  } catch (const JsonError& e) {
    throw Error(Code::corrupt, "In local storage, the metadata of model " + in_quotes(path) + " (key '" + key +
                                   "') is not a JSON object: " + e.what());
  }
  // JSON.parse keeps the last of duplicate keys.
  std::vector<JsonMember> unique;
  for (auto& m : members) {
    auto same = std::find_if(unique.begin(), unique.end(), [&](const JsonMember& u) { return u.key == m.key; });
    if (same != unique.end()) {
      same->value = m.value;
    } else {
      unique.push_back(std::move(m));
    }
  }
  std::string extra;
  for (const JsonMember& m : unique) {
    static constexpr std::pair<std::string_view, Field> kAsIs[] = {
        {"format", Field::format}, {"generatedBy", Field::generated_by}, {"convertedBy", Field::converted_by}};
    static constexpr std::pair<std::string_view, Field> kUnlessNull[] = {
        {"signature", Field::signature},
        {"userDefinedMetadata", Field::user_defined_metadata},
        {"modelInitializer", Field::model_initializer},
        {"initializerSignature", Field::initializer_signature},
        {"trainingConfig", Field::training_config}};
    auto as_is = std::find_if(std::begin(kAsIs), std::end(kAsIs), [&](const auto& p) { return p.first == m.key; });
    auto unless_null = std::find_if(std::begin(kUnlessNull), std::end(kUnlessNull), [&](const auto& p) { return p.first == m.key; });
    if (as_is != std::end(kAsIs)) {
      sink.set_field(as_is->second, m.value, key);
    } else if (unless_null != std::end(kUnlessNull)) {
      if (m.value != "null") sink.set_field(unless_null->second, m.value, key);
    } else {
      extra += (extra.empty() ? "{" : ",") + json_quote(m.key) + ":" + std::string(m.value);
    }
  }
  if (!extra.empty()) sink.set_field(Field::extra, extra + "}", key);
}

bool under(std::string_view path, std::string_view prefix) {
  if (prefix.empty()) return true;
  if (prefix.ends_with('/')) return path.starts_with(prefix);
  return path == prefix || (path.starts_with(prefix) && path[prefix.size()] == '/');
}

WebStorage open_store(const Settings& settings, WebStorage::Mode mode) {
  WebStorage::Options options;
  options.quota = settings.quota;
  options.mode = mode;
  return WebStorage(settings.location.file, options);
}

}  // namespace

Settings settings_of(const sdk::Context& context) {
  try {
    Settings s;
    s.location = store_location(context.option("data_dir"), context.option("origin"));
    s.quota = resolve_quota(context.option("quota"));
    return s;
  } catch (const StoreError& e) {
    rethrow(e);
  }
}

std::string model_path_of(std::string_view url) {
  std::string_view path = url;
  if (path.starts_with(kScheme)) path.remove_prefix(kScheme.size());
  if (path.empty()) {
    throw Error(Code::invalid_argument, "For local storage, modelPath must not be null, undefined or empty.");
  }
  if (!utf16_length(path)) {
    throw Error(Code::invalid_argument, "The local storage model path in '" + std::string(url) +
                                            "' is not valid UTF-8 text (localStorage keys are Unicode strings)");
  }
  return std::string(path);
}

void save_model(const Settings& settings, const std::string& path, const sdk::ArtifactsView& a, const sdk::Context& context,
                sdk::SaveResult& result) {
  if (a.topology_is_binary()) {
    throw Error(Code::invalid_argument, "BrowserLocalStorage.save() does not support saving model topology in binary formats yet.");
  }
  const auto topology = a.field(Field::model_topology);
  const auto specs = a.field(Field::weight_specs);
  if (!topology && !specs && !(a.has_weight_data() && a.weight_data_size() > 0)) {
    throw Error(Code::invalid_argument, "Cannot save model " + in_quotes(path) +
                                            " to local storage: it has neither a model topology nor weights "
                                            "(TensorFlow.js would store the text 'undefined' and fail to load it back)");
  }
  const ModelKeys keys(path);

  // The info first, as tfjs computes it (getModelArtifactsInfoForJSON).
  StoredInfo info;
  info.date_saved_ms = now_ms();
  info.has_date = true;
  info.model_topology_bytes = a.is_nullish(Field::model_topology) ? 0 : topology->size();
  info.weight_specs_bytes = a.is_nullish(Field::weight_specs) ? 0 : specs->size();
  info.weight_data_bytes = a.has_weight_data() ? a.weight_data_size() : 0;

  // Every value is ready before the write lock is taken. An absent topology or weight specs is
  // the text "undefined", as tfjs stores it (JSON.stringify(undefined)); load reads it as absent.
  const std::string info_text = info_json(info);
  const std::string_view topology_text = topology ? *topology : std::string_view("undefined");
  const std::string_view specs_text = specs ? *specs : std::string_view("undefined");
  const std::string data_text = a.has_weight_data() ? encode_weights(a, keys.weight_data, context) : std::string();
  const std::string metadata_text = metadata_json(a);
  context.throw_if_cancelled("saving '" + std::string(kScheme) + path + "'");

  const std::string failed = "Failed to save model " + in_quotes(path) + " to local storage: ";
  try {
    WebStorage store = open_store(settings, WebStorage::Mode::read_write);
    // One transaction: on any failure nothing of the new model is written and a model saved
    // before under the same path stays as it was (tfjs removes all five keys instead, losing it).
    store.write_transaction([&] {
      store.set_item(keys.info, info_text);
      store.set_item(keys.topology, topology_text);
      store.set_item(keys.weight_specs, specs_text);
      store.set_item(keys.weight_data, data_text);
      store.set_item(keys.model_metadata, metadata_text);
    });
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::quota_exceeded) {
      sdk::log(MODELPORT_LOG_DEBUG, failed + e.what());
      throw Error(Code::quota_exceeded, failed + "size quota being exceeded is a possible cause of this failure: " +
                                            "modelTopologyBytes=" + std::to_string(*info.model_topology_bytes) +
                                            ", weightSpecsBytes=" + std::to_string(*info.weight_specs_bytes) +
                                            ", weightDataBytes=" + std::to_string(*info.weight_data_bytes) + ".");
    }
    rethrow(e, failed);
  }

  sdk::ModelInfo out = model_info_of(info);
  result.set_info(out);
}

void load_model(const Settings& settings, const std::string& path, const sdk::Context& context, sdk::LoadSink& sink) {
  const ModelKeys keys(path);
  try {
    WebStorage store = open_store(settings, WebStorage::Mode::read_only);
    // One snapshot: a save running meanwhile is seen entirely or not at all.
    store.read_transaction([&] {
      const auto info_text = store.get_item(keys.info);
      if (!info_text) throw Error(Code::not_found, "In local storage, there is no model with name " + in_quotes(path));
      StoredInfo info;
      try {
        info = parse_info_json(*info_text);
      } catch (const JsonError& e) {
        throw Error(Code::corrupt, "In local storage, the info of model " + in_quotes(path) + " (key '" + keys.info +
                                       "') is not a JSON object: " + e.what());
      }
      if (info.model_topology_type != "JSON") {
        throw Error(Code::unimplemented, "BrowserLocalStorage does not support loading non-JSON model topology yet.");
      }
      // JSON.parse of a missing item and of the text "null" both give null: "missing".
      const auto topology = store.get_item(keys.topology);
      if (!topology || *topology == "null") {
        throw Error(Code::not_found, "In local storage, the topology of model " + in_quotes(path) + " is missing.");
      }
      if (*topology != "undefined") sink.set_field(Field::model_topology, *topology, keys.topology);
      const auto specs = store.get_item(keys.weight_specs);
      if (!specs || *specs == "null") {
        throw Error(Code::not_found, "In local storage, the weight specs of model " + in_quotes(path) + " are missing.");
      }
      const bool has_specs = *specs != "undefined";
      if (has_specs) sink.set_field(Field::weight_specs, *specs, keys.weight_specs);
      // Absent in the "v0" layout: then no metadata field is set.
      if (const auto metadata = store.get_item(keys.model_metadata)) apply_metadata(*metadata, path, keys.model_metadata, sink);
      const bool found = store.visit_item(keys.weight_data, [&](std::string_view text) {
        // A model saved without weights ("undefined" specs, "" data) has none.
        if (text.empty() && !has_specs) return;
        decode_weights(text, path, keys.weight_data, context, sink);
      });
      if (!found) {
        throw Error(Code::not_found, "In local storage, the binary weight values of model " + in_quotes(path) + " are missing.");
      }
    });
  } catch (const StoreError& e) {
    rethrow(e, "Cannot load model " + in_quotes(path) + " from local storage: ");
  }
}

void list_models(const Settings& settings, std::string_view path_prefix, sdk::ListSink& sink) {
  try {
    WebStorage store = open_store(settings, WebStorage::Mode::read_only);
    store.read_transaction([&] {
      for (const std::string& key : store.keys_with_prefix(std::string(kModelsPrefix) + "/")) {
        std::optional<std::string> path;
        try {
          path = model_path_of_info_key(key);
        } catch (const std::invalid_argument& e) {
          throw Error(Code::corrupt, std::string(e.what()) + " (in the localStorage store '" + store.file().string() + "')");
        }
        if (!path || !under(*path, path_prefix)) continue;
        sdk::ModelInfo info;
        store.visit_item(key, [&](std::string_view text) { info = readable_info(text, key); });
        sink.add(std::string(kScheme) + *path, info);
      }
    });
  } catch (const StoreError& e) {
    rethrow(e, "Cannot list the models in local storage: ");
  }
}

sdk::ModelInfo remove_model(const Settings& settings, const std::string& path) {
  const ModelKeys keys(path);
  const std::string missing = "Cannot find model at path " + in_quotes(path);
  try {
    std::error_code ec;
    if (!fs::exists(settings.location.file, ec)) throw Error(Code::not_found, missing);
    WebStorage store = open_store(settings, WebStorage::Mode::read_write);
    sdk::ModelInfo info = store.write_transaction([&] {
      const auto text = store.get_item(keys.info);
      if (!text) throw Error(Code::not_found, missing);
      for (const std::string* key : {&keys.info, &keys.topology, &keys.weight_specs, &keys.weight_data, &keys.model_metadata}) {
        store.remove_item(*key);
      }
      return readable_info(*text, keys.info);
    });
    store.compact();
    return info;
  } catch (const StoreError& e) {
    rethrow(e, "Cannot remove model " + in_quotes(path) + " from local storage: ");
  }
}

}  // namespace modelport::localstorage
