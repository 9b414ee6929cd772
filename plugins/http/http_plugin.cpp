// The http plugin: http:// and https:// (save and load), TensorFlow.js's tf.io.http with strict
// checks. Loads GET model.json, then every shard in parallel over keep-alive connections, each
// body read into memory this plugin hands to the core without another copy. Saves send one
// multipart/form-data request shaped exactly like tfjs's.
#include "http_client.hpp"
#include "http_logic.hpp"
#include <modelport/plugin_model_json.hpp>

#include <modelport/plugin.hpp>

#include <chrono>

namespace modelport::http_plugin {
namespace {

using sdk::Code;
using sdk::Error;

// A model.json larger than this is not a model.json (graph models with huge topologies stay far
// below it); the limit keeps a misconfigured server from filling memory.
constexpr std::uint64_t kModelJsonLimit = 512ull * 1024 * 1024;

Code code_for_status(unsigned status) {
  if (status == 404 || status == 410) return Code::not_found;
  if (status == 401 || status == 403) return Code::permission_denied;
  if (status == 413) return Code::quota_exceeded;
  return Code::unavailable;
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

class HttpHandler final : public sdk::Handler {
 public:
  HttpHandler(std::string url, const sdk::Context& context)
      : url_(std::move(url)),
        context_(context),
        settings_(parse_settings([&](std::string_view key) { return context.option(key); })) {
    parse_endpoint(url_);  // a malformed URL fails at creation, like tf.io.http's constructor checks
    for (const auto& [name, value] : context.headers()) headers_.emplace_back(std::string(name), std::string(value));
  }

  void load(sdk::LoadSink& sink) override {
    try {
      load_model(sink);
    } catch (const Error& e) {
      if (e.code() == Code::cancelled) throw Error(Code::cancelled, "loading '" + url_ + "': cancelled");
      throw;
    }
  }

  void save(const sdk::ArtifactsView& artifacts, sdk::SaveResult& result) override {
    try {
      save_model(artifacts, result);
    } catch (const Error& e) {
      if (e.code() == Code::cancelled) throw Error(Code::cancelled, "saving to '" + url_ + "': cancelled");
      throw;
    }
  }

 private:
  Client make_client(const std::string& method) const {
    ClientHooks hooks;
    hooks.cancelled = [this] { return context_.cancelled(); };
    hooks.progress = [this](std::uint64_t done, std::optional<std::uint64_t> total, const std::string& url) {
      context_.progress(done, total, url);
    };
    return Client(settings_, method, headers_, std::move(hooks));
  }

  void load_model(sdk::LoadSink& sink) {
    const std::string method = context_.method() ? std::string(*context_.method()) : "GET";
    Client client = make_client(method);
    TextResponse response = client.fetch_text(url_, kModelJsonLimit);
    if (classify(response.head.status) != Disposition::success) {
      throw Error(code_for_status(response.head.status),
                  "Request to " + url_ + " failed with status code " + std::to_string(response.head.status) +
                      ". Please verify this URL points to the model JSON of the model to load. (" +
                      describe_status_failure(method, url_, response.head, response.body) + ")");
    }
    const std::vector<std::string> paths = sink.set_model_json(response.body, url_);
    if (paths.empty()) return;

    std::vector<std::string> urls;
    if (context_.has_weight_url_converter()) {
      for (const auto& p : paths) urls.push_back(context_.convert_weight_url(p));
    } else {
      urls = shard_urls(url_, paths, context_.weight_path_prefix());
    }

    // Bounds from the manifest: a shard can hold at most its group's bytes, and the group's
    // shards together exactly that many.
    const ManifestLayout layout = manifest_layout(response.body);
    const bool layout_matches = layout.group_of_shard.size() == paths.size();
    std::vector<std::optional<std::uint64_t>> max_bytes(paths.size());
    std::optional<std::uint64_t> total = 0;
    if (layout_matches) {
      for (std::size_t i = 0; i < paths.size(); ++i) max_bytes[i] = layout.group_bytes[layout.group_of_shard[i]];
      for (const auto& g : layout.group_bytes) total = g && total ? std::optional(*total + *g) : std::nullopt;
    } else {
      total.reset();
    }

    std::vector<OwnedBytes> shards = client.fetch_shards(urls, max_bytes, total);
    if (layout_matches) {
      std::vector<std::uint64_t> sizes;
      for (const auto& s : shards) sizes.push_back(s.size());
      if (auto problem = group_size_problem(layout, urls, sizes)) {
        throw Error(Code::corrupt, "loading " + url_ + ": " + *problem);
      }
    }
    // Manifest order, one buffer per shard as tfjs returns them; the core keeps each buffer and
    // frees it through the hook when the last weight referring to it is gone.
    for (auto& s : shards) {
      if (s.size() == 0) {
        sink.append_copy({});
        continue;
      }
      const std::size_t size = s.size();
      std::byte* raw = s.release();
      sink.append_owned(std::span<const std::byte>(raw, size), [raw, size] { OwnedBytes::free_bytes(raw, size); });
    }
  }

  void save_model(const sdk::ArtifactsView& artifacts, sdk::SaveResult& result) {
    if (artifacts.topology_is_binary()) {
      throw Error(Code::invalid_argument,
                  "BrowserHTTPRequest.save() does not support saving model topology in binary formats yet.");
    }
    const std::string manifest =
        sdk::single_group_manifest({std::string(kSavedWeightsPath)}, artifacts);
    const std::string json = sdk::model_json_text(artifacts, manifest, sdk::ModelJsonLayout::browser);
    const bool with_weights = artifacts.has_weight_data();
    const MultipartLayout layout = multipart_layout(json, with_weights, artifacts.weight_data_size(), random_boundary());
    std::vector<std::span<const std::byte>> chunks;
    if (with_weights) artifacts.for_each_chunk([&](std::span<const std::byte> c) { chunks.push_back(c); });

    const std::string method = context_.method() ? std::string(*context_.method()) : "POST";
    Client client = make_client(method);
    TextResponse response = client.upload(url_, method, layout, chunks);
    if (classify(response.head.status) != Disposition::success) {
      throw Error(code_for_status(response.head.status),
                  "BrowserHTTPRequest.save() failed due to HTTP response status " + std::to_string(response.head.status) +
                      ". (" + describe_status_failure(method, url_, response.head, response.body) + ")");
    }
    if (with_weights) context_.progress(artifacts.weight_data_size(), artifacts.weight_data_size(), url_);
    sdk::ModelInfo info;
    info.date_saved_ms = now_ms();
    result.set_info(info);
    result.add_response("{\"status\":" + std::to_string(response.head.status) +
                        ",\"statusText\":" + sdk::json_quote(response.head.reason) +
                        ",\"url\":" + sdk::json_quote(url_) + "}");
  }

  std::string url_;
  sdk::Context context_;
  Settings settings_;
  Headers headers_;
};

class HttpPlugin final : public sdk::Plugin {
 public:
  std::unique_ptr<sdk::Handler> create_handler(const std::string& url, const sdk::Context& context) override {
    return std::make_unique<HttpHandler>(url, context);
  }
};

}  // namespace
}  // namespace modelport::http_plugin

MODELPORT_PLUGIN(modelport::http_plugin::HttpPlugin, "http", "0.1.0",
                 modelport::sdk::scheme("http://", MODELPORT_CAP_SAVE | MODELPORT_CAP_LOAD),
                 modelport::sdk::scheme("https://", MODELPORT_CAP_SAVE | MODELPORT_CAP_LOAD))
