// The digest API of the core (digests.hpp) and its hooks in modelport::save / load and
// copy_model, through in-memory handlers on a private registry (no plugins).
#include <boost/test/unit_test.hpp>

#include <modelport/digests.hpp>
#include <modelport/json.hpp>
#include <modelport/memory_handlers.hpp>
#include <modelport/model_management.hpp>
#include <modelport/router_registry.hpp>
#include <modelport/weight_stats.hpp>

#include "test_errors.hpp"

#include <map>
#include <memory>

using namespace modelport;
using modelport::test::error_of;

namespace {

std::string text_of(std::size_t n, char seed) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i) s[i] = static_cast<char>(seed + static_cast<char>(i * 7));
  return s;
}

std::string sha(std::string_view bytes) {
  return sha256_hex(std::span<const std::byte>(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

// A model of one float32 weight of `n` elements whose bytes come in the given buffer sizes.
ModelArtifacts model_in_buffers(const std::vector<std::size_t>& sizes, std::string* all = nullptr) {
  ModelArtifacts a;
  a.model_topology = boost::json::value(boost::json::object{{"class_name", "Sequential"}});
  std::string bytes;
  std::vector<Buffer> buffers;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    std::string part = text_of(sizes[i], static_cast<char>('a' + i));
    bytes += part;
    buffers.push_back(Buffer::copy_of(std::string_view(part)));
  }
  WeightSpec spec;
  spec.name = "w";
  spec.shape = {static_cast<std::int64_t>(bytes.size() / 4)};
  spec.dtype = "float32";
  a.weight_specs = std::vector<WeightSpec>{spec};
  a.weight_data = WeightData(std::move(buffers));
  if (all) *all = bytes;
  return a;
}

// A registry with "mem://NAME" stores kept in a map (what a scheme plugin would do).
struct MemoryScheme {
  RouterRegistry routers;
  std::shared_ptr<std::map<std::string, ModelArtifacts>> stored = std::make_shared<std::map<std::string, ModelArtifacts>>();
  MemoryScheme() {
    routers.register_scheme_save("test", "mem://", [s = stored](std::span<const std::string> urls, const SaveOptions&) {
      std::string url = urls.front();
      return with_save_handler([s, url](const ModelArtifacts& a) {
        (*s)[url] = a;
        SaveResult r;
        r.model_artifacts_info = get_model_artifacts_info(a);
        return r;
      });
    });
    routers.register_scheme_load("test", "mem://", [s = stored](std::span<const std::string> urls, const LoadOptions&) {
      auto it = s->find(urls.front());
      if (it == s->end()) throw Error(ErrorCode::not_found, "no model at " + urls.front());
      return from_memory(it->second);
    });
  }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(digests_api)

BOOST_AUTO_TEST_CASE(pieces_cover_the_stream_across_buffer_boundaries) {
  std::string all;
  ModelArtifacts a = model_in_buffers({100, 60, 140}, &all);
  WeightDigests d = compute_weight_digests(*a.weight_data, 128);
  BOOST_TEST(d.weight_bytes == 300u);
  BOOST_TEST(d.chunk_bytes == 128u);
  BOOST_TEST_REQUIRE(d.sha256.size() == 3u);
  BOOST_TEST(d.sha256[0] == sha(std::string_view(all).substr(0, 128)));
  BOOST_TEST(d.sha256[1] == sha(std::string_view(all).substr(128, 128)));
  BOOST_TEST(d.sha256[2] == sha(std::string_view(all).substr(256)));
  BOOST_TEST(d.length(2) == 44u);
  // chunk 0 means one piece for everything.
  WeightDigests whole = compute_weight_digests(*a.weight_data, 0);
  BOOST_TEST(whole.chunk_bytes == 300u);
  BOOST_TEST(whole.sha256 == std::vector<std::string>{sha(all)}, boost::test_tools::per_element());
  // An empty stream has no pieces.
  BOOST_TEST(compute_weight_digests(WeightData(), 0).sha256.empty());
}

BOOST_AUTO_TEST_CASE(the_record_round_trips_and_damaged_records_are_corrupt) {
  ModelArtifacts a = model_in_buffers({64, 64});
  BOOST_TEST(!recorded_weight_digests(a, "m").has_value());
  WeightDigests d = compute_weight_digests(*a.weight_data, 64);
  a.extra_fields[kDigestsKey] = to_json(d);
  BOOST_TEST((recorded_weight_digests(a, "m") == d));
  BOOST_TEST(verify_weight_digests(a, "m"));

  auto damaged = [&](auto&& edit) {
    ModelArtifacts b = a;
    edit(b.extra_fields[kDigestsKey]);
    return error_of([&] { recorded_weight_digests(b, "mem://x"); });
  };
  Error e1 = damaged([](boost::json::value& v) { v = 5; });
  BOOST_TEST((e1.code() == ErrorCode::corrupt));
  BOOST_TEST(std::string(e1.what()).find("mem://x") != std::string::npos, e1.what());
  BOOST_TEST((damaged([](boost::json::value& v) { v.as_object()["algorithm"] = "MD5"; }).code() == ErrorCode::corrupt));
  BOOST_TEST((damaged([](boost::json::value& v) { v.as_object()["chunkBytes"] = 0; }).code() == ErrorCode::corrupt));
  BOOST_TEST((damaged([](boost::json::value& v) { v.as_object()["chunkBytes"] = -64; }).code() == ErrorCode::corrupt));
  BOOST_TEST((damaged([](boost::json::value& v) { v.as_object()["sha256"].as_array().pop_back(); }).code() == ErrorCode::corrupt));
  BOOST_TEST((damaged([](boost::json::value& v) { v.as_object()["sha256"].as_array()[0] = "XYZ"; }).code() == ErrorCode::corrupt));
  BOOST_TEST((damaged([](boost::json::value& v) { v.as_object().erase("weightBytes"); }).code() == ErrorCode::corrupt));
}

BOOST_AUTO_TEST_CASE(check_reports_every_failing_piece_and_size_changes) {
  std::string all;
  ModelArtifacts a = model_in_buffers({64, 64, 64}, &all);
  WeightDigests d = compute_weight_digests(*a.weight_data, 64);
  std::string changed = all;
  changed[10] ^= 1;
  changed[150] ^= 1;
  DigestCheck c = check_weight_digests(d, WeightData(Buffer::copy_of(std::string_view(changed))));
  BOOST_TEST(!c.ok());
  BOOST_TEST_REQUIRE(c.mismatches.size() == 2u);
  BOOST_TEST(c.mismatches[0].index == 0u);
  BOOST_TEST(c.mismatches[1].index == 2u);
  BOOST_TEST(describe_piece(c.mismatches[1]) == "shard 3 of 3 (weight bytes 128..191)");
  DigestCheck shorter = check_weight_digests(d, WeightData(Buffer::copy_of(std::string_view(all).substr(1))));
  BOOST_TEST(!shorter.size_matches);
  BOOST_TEST(shorter.actual_bytes == 191u);
}

BOOST_AUTO_TEST_CASE(save_policies_add_keep_recompute_and_drop_the_record) {
  ModelArtifacts a = model_in_buffers({40, 40, 20});
  SaveOptions keep;
  BOOST_TEST(!artifacts_for_save(a, keep).has_value());  // nothing to do, no copy

  SaveOptions record;
  record.digests = DigestPolicy::record;
  auto with = artifacts_for_save(a, record);
  BOOST_TEST_REQUIRE(with.has_value());
  auto d = recorded_weight_digests(*with, "");
  BOOST_TEST_REQUIRE(d.has_value());
  BOOST_TEST(d->chunk_bytes == 40u);  // the buffers' uniform shard size

  record.plugin_options["shard_bytes"] = "30";
  BOOST_TEST(recorded_weight_digests(*artifacts_for_save(a, record), "")->chunk_bytes == 30u);
  record.digest_chunk_bytes = 25;
  BOOST_TEST(recorded_weight_digests(*artifacts_for_save(a, record), "")->sha256.size() == 4u);

  // keep: a record travelling with other bytes is recomputed over the bytes being saved.
  ModelArtifacts stale = *with;
  stale.weight_data = model_in_buffers({50, 50}).weight_data;
  auto refreshed = artifacts_for_save(stale, keep);
  BOOST_TEST_REQUIRE(refreshed.has_value());
  BOOST_TEST(verify_weight_digests(*refreshed, ""));
  BOOST_TEST(recorded_weight_digests(*refreshed, "")->chunk_bytes == 50u);

  SaveOptions drop;
  drop.digests = DigestPolicy::drop;
  auto without = artifacts_for_save(*with, drop);
  BOOST_TEST_REQUIRE(without.has_value());
  BOOST_TEST(!without->extra_fields.contains(kDigestsKey));
}

BOOST_AUTO_TEST_CASE(save_and_load_record_and_verify_through_the_registry) {
  MemoryScheme mem;
  ModelArtifacts a = model_in_buffers({64, 64});
  SaveOptions options;
  options.digests = DigestPolicy::record;
  save("mem://a", a, options, mem.routers);
  BOOST_TEST(mem.stored->at("mem://a").extra_fields.contains(kDigestsKey));
  BOOST_TEST(load("mem://a", {}, mem.routers).extra_fields.contains(kDigestsKey));

  // Damage the stored bytes: load names the URL and the shard.
  std::string bytes(mem.stored->at("mem://a").weight_data->join().view());
  bytes[70] ^= 0x10;
  mem.stored->at("mem://a").weight_data = WeightData(Buffer::copy_of(std::string_view(bytes)));
  Error e = error_of([&] { load("mem://a", {}, mem.routers); });
  BOOST_TEST((e.code() == ErrorCode::corrupt));
  BOOST_TEST(std::string(e.what()).find("'mem://a': shard 2 of 2 (weight bytes 64..127) fails its SHA-256 check") !=
                 std::string::npos,
             e.what());
  // Skipped by the typed option and by the plugin option.
  LoadOptions skip;
  skip.verify_digests = false;
  BOOST_TEST(load("mem://a", skip, mem.routers).weight_data->size() == 128u);
  LoadOptions skip_option;
  skip_option.plugin_options["verify_digests"] = "0";
  BOOST_TEST(load("mem://a", skip_option, mem.routers).weight_data->size() == 128u);

  // copy_model verifies too, and a failed copy writes nothing.
  BOOST_TEST((error_of([&] { copy_model("mem://a", "mem://b", {}, {}, mem.routers); }).code() == ErrorCode::corrupt));
  BOOST_TEST(!mem.stored->contains("mem://b"));
  // A plain save of a loaded model with digests keeps them, recomputed.
  save("mem://c", load("mem://a", skip, mem.routers), {}, mem.routers);
  BOOST_TEST(verify_weight_digests(mem.stored->at("mem://c"), "mem://c"));
  copy_model("mem://c", "mem://d", {}, {}, mem.routers);
  BOOST_TEST(verify_weight_digests(mem.stored->at("mem://d"), "mem://d"));
}

BOOST_AUTO_TEST_SUITE_END()
