#include "model_service.hpp"

#include "multipart.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_json.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weight_stats.hpp>
#include <modelport/weights_codec.hpp>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>

namespace modelport::serve {

namespace bj = boost::json;

std::string error_json(std::string_view message, std::string_view code) {
  bj::object o;
  o["error"] = message;
  o["code"] = code;
  return json::stringify(o);
}

[[noreturn]] void rethrow_as_serve_error(bool store_side) {
  try {
    throw;
  } catch (const ServeError&) {
    throw;
  } catch (const Error& e) {
    int status = 500;
    switch (e.code()) {
      case ErrorCode::not_found: status = 404; break;
      case ErrorCode::invalid_argument: status = store_side ? 500 : 400; break;
      case ErrorCode::corrupt: status = store_side ? 500 : 400; break;
      case ErrorCode::quota_exceeded: status = 507; break;
      case ErrorCode::unavailable: status = 503; break;
      case ErrorCode::cancelled: status = 503; break;
      case ErrorCode::already_exists: status = 409; break;
      case ErrorCode::unimplemented: status = 501; break;
      case ErrorCode::permission_denied:  // the server's account cannot reach its own store
      case ErrorCode::internal: status = 500; break;
    }
    throw ServeError(status, std::string(to_string(e.code())), e.what());
  } catch (const std::bad_alloc&) {
    throw ServeError(507, "out_of_memory", "the server ran out of memory");
  } catch (const std::exception& e) {
    throw ServeError(500, "internal", std::string("internal error: ") + e.what());
  }
}

// --- names ---------------------------------------------------------------------------------------

ModelPath parse_model_path(std::string_view target) {
  auto parsed = boost::urls::parse_origin_form(target);
  if (!parsed) throw ServeError(400, "bad_target", "request target is not a valid path: " + parsed.error().message());
  auto segments = parsed->segments();  // percent-decoded
  auto it = segments.begin();
  if (it == segments.end() || *it != "models") {
    throw ServeError(404, "not_found", "no such resource; models live under /models");
  }
  ModelPath path;
  std::size_t total = 0;
  for (++it; it != segments.end(); ++it) {
    std::string segment = *it;
    path.segments.push_back(std::move(segment));
  }
  // "/models/" is the listing too.
  if (path.segments.size() == 1 && path.segments[0].empty()) path.segments.clear();
  for (const auto& s : path.segments) {
    auto bad = [&](const std::string& why) {
      throw ServeError(400, "bad_name", "invalid model path segment " + json::stringify(bj::string_view(s)) + ": " + why);
    };
    if (s.empty()) bad("empty segment (double or trailing slash)");
    if (s == "." || s == "..") bad("'.' and '..' are not allowed");
    if (s.size() > 255) bad("longer than 255 bytes");
    for (char c : s) {
      if (c == '/' || c == '\\') bad("contains a slash or backslash");
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) bad("contains a control character or NUL");
    }
    total += s.size() + 1;
  }
  if (total > 1024) throw ServeError(400, "bad_name", "model path longer than 1024 bytes");
  return path;
}

std::string join_segments(std::span<const std::string> segments) {
  std::string out;
  for (const auto& s : segments) {
    if (!out.empty()) out += '/';
    out += s;
  }
  return out;
}

RangeRequest parse_range(std::string_view header, std::uint64_t size) {
  RangeRequest whole;
  RangeRequest bad{RangeRequest::unsatisfiable, 0, 0};
  auto trim = [](std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
  };
  header = trim(header);
  if (header.size() < 6 || !std::equal(header.begin(), header.begin() + 6, "bytes=",
                                       [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; })) {
    return whole;  // another unit: ignored
  }
  std::string_view spec = trim(header.substr(6));
  if (spec.find(',') != std::string_view::npos) return whole;
  auto number = [](std::string_view s, std::uint64_t& out) {
    if (s.empty() || s.size() > 19) return false;
    out = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      out = out * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return true;
  };
  std::size_t dash = spec.find('-');
  if (dash == std::string_view::npos || size == 0) return bad;
  std::string_view first_text = trim(spec.substr(0, dash)), last_text = trim(spec.substr(dash + 1));
  std::uint64_t first = 0, last = 0;
  if (first_text.empty()) {  // suffix: the last n bytes
    if (!number(last_text, last) || last == 0) return bad;
    std::uint64_t n = std::min(last, size);
    return {RangeRequest::partial, size - n, n};
  }
  if (!number(first_text, first) || first >= size) return bad;
  if (last_text.empty()) {
    last = size - 1;
  } else if (!number(last_text, last) || last < first) {
    return bad;
  }
  last = std::min(last, size - 1);
  return {RangeRequest::partial, first, last - first + 1};
}

