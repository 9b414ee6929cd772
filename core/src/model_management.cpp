#include <modelport/digests.hpp>
#include <modelport/error.hpp>
#include <modelport/json.hpp>
#include <modelport/model_management.hpp>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stop_token>

namespace modelport {

ModelStoreManager::~ModelStoreManager() = default;

std::string url_scheme_prefix(std::string_view url) {
  auto pos = url.find("://");
  return pos == std::string_view::npos ? std::string() : std::string(url.substr(0, pos + 3));
}

namespace {

std::string normalize_scheme(std::string scheme) {
  if (!scheme.ends_with("://")) scheme += "://";
  return scheme;
}

struct ManagerEntry {
  std::string scheme;
  std::string provider;
  std::shared_ptr<ModelStoreManager> manager;
};

}  // namespace

struct ModelStoreRegistry::Impl {
  mutable std::mutex mutex;
  std::vector<ManagerEntry> entries;
};

ModelStoreRegistry::ModelStoreRegistry() : impl_(std::make_unique<Impl>()) {}
ModelStoreRegistry::~ModelStoreRegistry() = default;

ModelStoreRegistry& ModelStoreRegistry::global() {
  // Leaked on purpose, like RouterRegistry::global(): managers may belong to plugins.
  static auto* registry = new ModelStoreRegistry();
  return *registry;
}

void ModelStoreRegistry::register_manager(std::string scheme, std::string provider,
                                          std::shared_ptr<ModelStoreManager> manager, bool replace) {
  if (scheme.empty() || scheme == "://") throw Error(ErrorCode::invalid_argument, "scheme must not be an empty string.");
  scheme = normalize_scheme(std::move(scheme));
  std::lock_guard lock(impl_->mutex);
  auto it = std::find_if(impl_->entries.begin(), impl_->entries.end(), [&](const ManagerEntry& e) { return e.scheme == scheme; });
  if (it != impl_->entries.end()) {
    if (!replace) {
      throw Error(ErrorCode::already_exists, "A model store manager is already registered for scheme '" +
                                                 scheme.substr(0, scheme.size() - 3) + "' (by " + it->provider + ").");
    }
    it->provider = std::move(provider);
    it->manager = std::move(manager);
    return;
  }
  impl_->entries.push_back({std::move(scheme), std::move(provider), std::move(manager)});
}

void ModelStoreRegistry::unregister_manager(std::string_view scheme) {
  std::string s = normalize_scheme(std::string(scheme));
  std::lock_guard lock(impl_->mutex);
  std::erase_if(impl_->entries, [&](const ManagerEntry& e) { return e.scheme == s; });
}

std::shared_ptr<ModelStoreManager> ModelStoreRegistry::manager_for(std::string_view url) const {
  std::string scheme = url_scheme_prefix(url);
  if (scheme.empty()) {
    std::string list;
    for (const auto& s : schemes()) list += (list.empty() ? "" : ",") + s.substr(0, s.size() - 3);
    throw Error(ErrorCode::invalid_argument,
                "The url string provided does not contain a scheme. Supported schemes are: " + list);
  }
  std::lock_guard lock(impl_->mutex);
  for (const auto& e : impl_->entries) {
    if (e.scheme == scheme) return e.manager;
  }
  throw Error(ErrorCode::not_found, "Cannot find model manager for scheme '" + scheme.substr(0, scheme.size() - 3) + "'");
}

std::vector<std::string> ModelStoreRegistry::schemes() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<std::string> out;
  for (const auto& e : impl_->entries) out.push_back(e.scheme);
  return out;
}

void ModelStoreRegistry::clear() {
  std::lock_guard lock(impl_->mutex);
  impl_->entries.clear();
}

std::vector<ListedModel> list_models(std::string_view url, const CommonOptions& options, const ModelStoreRegistry& stores) {
  return stores.manager_for(url)->list_models(url, options);
}

ModelArtifactsInfo remove_model(std::string_view url, const CommonOptions& options, const ModelStoreRegistry& stores) {
  return stores.manager_for(url)->remove_model(url, options);
}

