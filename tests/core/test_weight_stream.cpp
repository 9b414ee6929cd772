// Streaming copies in the core: WeightStream, read_ahead, digest_stream, and copy_model /
// move_model holding only a few parts at a time.
#include <boost/test/unit_test.hpp>

#include <modelport/digests.hpp>
#include <modelport/error.hpp>
#include <modelport/io_handler.hpp>
#include <modelport/memory_handlers.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weight_stream.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <stop_token>
#include <thread>

using namespace modelport;

namespace {

// Parts of the given sizes whose bytes count up from `seed`.
WeightData counting_parts(const std::vector<std::size_t>& sizes, std::uint8_t seed = 0) {
  WeightData data;
  std::uint8_t next = seed;
  for (auto n : sizes) {
    std::vector<std::byte> bytes(n);
    for (auto& b : bytes) b = std::byte{next++};
    data.append(Buffer::adopt(std::move(bytes)));
  }
  return data;
}

bool same_bytes(const WeightData& a, const WeightData& b) { return a.size() == b.size() && a.join().view() == b.join().view(); }

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return {};
}

// Counts the parts alive at once: every part it hands out is fresh memory released when the
// last reference goes. Optionally fails at one part.
struct LiveCounter {
  std::atomic<int> live{0};
  std::atomic<int> peak{0};
  std::atomic<int> reads{0};
  std::function<void(int reads)> on_read;  // after each part is read
};

class CountingStream final : public WeightStream {
 public:
  CountingStream(WeightData data, std::shared_ptr<LiveCounter> counter, std::optional<std::size_t> fail_at = std::nullopt)
      : WeightStream(sizes(data)), data_(std::move(data)), counter_(std::move(counter)), fail_at_(fail_at) {}

 protected:
  Buffer read_part(std::size_t index) override {
    if (fail_at_ && *fail_at_ == index) throw Error(ErrorCode::unavailable, "source broke at part " + std::to_string(index + 1));
    const int reads = ++counter_->reads;
    if (counter_->on_read) counter_->on_read(reads);
    const Buffer& original = data_.buffers()[index];
    auto copy = std::make_shared<std::vector<std::byte>>(original.begin(), original.end());
    int now = ++counter_->live;
    for (int seen = counter_->peak; now > seen && !counter_->peak.compare_exchange_weak(seen, now);) {
    }
    auto counter = counter_;
    return Buffer::external(copy->data(), copy->size(), [copy, counter] { --counter->live; });
  }

 private:
  static std::vector<std::uint64_t> sizes(const WeightData& d) {
    std::vector<std::uint64_t> out;
    for (const auto& b : d.buffers()) out.push_back(b.size());
    return out;
  }
  WeightData data_;
  std::shared_ptr<LiveCounter> counter_;
  std::optional<std::size_t> fail_at_;
};

// A store of models in memory whose handlers stream: loads hand out CountingStreams, saves read
// the stream part by part and keep a copy of each (as a store writing it out would).
struct StreamingStore {
  std::mutex mutex;
  std::map<std::string, ModelArtifacts> models;
  std::shared_ptr<LiveCounter> counter = std::make_shared<LiveCounter>();
  std::optional<std::size_t> fail_source_at;
  int streamed_saves = 0;
  std::function<void()> after_load;  // runs after each load_streamed, outside the lock
};

class StreamingHandler final : public IOHandler {
 public:
  StreamingHandler(StreamingStore& store, std::string url) : store_(store), url_(std::move(url)) {}
  bool can_save() const noexcept override { return true; }
  bool can_load() const noexcept override { return true; }
  ModelArtifacts load() override {
    std::lock_guard lock(store_.mutex);
    auto it = store_.models.find(url_);
    if (it == store_.models.end()) throw Error(ErrorCode::not_found, "no model at " + url_);
    return it->second;
  }
  StreamedModel load_streamed() override {
    StreamedModel m;
    m.artifacts = load();
    if (m.artifacts.weight_data) {
      m.weights = std::make_unique<CountingStream>(*m.artifacts.weight_data, store_.counter, store_.fail_source_at);
      m.artifacts.weight_data.reset();
    }
    if (store_.after_load) store_.after_load();
    return m;
  }
  SaveResult save(const ModelArtifacts& a) override {
    std::lock_guard lock(store_.mutex);
    store_.models[url_] = a;
    return {};
  }
  SaveResult save_streamed(const ModelArtifacts& a, WeightStream* weights) override {
    ModelArtifacts stored = a;
    if (weights) {
      WeightData copy;
      while (auto part = weights->next()) copy.append(Buffer::copy_of(part->span()));  // the part goes here
      stored.weight_data = std::move(copy);
    }
    std::lock_guard lock(store_.mutex);
    ++store_.streamed_saves;
    store_.models[url_] = std::move(stored);
    return {};
  }