bool etag_matches(std::string_view header, std::string_view etag) {
  auto strip_weak = [](std::string_view s) { return s.starts_with("W/") ? s.substr(2) : s; };
  std::string_view want = strip_weak(etag);
  while (!header.empty()) {
    std::size_t comma = std::min(header.find(','), header.size());
    std::string_view item = header.substr(0, comma);
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (item == "*" || (!want.empty() && strip_weak(item) == want)) return true;
    header.remove_prefix(std::min(comma + 1, header.size()));
  }
  return false;
}

bool bearer_token_matches(std::string_view header, std::string_view token) {
  constexpr std::string_view kScheme = "Bearer ";
  if (header.size() < kScheme.size()) return false;
  bool scheme_ok = std::equal(kScheme.begin(), kScheme.end(), header.begin(),
                              [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b)); });
  std::string_view given = header.substr(kScheme.size());
  // Compare digests so neither the content nor the length of the token leaks through timing.
  unsigned char a[SHA256_DIGEST_LENGTH], b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(given.data()), given.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0 && scheme_ok;
}

// --- served models -------------------------------------------------------------------------------

ServedModel::ServedModel(const ModelArtifacts& artifacts, std::string_view source)
    : loaded_at_(std::chrono::steady_clock::now()) {
  // One shard per loaded buffer, big buffers cut into 4 MiB slices (converter-sized, so tfjs
  // fetches them in parallel). Slices share the store's memory (the file plugin's mmaps).
  std::vector<Buffer> pieces;
  if (artifacts.weight_data) {
    for (const Buffer& b : artifacts.weight_data->buffers()) {
      if (b.empty()) continue;
      for (std::size_t off = 0; off < b.size(); off += kShardBytes) {
        pieces.push_back(b.slice(off, std::min<std::size_t>(kShardBytes, b.size() - off)));
      }
    }
  }
  std::vector<std::string> paths;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    auto shard = std::make_unique<Shard>();
    shard->path = "group1-shard" + std::to_string(i + 1) + "of" + std::to_string(pieces.size()) + ".bin";
    shard->bytes = std::move(pieces[i]);
    paths.push_back(shard->path);
    by_path_.emplace(shard->path, shard.get());
    shards_.push_back(std::move(shard));
  }
  if (artifacts.has_binary_topology()) {
    throw ServeError(500, "unsupported", "model '" + std::string(source) + "' has a binary topology, which model.json cannot hold");
  }
  model_json_ = serialize_model_json(artifacts, single_group_manifest(paths, artifacts.weight_specs), ModelJsonLayout::browser);
  model_json_etag_ = "\"" + sha256_hex(std::as_bytes(std::span<const char>(model_json_))).substr(0, 40) + "\"";
}

const Buffer* ServedModel::shard(std::string_view path) const {
  auto it = by_path_.find(path);
  return it == by_path_.end() ? nullptr : &it->second->bytes;
}

std::string ServedModel::shard_etag(std::string_view path) const {
  auto it = by_path_.find(path);
  if (it == by_path_.end()) return {};
  const Shard& s = *it->second;
  std::call_once(s.etag_once, [&] { s.etag = "\"" + sha256_hex(s.bytes.span()).substr(0, 40) + "\""; });
  return s.etag;
}

// --- uploads -------------------------------------------------------------------------------------