namespace {

// Equal as JavaScript sees JSON: 1.0 and 1 are one number (a text round trip turns one into the
// other), so compare the JSON.stringify texts rather than Boost's typed values.
bool same_json(const boost::json::value& a, const boost::json::value& b) {
  return json::stringify(a) == json::stringify(b);
}

bool same_weight_bytes(const WeightData& a, const WeightData& b) {
  if (a.size() != b.size()) return false;
  // Walk both buffer lists in step; no joined copies.
  std::size_t ia = 0, ib = 0, oa = 0, ob = 0;
  const auto& ba = a.buffers();
  const auto& bb = b.buffers();
  std::uint64_t left = a.size();
  while (left > 0) {
    while (oa == ba[ia].size()) ++ia, oa = 0;
    while (ob == bb[ib].size()) ++ib, ob = 0;
    std::size_t n = std::min(ba[ia].size() - oa, bb[ib].size() - ob);
    if (std::memcmp(ba[ia].data() + oa, bb[ib].data() + ob, n) != 0) return false;
    oa += n;
    ob += n;
    left -= n;
  }
  return true;
}

bool same_topology(const std::optional<ModelTopology>& a, const std::optional<ModelTopology>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  if (a->index() != b->index()) return false;
  if (const auto* ja = std::get_if<boost::json::value>(&*a)) return same_json(*ja, std::get<boost::json::value>(*b));
  const Buffer& x = std::get<Buffer>(*a);
  const Buffer& y = std::get<Buffer>(*b);
  return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size()) == 0);
}

// Null-ish fields compare equal whether absent or null: stores differ in which they keep.
bool same_field(const JsonField& a, const JsonField& b) {
  if (is_nullish(a) || is_nullish(b)) return is_nullish(a) == is_nullish(b);
  return same_json(*a, *b);
}

struct Handlers {
  HandlerPtr load;
  HandlerPtr save;
};

Handlers find_handlers(std::string_view source, std::string_view destination, const LoadOptions& load_options,
                       const SaveOptions& save_options, const RouterRegistry& routers) {
  if (source == destination) {
    throw Error(ErrorCode::invalid_argument, "Old path and new path are the same: '" + std::string(source) + "'");
  }
  auto loads = routers.get_load_handlers(source, load_options);
  if (loads.empty()) {
    throw Error(ErrorCode::not_found, "Copying failed because no load handler is found for source URL " + std::string(source) + ".");
  }
  if (loads.size() > 1) {
    throw Error(ErrorCode::invalid_argument, "Copying failed because more than one (" + std::to_string(loads.size()) +
                                                 ") load handlers for source URL " + std::string(source) + ".");
  }
  auto saves = routers.get_save_handlers(destination, save_options);
  if (saves.empty()) {
    throw Error(ErrorCode::not_found,
                "Copying failed because no save handler is found for destination URL " + std::string(destination) + ".");
  }
  if (saves.size() > 1) {
    // tfjs prints the load handler count here; the save count is the one that means something.
    throw Error(ErrorCode::invalid_argument, "Copying failed because more than one (" + std::to_string(saves.size()) +
                                                 ") save handlers for destination URL " + std::string(destination) + ".");
  }
  if (!loads[0].handler->can_load()) {
    throw Error(ErrorCode::unimplemented, "the handler for source URL " + std::string(source) + " cannot load");
  }
  if (!saves[0].handler->can_save()) {
    throw Error(ErrorCode::unimplemented, "the handler for destination URL " + std::string(destination) + " cannot save");
  }
  return {std::move(loads[0].handler), std::move(saves[0].handler)};
}

HandlerPtr one_load_handler(std::string_view url, const LoadOptions& options, const RouterRegistry& routers) {
  auto loads = routers.get_load_handlers(url, options);
  if (loads.size() != 1 || !loads[0].handler->can_load()) {
    throw Error(ErrorCode::not_found, "no single load handler for " + std::string(url));
  }
  return std::move(loads[0].handler);
}

HandlerPtr one_save_handler(std::string_view url, const SaveOptions& options, const RouterRegistry& routers) {
  auto saves = routers.get_save_handlers(url, options);
  if (saves.size() != 1 || !saves[0].handler->can_save()) {
    throw Error(ErrorCode::not_found, "no single save handler for " + std::string(url));
  }
  return std::move(saves[0].handler);
}

// What a copy puts around its source's stream: the copy stops at the next part once either side
// is cancelled, and (for the second pass of a two-pass copy, checked against digests the first
// pass computed) a mismatch means the source changed in between, not that it is damaged.
class CopyGuard final : public WeightStream {
 public:
  CopyGuard(std::unique_ptr<WeightStream> inner, const CommonOptions& load, const CommonOptions& save, std::string source,
            bool mismatch_means_changed)
      : WeightStream(inner->layout()),
        inner_(std::move(inner)),
        cancels_{load.cancel, save.cancel},  // the tokens, not the options: they may be copies that go first
        source_(std::move(source)),
        mismatch_means_changed_(mismatch_means_changed) {}