 private:
  StreamingStore& store_;
  std::string url_;
};

class StoreManager final : public ModelStoreManager {
 public:
  explicit StoreManager(StreamingStore& store) : store_(store) {}
  std::vector<ListedModel> list_models(std::string_view, const CommonOptions&) override { return {}; }
  ModelArtifactsInfo remove_model(std::string_view url, const CommonOptions&) override {
    std::lock_guard lock(store_.mutex);
    if (!store_.models.erase(std::string(url))) throw Error(ErrorCode::not_found, "no model at " + std::string(url));
    return {};
  }

 private:
  StreamingStore& store_;
};

struct Fixture {
  StreamingStore store;
  RouterRegistry routers;
  ModelStoreRegistry stores;
  Fixture() {
    routers.register_scheme_save("test", "mem://", [this](std::span<const std::string> urls, const SaveOptions&) {
      return HandlerPtr(new StreamingHandler(store, urls[0]));
    });
    routers.register_scheme_load("test", "mem://", [this](std::span<const std::string> urls, const LoadOptions&) {
      return HandlerPtr(new StreamingHandler(store, urls[0]));
    });
    stores.register_manager("mem://", "test", std::make_shared<StoreManager>(store));
  }
  ModelArtifacts model(std::size_t parts, std::size_t part_size, std::uint8_t seed = 0) {
    ModelArtifacts a;
    a.model_topology = ModelTopology(boost::json::value(boost::json::object{{"class_name", "Sequential"}}));
    a.weight_specs = std::vector<WeightSpec>{};
    a.weight_data = counting_parts(std::vector<std::size_t>(parts, part_size), seed);
    return a;
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(weight_stream)

BOOST_AUTO_TEST_CASE(memory_stream_hands_out_each_part_once_and_lets_it_go) {
  WeightData data = counting_parts({3, 0, 5});
  auto stream = stream_of(data);
  BOOST_TEST(stream->size() == 8u);
  BOOST_TEST(stream->part_sizes() == std::vector<std::uint64_t>({3, 0, 5}));
  auto first = stream->next();
  BOOST_REQUIRE(first);
  BOOST_TEST(first->shares_memory_with(data.buffers()[0]));
  BOOST_TEST(stream->next()->size() == 0u);
  BOOST_TEST(stream->next()->size() == 5u);
  BOOST_TEST(!stream->next());
  BOOST_TEST(stream->parts_read() == 3u);
  WeightData again = drain(*stream_of(data));
  BOOST_TEST(same_bytes(again, data));
}

BOOST_AUTO_TEST_CASE(uniform_shard_size_follows_the_converter_layout) {
  BOOST_TEST(stream_of(counting_parts({4, 4, 2}))->uniform_shard_size().value_or(0) == 4u);
  BOOST_TEST(!stream_of(counting_parts({4, 5, 2}))->uniform_shard_size());
  BOOST_TEST(!stream_of(counting_parts({4}))->uniform_shard_size());
  BOOST_TEST(!stream_of(counting_parts({4, 4, 0}))->uniform_shard_size());
}

BOOST_AUTO_TEST_CASE(a_part_of_the_wrong_size_is_corrupt) {
  struct Liar final : WeightStream {
    Liar() : WeightStream({4}) {}
    Buffer read_part(std::size_t) override { return Buffer::copy_of(std::string_view("abc")); }
  } liar;
  std::string e = error_of([&] { liar.next(); });
  BOOST_TEST(e.find("holds 3 bytes, not the expected 4") != std::string::npos, e);
  e = error_of([&] { liar.next(); });
  BOOST_TEST(e.find("holds 3 bytes, not the expected 4") != std::string::npos, e);
  BOOST_TEST(liar.parts_read() == 0u);
}

BOOST_AUTO_TEST_CASE(read_ahead_keeps_order_and_passes_failures_on) {
  WeightData data = counting_parts({7, 7, 7, 7, 3}, 9);
  auto ahead = read_ahead(stream_of(data));
  BOOST_TEST(same_bytes(drain(*ahead), data));

  auto counter = std::make_shared<LiveCounter>();
  auto failing = read_ahead(std::make_unique<CountingStream>(data, counter, std::size_t{3}));
  BOOST_TEST(failing->next().has_value());
  BOOST_TEST(failing->next().has_value());
  BOOST_TEST(failing->next().has_value());
  std::string e = error_of([&] { failing->next(); });
  BOOST_TEST(e.find("source broke at part 4") != std::string::npos, e);
  e = error_of([&] { failing->next(); });  // and again: the same error, not a later symptom
  BOOST_TEST(e.find("source broke at part 4") != std::string::npos, e);

  // Dropped before the end (a save that failed): the helper thread stops, nothing hangs.
  auto dropped = read_ahead(std::make_unique<CountingStream>(data, counter));
  BOOST_TEST(dropped->next().has_value());
  dropped.reset();
  BOOST_TEST(counter->live == 0);
}

BOOST_AUTO_TEST_CASE(read_ahead_holds_at_most_two_parts) {
  auto counter = std::make_shared<LiveCounter>();
  auto ahead = read_ahead(std::make_unique<CountingStream>(counting_parts(std::vector<std::size_t>(40, 1000)), counter));
  while (auto part = ahead->next()) {
    // Give the helper time to run ahead as far as it would.
    std::this_thread::sleep_for(std::chrono::microseconds(300));
    BOOST_TEST(counter->live <= 2);
  }
  BOOST_TEST(counter->peak <= 2);
  BOOST_TEST(counter->reads == 40);
}

BOOST_AUTO_TEST_CASE(digest_stream_computes_what_the_whole_model_digest_does) {
  WeightData data = counting_parts({10, 10, 10, 4});
  for (std::uint64_t chunk : {0u, 1u, 7u, 10u, 64u}) {
    auto computed = std::make_shared<WeightDigests>();
    drain(*digest_stream(stream_of(data), chunk, std::nullopt, "x", computed));
    BOOST_TEST((*computed == compute_weight_digests(data, chunk)), "chunk " << chunk);
    auto again = stream_of(data);
    BOOST_TEST((compute_weight_digests(*again, chunk) == compute_weight_digests(data, chunk)), "chunk " << chunk);
  }
}

BOOST_AUTO_TEST_CASE(digest_stream_stops_before_handing_out_a_bad_piece) {
  WeightData good = counting_parts({10, 10, 10});
  WeightDigests record = compute_weight_digests(good, 10);
  WeightData bad = counting_parts({10, 10, 10});
  std::vector<std::byte> flipped(bad.buffers()[1].begin(), bad.buffers()[1].end());
  flipped[5] ^= std::byte{1};
  WeightData damaged(std::vector<Buffer>{bad.buffers()[0], Buffer::adopt(std::move(flipped)), bad.buffers()[2]});
  auto checked = digest_stream(stream_of(damaged), 0, record, "mem://m");
  BOOST_TEST(checked->next().has_value());
  std::string e = error_of([&] { checked->next(); });
  BOOST_TEST(e.find("'mem://m': shard 2 of 3 (weight bytes 10..19) fails its SHA-256 check") != std::string::npos, e);

  // Pieces that end inside a later part: the part completing the piece is withheld.
  WeightDigests coarse = compute_weight_digests(good, 15);
  auto late = digest_stream(stream_of(damaged), 0, coarse, "mem://m");
  BOOST_TEST(late->next().has_value());  // bytes 0..9: piece 1 (0..14) not complete yet
  BOOST_TEST(late->next().has_value());  // bytes 10..19: piece 1 is fine; piece 2 (15..29) holds the flip
  e = error_of([&] { late->next(); });   // bytes 20..29 complete piece 2
  BOOST_TEST(e.find("shard 2 of 2 (weight bytes 15..29)") != std::string::npos, e);

  std::string size = error_of([&] { digest_stream(stream_of(counting_parts({10, 10})), 0, record, "mem://m"); });
  BOOST_TEST(size.find("holds 20 weight bytes but its SHA-256 digests were recorded over 30") != std::string::npos, size);
}

BOOST_AUTO_TEST_CASE(default_handler_streaming_goes_through_load_and_save) {
  ModelArtifacts a;
  a.weight_specs = std::vector<WeightSpec>{};
  a.weight_data = counting_parts({5, 5});
  std::optional<ModelArtifacts> saved;
  HandlerPtr sink = with_save_handler([&](const ModelArtifacts& x) {
    saved = x;
    return SaveResult{};
  });
  auto stream = stream_of(*a.weight_data);
  ModelArtifacts meta = a;
  meta.weight_data.reset();
  sink->save_streamed(meta, stream.get());
  BOOST_REQUIRE(saved && saved->weight_data);
  BOOST_TEST(same_bytes(*saved->weight_data, *a.weight_data));
}

BOOST_FIXTURE_TEST_CASE(copy_model_streams_with_a_bounded_number_of_parts, Fixture) {
  store.models["mem://src"] = model(64, 4096);
  copy_model("mem://src", "mem://dst", {}, {}, routers);
  BOOST_TEST(store.streamed_saves == 1);
  BOOST_TEST(same_bytes(*store.models["mem://dst"].weight_data, *store.models["mem://src"].weight_data));
  // The saver's current part, the one read ahead, and at most one being read.
  BOOST_TEST(store.counter->peak <= 3);
  BOOST_TEST(store.counter->reads == 64);
  BOOST_TEST(store.counter->live == 0);
}

BOOST_FIXTURE_TEST_CASE(copy_model_digests_are_checked_and_recorded_while_streaming, Fixture) {
  ModelArtifacts src = model(8, 1000);
  src.extra_fields[kDigestsKey] = to_json(compute_weight_digests(*src.weight_data, 1000));
  store.models["mem://src"] = src;

  // keep: the source's record describes the same pieces, so it is carried over as it is (one read).
  copy_model("mem://src", "mem://kept", {}, {}, routers);
  BOOST_TEST(store.counter->reads == 8);
  BOOST_TEST((recorded_weight_digests(store.models["mem://kept"], "k") == recorded_weight_digests(src, "s")));

  // Other pieces: a first pass computes the record, the second is checked against it.
  SaveOptions other;
  other.digest_chunk_bytes = 3000;
  copy_model("mem://src", "mem://rechunked", {}, other, routers);
  BOOST_TEST(store.counter->reads == 8 + 16);
  BOOST_TEST((recorded_weight_digests(store.models["mem://rechunked"], "r").value() ==
              compute_weight_digests(*src.weight_data, 3000)));

  // drop: no record in the copy.
  SaveOptions drop;
  drop.digests = DigestPolicy::drop;
  copy_model("mem://src", "mem://dropped", {}, drop, routers);
  BOOST_TEST(!store.models["mem://dropped"].extra_fields.contains(kDigestsKey));

  // A damaged source fails the copy before the save commits: the old destination stays.
  ModelArtifacts damaged = src;
  std::vector<std::byte> bytes(damaged.weight_data->buffers()[6].begin(), damaged.weight_data->buffers()[6].end());
  bytes[0] ^= std::byte{0x40};
  std::vector<Buffer> buffers = damaged.weight_data->buffers();
  buffers[6] = Buffer::adopt(std::move(bytes));
  damaged.weight_data = WeightData(buffers);
  store.models["mem://damaged"] = damaged;
  std::string e = error_of([&] { copy_model("mem://damaged", "mem://kept", {}, {}, routers); });
  BOOST_TEST(e.find("'mem://damaged': shard 7 of 8") != std::string::npos, e);
  BOOST_TEST(same_bytes(*store.models["mem://kept"].weight_data, *src.weight_data));
  // ... unless verification is off, as for a load.
  LoadOptions unchecked;
  unchecked.verify_digests = false;
  copy_model("mem://damaged", "mem://unchecked", unchecked, drop, routers);
  BOOST_TEST(same_bytes(*store.models["mem://unchecked"].weight_data, *damaged.weight_data));
}

BOOST_FIXTURE_TEST_CASE(a_damaged_record_is_only_read_when_it_is_checked, Fixture) {
  ModelArtifacts src = model(4, 100);
  src.extra_fields[kDigestsKey] = boost::json::value("not a record");
  store.models["mem://src"] = src;
  std::string e = error_of([&] { copy_model("mem://src", "mem://checked", {}, {}, routers); });
  BOOST_TEST(e.find("modelportDigests record is not a JSON object") != std::string::npos, e);
  BOOST_TEST(!store.models.count("mem://checked"));
  LoadOptions unchecked;
  unchecked.verify_digests = false;
  SaveOptions drop;
  drop.digests = DigestPolicy::drop;
  copy_model("mem://src", "mem://unchecked", unchecked, drop, routers);
  BOOST_TEST(!store.models["mem://unchecked"].extra_fields.contains(kDigestsKey));
  BOOST_TEST(same_bytes(*store.models["mem://unchecked"].weight_data, *src.weight_data));
}

BOOST_FIXTURE_TEST_CASE(a_source_changed_between_the_two_passes_fails_as_changed, Fixture) {
  store.models["mem://src"] = model(6, 500, 1);
  int loads = 0;
  store.after_load = [&] {
    if (++loads == 1) store.models["mem://src"] = model(6, 500, 2);  // same sizes, other bytes
  };
  SaveOptions record;
  record.digests = DigestPolicy::record;
  ErrorCode code = ErrorCode::internal;
  std::string e;
  try {
    copy_model("mem://src", "mem://dst", {}, record, routers);
  } catch (const Error& err) {
    e = err.what();
    code = err.code();
  }
  BOOST_TEST(loads == 2);
  BOOST_TEST((code == ErrorCode::unavailable), e);
  BOOST_TEST(e.find("'mem://src' changed while it was being copied") != std::string::npos, e);
  BOOST_TEST(!store.models.count("mem://dst"));
}

BOOST_FIXTURE_TEST_CASE(a_cancelled_copy_stops_at_the_next_part, Fixture) {
  store.models["mem://src"] = model(32, 1000);
  std::stop_source stop;
  store.counter->on_read = [&](int reads) {
    if (reads == 4) stop.request_stop();
  };
  SaveOptions options;
  options.cancel = stop.get_token();
  ErrorCode code = ErrorCode::internal;
  try {
    copy_model("mem://src", "mem://dst", {}, options, routers);
  } catch (const Error& err) {
    code = err.code();
  }
  BOOST_TEST((code == ErrorCode::cancelled));
  BOOST_TEST(store.counter->reads < 8);  // not the whole source
  BOOST_TEST(!store.models.count("mem://dst"));
}

BOOST_FIXTURE_TEST_CASE(copy_model_keeps_the_shard_layout_when_asked, Fixture) {
  store.models["mem://src"] = model(5, 300);
  std::optional<std::string> seen;
  routers.register_scheme_save("test", "probe://", [&](std::span<const std::string>, const SaveOptions& o) {
    seen = std::string(o.option("shard_bytes", "unset"));
    return HandlerPtr(with_save_handler([](const ModelArtifacts&) { return SaveResult{}; }));
  });
  SaveOptions keep;
  keep.keep_shard_layout = true;
  copy_model("mem://src", "probe://x", {}, keep, routers);
  BOOST_TEST(seen.value_or("") == "300");
  copy_model("mem://src", "probe://y", {}, {}, routers);
  BOOST_TEST(seen.value_or("") == "unset");
}

BOOST_FIXTURE_TEST_CASE(move_model_streams_compares_and_only_then_removes, Fixture) {
  store.models["mem://src"] = model(16, 2048, 3);
  const WeightData original = *store.models["mem://src"].weight_data;
  move_model("mem://src", "mem://dst", {}, {}, routers, stores);
  BOOST_TEST(!store.models.count("mem://src"));
  BOOST_TEST(same_bytes(*store.models["mem://dst"].weight_data, original));
  BOOST_TEST(store.counter->peak <= 3);

  // A source that breaks halfway: the move fails and the source is still there.
  store.models["mem://again"] = model(16, 2048, 4);
  store.fail_source_at = 9;
  std::string e = error_of([&] { move_model("mem://again", "mem://other", {}, {}, routers, stores); });
  BOOST_TEST(e.find("source broke at part 10") != std::string::npos, e);
  BOOST_TEST(store.models.count("mem://again") == 1u);
  BOOST_TEST(!store.models.count("mem://other"));
}

BOOST_AUTO_TEST_SUITE_END()