ModelArtifacts artifacts_from_upload(const Buffer& body, std::string_view content_type, std::string_view source) {
  std::vector<multipart::Part> parts;
  try {
    parts = multipart::parse(body.span(), multipart::boundary_from_content_type(content_type));
  } catch (const multipart::MultipartError& e) {
    throw ServeError(400, "bad_multipart", std::string(source) + ": " + e.what());
  }
  const multipart::Part* json_part = nullptr;
  const multipart::Part* weights_part = nullptr;
  for (const auto& part : parts) {
    const multipart::Part** slot = part.name == "model.json" ? &json_part : part.name == "model.weights.bin" ? &weights_part : nullptr;
    if (!slot) {
      throw ServeError(400, "unexpected_part", std::string(source) + ": unexpected multipart part '" + part.name +
                                                   "' (a tfjs upload has 'model.json' and 'model.weights.bin')");
    }
    if (*slot) throw ServeError(400, "duplicate_part", std::string(source) + ": multipart part '" + part.name + "' appears twice");
    *slot = &part;
  }
  if (!json_part) throw ServeError(400, "missing_part", std::string(source) + ": the upload has no 'model.json' part");

  ModelJson parsed;
  const std::string json_source = std::string(source) + " part model.json";
  try {
    parsed = parse_model_json(body.view().substr(json_part->offset, json_part->size), json_source);
  } catch (const Error& e) {
    throw ServeError(400, "bad_model_json", e.what());
  }
  if (parsed.bare_manifest) throw ServeError(400, "bad_model_json", json_source + ": a bare weights manifest is not a model");
  if (!parsed.artifacts.model_topology && !parsed.weights_manifest) {
    throw ServeError(400, "bad_model_json", json_source + ": has neither modelTopology nor weightsManifest");
  }
  ModelArtifacts artifacts = std::move(parsed.artifacts);
  const bool wants_weights = artifacts.weight_specs && !artifacts.weight_specs->empty();
  if (weights_part) {
    if (!artifacts.weight_specs) {
      throw ServeError(400, "bad_weights", std::string(source) + ": part 'model.weights.bin' given but model.json has no weightsManifest");
    }
    artifacts.weight_data = WeightData(body.slice(weights_part->offset, weights_part->size));
    try {
      plan_weights(*artifacts.weight_specs, *artifacts.weight_data, std::string(source) + " part model.weights.bin");
    } catch (const Error& e) {
      throw ServeError(400, "bad_weights", e.what());
    }
  } else if (wants_weights) {
    throw ServeError(400, "missing_part", std::string(source) + ": the manifest lists " +
                                              std::to_string(artifacts.weight_specs->size()) +
                                              " weights but the upload has no 'model.weights.bin' part");
  }
  return artifacts;
}

// --- the service ---------------------------------------------------------------------------------

ModelService::ModelService(ServiceOptions options) : options_(std::move(options)) {}

std::string ModelService::model_url(std::string_view name) const {
  const std::string& store = options_.store_url;
  bool joined = store.ends_with("://") || store.ends_with('/');
  return store + (joined ? "" : "/") + std::string(name);
}

void ModelService::invalidate(const std::string& name) {
  std::lock_guard lock(mutex_);
  Entry& e = cache_[name];
  e.model.reset();
  ++e.epoch;
}

std::string ModelService::save(std::string_view name, const ModelArtifacts& artifacts) {
  SaveOptions options;
  for (const auto& [k, v] : options_.plugin_options) options.plugin_options[k] = v;
  std::string key(name);
  try {
    SaveResult result = modelport::save(model_url(name), artifacts, options);
    invalidate(key);
    bj::object o = to_json(result.model_artifacts_info);
    bj::object out;
    out["name"] = key;
    out["modelArtifactsInfo"] = std::move(o);
    return json::stringify(out);
  } catch (...) {
    invalidate(key);
    rethrow_as_serve_error(true);
  }
}