 protected:
  Buffer read_part(std::size_t) override {
    for (const std::stop_token& cancel : cancels_) {
      if (cancel.stop_requested()) throw Error(ErrorCode::cancelled, "copying '" + source_ + "': cancelled");
    }
    try {
      std::optional<Buffer> part = inner_->next();
      if (!part) throw Error(ErrorCode::internal, "'" + source_ + "': its weight stream ended early");
      return std::move(*part);
    } catch (const Error& e) {
      if (!mismatch_means_changed_ || e.code() != ErrorCode::corrupt) throw;
      throw Error(ErrorCode::unavailable, "'" + source_ + "' changed while it was being copied (" + e.what() + "); copy it again");
    }
  }

 private:
  std::unique_ptr<WeightStream> inner_;
  std::stop_token cancels_[2];
  std::string source_;
  bool mismatch_means_changed_;
};

// The weights and the digest record a streamed copy saves. What modelport::load and
// modelport::save do about digests, done part by part: the source's record is checked as its
// bytes pass, and the copy's record is either the source's (when it describes exactly the pieces
// the copy should record, the check proves it) or computed by a first pass over the source; the
// second pass is then checked against it, so a source that changed in between fails the copy.
StreamedModel open_copy_source(IOHandler& handler, std::string_view source, const LoadOptions& load_options,
                               SaveOptions& save_options, const RouterRegistry& routers) {
  StreamedModel model = handler.load_streamed();
  if (save_options.keep_shard_layout && model.weights && !save_options.plugin_options.count("shard_bytes")) {
    if (auto size = model.weights->uniform_shard_size()) save_options.plugin_options["shard_bytes"] = std::to_string(*size);
  }
  const std::string src(source);
  // The record is read only when it is checked: with checks off, a damaged record is dropped or
  // replaced like any other, as a load would ignore it.
  const bool carries = model.artifacts.extra_fields.contains(kDigestsKey);
  std::optional<WeightDigests> recorded;
  if (carries && should_verify_digests(load_options)) recorded = recorded_weight_digests(model.artifacts, source);
  const bool verify = recorded.has_value();
  if (verify && !model.weights && recorded->weight_bytes != 0) throw digest_size_error(source, 0, recorded->weight_bytes);
  const bool wanted = save_options.digests == DigestPolicy::record || (save_options.digests == DigestPolicy::keep && carries);
  std::optional<WeightDigests> record;
  bool second_pass = false;
  if (wanted && model.weights) {
    std::uint64_t chunk = digest_chunk_bytes_for(save_options, model.weights->uniform_shard_size());
    if (chunk == 0) chunk = std::max<std::uint64_t>(model.weights->size(), 1);
    if (verify && recorded->chunk_bytes == chunk) {
      record = recorded;
    } else {
      // The record goes into model.json, which a saver may write before the first weight byte:
      // a first pass computes it, one part at a time.
      std::unique_ptr<WeightStream> first = std::move(model.weights);
      if (verify) first = digest_stream(std::move(first), 0, recorded, src);
      first = std::make_unique<CopyGuard>(read_ahead(std::move(first)), load_options, save_options, src, false);
      record = compute_weight_digests(*first, chunk);
      first.reset();
      StreamedModel again = one_load_handler(source, load_options, routers)->load_streamed();
      if (!again.weights || again.weights->size() != record->weight_bytes) {
        throw Error(ErrorCode::unavailable, "'" + src + "' changed while it was being copied; copy it again");
      }
      model.weights = std::move(again.weights);
      second_pass = true;
    }
  }
  if (model.weights && (record || verify)) {
    // Checked against the record the copy carries when there is one (it is the source's, or
    // was computed from the source's bytes), else against the source's own.
    model.weights = digest_stream(std::move(model.weights), 0, record ? record : recorded, src);
  }
  if (model.weights) {
    model.weights = std::make_unique<CopyGuard>(std::move(model.weights), load_options, save_options, src, second_pass);
  }
  model.artifacts.extra_fields.erase(kDigestsKey);
  if (record) model.artifacts.extra_fields[kDigestsKey] = to_json(*record);
  return model;
}

// Opens the source of a copy. When that teaches the save the source's shard size
// (keep_shard_layout), the save handler is made again with it, so the plugin sees the option.
StreamedModel open_copy(Handlers& h, std::string_view source, std::string_view destination, const LoadOptions& load_options,
                        const SaveOptions& save_options, const RouterRegistry& routers) {
  SaveOptions options = save_options;
  StreamedModel model = open_copy_source(*h.load, source, load_options, options, routers);
  if (options.plugin_options != save_options.plugin_options) h.save = one_save_handler(destination, options, routers);
  return model;
}

}  // namespace

