// The http plugin: http:// and https:// (save and load), TensorFlow.js's tf.io.http with strict
// checks. Loads GET model.json, then every shard in parallel over keep-alive connections, each
// body read into memory this plugin hands to the core without another copy. Saves send one
// multipart/form-data request shaped exactly like tfjs's.
#include "http_client.hpp"
#include "http_logic.hpp"
#include <modelport/plugin_model_json.hpp>

#include <modelport/plugin.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>

namespace modelport::http_plugin {
namespace {

using sdk::Code;
using sdk::Error;

// A model.json larger than this is not a model.json (graph models with huge topologies stay far
// below it); the limit keeps a misconfigured server from filling memory.
constexpr std::uint64_t kModelJsonLimit = 512ull * 1024 * 1024;

// How much of a shard one part of a streamed load covers when the server serves byte ranges: a
// copy then holds one window, not a whole 1 GiB weights.bin (the same size as file://'s windows).
constexpr std::uint64_t kWindowBytes = 16u << 20;

// What a streamed load knows of each shard before reading it.
struct DeferredLayout {
  std::vector<std::uint64_t> sizes;
  std::vector<bool> ranges;  // the server advertised byte ranges for it (asked only of big shards)
};

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

    if (sink.deferred_allowed() && layout_matches &&
        append_deferred_shards(sink, client, method, response.head.date, layout, urls)) {
      return;
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

  // A streaming copy's source: every shard becomes a deferred part the core fills later, one at a
  // time, on any thread, maybe after this handler is gone. The fills share one client of their
  // own (io_context, keep-alive connection, TLS, headers, timeouts, retries) and nothing of the
  // handler or its Context. Returns false when the shard sizes cannot be known up front; the
  // load then takes the parallel path.
  //
  // A model replaced on the server between this load and a fill must not give new shard bytes
  // under the old model.json. The fills ask with If-Unmodified-Since: the Date of the model.json
  // response, so a server that keeps modification times (nginx, S3, most static servers) answers
  // 412 for a shard written since, which fails the copy with a clear error. Servers that ignore
  // the header are checked only by the exact size each fill must have.
  bool append_deferred_shards(sdk::LoadSink& sink, Client& client, const std::string& method,
                              const std::string& model_json_date, const ManifestLayout& layout,
                              const std::vector<std::string>& urls) const {
    const std::optional<DeferredLayout> shards = deferred_layout(client, layout, urls);
    if (!shards) return false;
    Headers fill_headers = headers_;
    const bool caller_set_it = std::any_of(fill_headers.begin(), fill_headers.end(), [](const auto& h) {
      return h.first.size() == 19 && std::equal(h.first.begin(), h.first.end(), "if-unmodified-since",
                                                [](char a, char b) { return std::tolower(static_cast<unsigned char>(a)) == b; });
    });
    if (!model_json_date.empty() && !caller_set_it) fill_headers.emplace_back("If-Unmodified-Since", model_json_date);
    auto fills = std::make_shared<Client>(settings_, method, std::move(fill_headers), ClientHooks{});
    for (std::size_t i = 0; i < urls.size(); ++i) {
      // Copies keep the stored layout (one big weights.bin stays one) whatever the parts are.
      sink.begin_shard();
      const std::uint64_t size = shards->sizes[i];
      if (!shards->ranges[i] || size <= kWindowBytes) {
        sink.append_deferred(size, [fills, url = urls[i]](std::span<std::byte> dest) { fills->fetch_shard_into(url, dest); });
        continue;
      }
      for (std::uint64_t first = 0; first < size; first += kWindowBytes) {
        sink.append_deferred(std::min(kWindowBytes, size - first), [fills, url = urls[i], first, size](std::span<std::byte> dest) {
          fills->fetch_range_into(url, first, size, dest);
        });
      }
    }
    return true;
  }

  // Each shard's size before reading it: a group's only shard has the group's size; the shards
  // of a group split in several files (converter output, 4 MB each) are asked with HEAD, and
  // their sizes must add up to the group's. Any doubt (no Content-Length, an error status, a
  // mismatch) gives nullopt: the parallel load then reads the shards and reports what is wrong.
  // A shard bigger than one window is asked with HEAD too (in the same batch), for its
  // Accept-Ranges; if that HEAD fails, the shard is simply read whole.
  std::optional<DeferredLayout> deferred_layout(Client& client, const ManifestLayout& layout,
                                                const std::vector<std::string>& urls) const {
    std::vector<std::size_t> shards_in_group(layout.group_bytes.size(), 0);
    for (std::size_t g : layout.group_of_shard) ++shards_in_group[g];
    DeferredLayout out;
    out.sizes.assign(urls.size(), 0);
    out.ranges.assign(urls.size(), false);
    std::vector<std::size_t> asked;       // shards whose size only HEAD tells
    std::vector<std::size_t> big_alone;   // known size above a window: HEAD for Accept-Ranges
    for (std::size_t i = 0; i < urls.size(); ++i) {
      const std::size_t g = layout.group_of_shard[i];
      if (!layout.group_bytes[g]) return std::nullopt;
      if (shards_in_group[g] == 1) {
        out.sizes[i] = *layout.group_bytes[g];
        if (out.sizes[i] > kWindowBytes) big_alone.push_back(i);
      } else {
        asked.push_back(i);
      }
    }
    if (asked.empty() && big_alone.empty()) return out;
    std::vector<std::string> head_urls;
    for (std::size_t i : asked) head_urls.push_back(urls[i]);
    for (std::size_t i : big_alone) head_urls.push_back(urls[i]);
    std::vector<TextResponse> heads;
    try {
      heads = client.fetch_heads(head_urls);
    } catch (const Error& e) {
      if (e.code() == Code::cancelled) throw;
      if (!asked.empty()) return std::nullopt;
      return out;  // sizes known from the manifest; each big shard is then one part
    }
    auto usable = [](const ResponseHead& head) {
      return classify(head.status) == Disposition::success && !head.chunked && head.content_length.has_value();
    };
    for (std::size_t k = 0; k < asked.size(); ++k) {
      const ResponseHead& head = heads[k].head;
      if (!usable(head)) return std::nullopt;
      out.sizes[asked[k]] = *head.content_length;
    }
    if (group_size_problem(layout, urls, out.sizes)) return std::nullopt;
    for (std::size_t k = 0; k < asked.size(); ++k) {
      out.ranges[asked[k]] = heads[k].head.accepts_byte_ranges;
    }
    for (std::size_t k = 0; k < big_alone.size(); ++k) {
      const ResponseHead& head = heads[asked.size() + k].head;
      // Windows only when the server holds the size the manifest gives; otherwise the whole
      // shard is asked for, and its fill reports the mismatch.
      out.ranges[big_alone[k]] = usable(head) && head.accepts_byte_ranges && *head.content_length == out.sizes[big_alone[k]];
    }
    return out;
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
    // Weights in memory are sent as they are (and can be sent again for a retry or a 307/308);
    // streamed ones are pulled part by part while the request body goes out, each part on the
    // wire before the next is read.
    UploadBody body;
    if (with_weights && artifacts.weights_streamed()) {
      body.pull = [this, &artifacts](const std::function<void(std::span<const std::byte>)>& write) {
        // Progress as each part goes out: a streamed upload of a big model takes a while.
        std::uint64_t sent = 0;
        artifacts.for_each_chunk([&](std::span<const std::byte> part) {
          write(part);
          sent += part.size();
          context_.progress(sent, artifacts.weight_data_size(), url_);
        });
      };
    } else if (with_weights) {
      for (const auto& c : artifacts.weight_chunks()) {
        if (c.size) body.chunks.emplace_back(static_cast<const std::byte*>(c.data), c.size);
      }
    }

    const std::string method = context_.method() ? std::string(*context_.method()) : "POST";
    Client client = make_client(method);
    TextResponse response = client.upload(url_, method, layout, body);
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
                 modelport::sdk::scheme("http://", MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED | MODELPORT_CAP_LOAD),
                 modelport::sdk::scheme("https://", MODELPORT_CAP_SAVE | MODELPORT_CAP_SAVE_STREAMED | MODELPORT_CAP_LOAD))