std::shared_ptr<const ServedModel> ModelService::get(std::string_view name, bool fresh) {
  const auto requested_at = std::chrono::steady_clock::now();
  auto usable = [&](const Entry& e) {
    if (!e.model) return false;
    if (!fresh) return true;
    return e.model->loaded_at() + options_.model_json_max_age >= requested_at;
  };
  std::shared_ptr<std::mutex> load_mutex;
  {
    std::lock_guard lock(mutex_);
    Entry& e = cache_[std::string(name)];
    if (usable(e)) return e.model;
    load_mutex = e.load_mutex;
  }
  // One load per name at a time: concurrent shard requests for a cold model wait for it.
  std::lock_guard load_lock(*load_mutex);
  std::uint64_t epoch;
  {
    std::lock_guard lock(mutex_);
    Entry& e = cache_[std::string(name)];
    if (usable(e)) return e.model;
    epoch = e.epoch;
  }
  LoadOptions options;
  for (const auto& [k, v] : options_.plugin_options) options.plugin_options[k] = v;
  const std::string url = model_url(name);
  std::shared_ptr<const ServedModel> model;
  try {
    model = std::make_shared<const ServedModel>(modelport::load(url, options), url);
  } catch (...) {
    {
      // Requests for names that do not exist must not grow the cache.
      std::lock_guard lock(mutex_);
      auto it = cache_.find(name);
      if (it != cache_.end() && !it->second.model && it->second.epoch == epoch) cache_.erase(it);
    }
    try {
      throw;
    } catch (const Error& e) {
      // Every scheme reports a missing model as not_found; anything else is the store's problem.
      if (e.code() == ErrorCode::not_found) throw ServeError(404, "not_found", "no model '" + std::string(name) + "' in the store");
      rethrow_as_serve_error(true);
    } catch (...) {
      rethrow_as_serve_error(true);
    }
  }
  std::lock_guard lock(mutex_);
  Entry& e = cache_[std::string(name)];
  if (e.epoch == epoch) e.model = model;  // a save or removal meanwhile makes this load stale
  return model;
}

std::shared_ptr<const ServedModel> ModelService::cached(std::string_view name, bool fresh) {
  std::lock_guard lock(mutex_);
  auto it = cache_.find(name);
  if (it == cache_.end() || !it->second.model) return nullptr;
  if (fresh && it->second.model->loaded_at() + options_.model_json_max_age < std::chrono::steady_clock::now()) return nullptr;
  return it->second.model;
}

std::string ModelService::list_json() {
  CommonOptions options;
  for (const auto& [k, v] : options_.plugin_options) options.plugin_options[k] = v;
  std::vector<ListedModel> models;
  try {
    models = list_models(options_.store_url, options);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::not_found) rethrow_as_serve_error(true);  // a store not created yet is empty
  } catch (...) {
    rethrow_as_serve_error(true);
  }
  const std::string prefix = model_url("");
  bj::array list;
  for (const auto& m : models) {
    if (!m.url.starts_with(prefix) || m.url.size() == prefix.size()) continue;  // not below the store
    bj::object o;
    o["name"] = m.url.substr(prefix.size());
    for (const auto& kv : to_json(m.info)) o[kv.key()] = kv.value();
    list.emplace_back(std::move(o));
  }
  bj::object out;
  out["models"] = std::move(list);
  return json::stringify(out);
}

std::string ModelService::remove(std::string_view name) {
  CommonOptions options;
  for (const auto& [k, v] : options_.plugin_options) options.plugin_options[k] = v;
  std::string key(name);
  try {
    ModelArtifactsInfo info = remove_model(model_url(name), options);
    invalidate(key);
    bj::object out;
    out["name"] = key;
    out["modelArtifactsInfo"] = to_json(info);
    return json::stringify(out);
  } catch (const Error& e) {
    invalidate(key);
    if (e.code() == ErrorCode::not_found) throw ServeError(404, "not_found", "no model '" + key + "' in the store");
    rethrow_as_serve_error(true);
  } catch (...) {
    invalidate(key);
    rethrow_as_serve_error(true);
  }
}

}  // namespace modelport::serve