bool same_model(const ModelArtifacts& a, const ModelArtifacts& b) {
  if (!same_topology(a.model_topology, b.model_topology)) return false;
  if (a.weight_specs.has_value() != b.weight_specs.has_value()) return false;
  if (a.weight_specs) {
    // Key order may differ between stores; compare by content.
    if (a.weight_specs->size() != b.weight_specs->size()) return false;
    for (std::size_t i = 0; i < a.weight_specs->size(); ++i) {
      const WeightSpec& x = (*a.weight_specs)[i];
      const WeightSpec& y = (*b.weight_specs)[i];
      if (x.name != y.name || x.shape != y.shape || x.dtype != y.dtype || x.group != y.group || !same_json(x.extra, y.extra) ||
          x.quantization.has_value() != y.quantization.has_value()) {
        return false;
      }
      if (x.quantization && (x.quantization->dtype != y.quantization->dtype || x.quantization->min != y.quantization->min ||
                             x.quantization->scale != y.quantization->scale)) {
        return false;
      }
    }
  }
  const WeightData empty;
  if (!same_weight_bytes(a.weight_data ? *a.weight_data : empty, b.weight_data ? *b.weight_data : empty)) return false;
  return same_field(a.training_config, b.training_config) && same_field(a.format, b.format) &&
         same_field(a.generated_by, b.generated_by) && same_field(a.converted_by, b.converted_by) &&
         same_field(a.signature, b.signature) && same_field(a.user_defined_metadata, b.user_defined_metadata) &&
         same_field(a.model_initializer, b.model_initializer) && same_field(a.initializer_signature, b.initializer_signature);
}

ModelArtifactsInfo copy_model(std::string_view source, std::string_view destination, const LoadOptions& load_options,
                              const SaveOptions& save_options, const RouterRegistry& routers) {
  Handlers h = find_handlers(source, destination, load_options, save_options, routers);
  StreamedModel model = open_copy(h, source, destination, load_options, save_options, routers);
  std::unique_ptr<WeightStream> weights = read_ahead(std::move(model.weights));
  return h.save->save_streamed(model.artifacts, weights.get()).model_artifacts_info;
}

ModelArtifactsInfo move_model(std::string_view source, std::string_view destination, const LoadOptions& load_options,
                              const SaveOptions& save_options, const RouterRegistry& routers,
                              const ModelStoreRegistry& stores) {
  Handlers h = find_handlers(source, destination, load_options, save_options, routers);
  // Find the source's manager before touching anything: a source that cannot be removed fails
  // the move up front instead of after a copy.
  std::shared_ptr<ModelStoreManager> source_manager = stores.manager_for(source);
  StreamedModel model = open_copy(h, source, destination, load_options, save_options, routers);
  // The digests of the bytes that went out, to compare the copy with once it is saved.
  auto sent = std::make_shared<WeightDigests>();
  std::unique_ptr<WeightStream> weights;
  if (model.weights) {
    const std::uint64_t piece = model.weights->uniform_shard_size().value_or(0);
    weights = read_ahead(digest_stream(std::move(model.weights), piece, std::nullopt, std::string(source), sent));
  }
  ModelArtifactsInfo info = h.save->save_streamed(model.artifacts, weights.get()).model_artifacts_info;
  const bool had_weights = weights != nullptr;
  weights.reset();

  HandlerPtr check;
  try {
    check = one_load_handler(destination, load_options, routers);
  } catch (const Error&) {
    throw Error(ErrorCode::internal, "moving " + std::string(source) + " to " + std::string(destination) +
                                         ": the copy cannot be loaded back to verify it; the source was kept");
  }
  // The copy is read back part by part: its own digests (if any) are checked, and its bytes are
  // compared with the digests of what was sent, so a move never holds two models in memory.
  StreamedModel copy = check->load_streamed();
  const auto differs = [&](const std::string& why) {
    return Error(ErrorCode::corrupt, "moving " + std::string(source) + " to " + std::string(destination) +
                                         ": the copy differs from the source (" + why + "); the source was kept");
  };
  if (!same_model(model.artifacts, copy.artifacts)) throw differs("model.json fields");
  if (had_weights != (copy.weights != nullptr)) throw differs("weight data present in one only");
  if (copy.weights) {
    std::unique_ptr<WeightStream> back = std::move(copy.weights);
    if (should_verify_digests(load_options)) {
      if (auto own = recorded_weight_digests(copy.artifacts, destination)) {
        back = digest_stream(std::move(back), 0, own, std::string(destination));
      }
    }
    if (back->size() != sent->weight_bytes) throw differs("weight sizes");
    back = digest_stream(std::move(back), 0, *sent, std::string(destination));
    back = read_ahead(std::move(back));
    try {
      while (back->next()) {
      }
    } catch (const Error& e) {
      throw differs(e.what());
    }
  }
  source_manager->remove_model(source, load_options);
  return info;
}

}  // namespace modelport
