// The store behind localstorage:// on its own (plugins/localstorage): Web Storage semantics,
// the quota counted in UTF-16 code units, transactions, bad store files, where stores live, and
// the codecs (base64, ISO dates, the tfjs key layout, the small JSON reader).
#include <boost/test/unit_test.hpp>

#include "base64.hpp"
#include "json_scan.hpp"
#include "test_support.hpp"
#include "test_errors.hpp"
#include "tfjs_layout.hpp"
#include "web_storage.hpp"

#include <sqlite3.h>

#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

namespace fs = std::filesystem;
using namespace modelport::localstorage;
using modelport::test::read_file;
using modelport::test::TempDir;

namespace {

using modelport::test::ScopedEnv;

using Kind = StoreError::Kind;

// The kind of the StoreError fn throws (fails the test when it throws nothing).
Kind kind_of(const std::function<void()>& fn, std::string* message = nullptr) {
  try {
    fn();
  } catch (const StoreError& e) {
    if (message) *message = e.what();
    return e.kind();
  }
  BOOST_FAIL("expected a StoreError");
  return Kind::io;
}

WebStorage open_store(const fs::path& file, std::uint64_t quota = kDefaultQuotaUnits,
                      WebStorage::Mode mode = WebStorage::Mode::read_write) {
  WebStorage::Options options;
  options.quota = quota;
  options.mode = mode;
  return WebStorage(file, options);
}


std::vector<std::byte> random_bytes(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::byte> out(n);
  for (auto& b : out) b = static_cast<std::byte>(rng() & 0xFF);
  return out;
}

// A plain reference encoder to check the fast one against.
std::string reference_base64(std::span<const std::byte> in) {
  static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    unsigned v = (unsigned(in[i]) << 16) | (unsigned(in[i + 1]) << 8) | unsigned(in[i + 2]);
    out += a[v >> 18];
    out += a[(v >> 12) & 63];
    out += a[(v >> 6) & 63];
    out += a[v & 63];
  }
  if (in.size() - i == 1) {
    unsigned v = unsigned(in[i]) << 16;
    out += std::string{a[v >> 18], a[(v >> 12) & 63], '=', '='};
  } else if (in.size() - i == 2) {
    unsigned v = (unsigned(in[i]) << 16) | (unsigned(in[i + 1]) << 8);
    out += std::string{a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], '='};
  }
  return out;
}

std::string decode_text(std::string_view text) {
  std::string out(base64_decoded_size(text), '\0');
  base64_decode(text, std::as_writable_bytes(std::span(out)));
  return out;
}

std::span<const std::byte> bytes_of(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

}  // namespace

BOOST_AUTO_TEST_SUITE(web_storage)

BOOST_AUTO_TEST_CASE(web_storage_api) {
  TempDir tmp;
  WebStorage s = open_store(tmp.path() / "localstorage" / "o.sqlite");  // folders are created
  BOOST_TEST(s.length() == 0u);
  BOOST_TEST(!s.get_item("a"));
  BOOST_TEST(!s.key(0));
  s.set_item("a", "1");
  s.set_item("b", "");
  s.set_item("c", "3");
  BOOST_TEST(s.length() == 3u);
  BOOST_TEST(*s.get_item("a") == "1");
  BOOST_TEST(s.get_item("b").value() == "");  // an empty value is a value
  // Overwriting keeps the key's place; a new key goes last.
  s.set_item("a", "one");
  s.set_item("d", "4");
  BOOST_TEST(s.keys() == (std::vector<std::string>{"a", "b", "c", "d"}), boost::test_tools::per_element());
  BOOST_TEST(*s.key(0) == "a");
  BOOST_TEST(*s.key(3) == "d");
  BOOST_TEST(!s.key(4));
  BOOST_TEST(*s.get_item("a") == "one");
  s.remove_item("b");
  s.remove_item("never-there");  // not an error, as in browsers
  BOOST_TEST(s.keys() == (std::vector<std::string>{"a", "c", "d"}), boost::test_tools::per_element());
  // A removed key that comes back goes last.
  s.set_item("b", "again");
  BOOST_TEST(*s.key(3) == "b");
  BOOST_TEST(s.used_units() == 4u + 2u + 2u + 6u);  // "aone" "c3" "d4" "bagain"
  std::vector<std::string> seen;
  s.for_each([&](std::string_view k, std::string_view v) { seen.push_back(std::string(k) + "=" + std::string(v)); });
  BOOST_TEST(seen == (std::vector<std::string>{"a=one", "c=3", "d=4", "b=again"}), boost::test_tools::per_element());
  s.clear();
  BOOST_TEST(s.length() == 0u);
  BOOST_TEST(s.used_units() == 0u);
}

BOOST_AUTO_TEST_CASE(values_are_shared_between_connections_and_persist) {
  TempDir tmp;
  const fs::path file = tmp.path() / "o.sqlite";
  {
    WebStorage a = open_store(file);
    WebStorage b = open_store(file);
    a.set_item("from a", "x");
    BOOST_TEST(*b.get_item("from a") == "x");
    b.set_item("from b", std::string(100000, 'y'));
    BOOST_TEST(a.get_item("from b")->size() == 100000u);
  }
  WebStorage again = open_store(file, kDefaultQuotaUnits, WebStorage::Mode::read_only);
  BOOST_TEST(again.keys() == (std::vector<std::string>{"from a", "from b"}), boost::test_tools::per_element());
  bool visited = false;
  BOOST_TEST(again.visit_item("from b", [&](std::string_view v) { visited = v.size() == 100000u; }));
  BOOST_TEST(visited);
  BOOST_TEST(!again.visit_item("nope", [](std::string_view) {}));
}

BOOST_AUTO_TEST_CASE(utf16_code_units_as_javascript_counts_them) {
  BOOST_TEST(utf16_length("").value() == 0u);
  BOOST_TEST(utf16_length("plain ASCII, longer than eight bytes").value() == 36u);
  BOOST_TEST(utf16_length("é").value() == 1u);        // 2 UTF-8 bytes, 1 unit
  BOOST_TEST(utf16_length("€").value() == 1u);        // 3 bytes, 1 unit
  BOOST_TEST(utf16_length("😀").value() == 2u);       // 4 bytes, a surrogate pair
  BOOST_TEST(utf16_length("aЖ文1😀xxxxxxxxx").value() == 1u + 1u + 1u + 1u + 2u + 9u);
  for (std::string bad : {std::string("\xC0\x80"), std::string("\xED\xA0\x80"), std::string("\xF4\x90\x80\x80"),
                          std::string("\xE2\x82"), std::string("\x80"), std::string("ok\xFF"), std::string("\xE0\x80\x80")}) {
    BOOST_TEST(!utf16_length(bad).has_value(), "accepted invalid UTF-8 of " << bad.size() << " bytes");
  }
}

BOOST_AUTO_TEST_CASE(quota_counts_utf16_units_of_keys_and_values) {
  TempDir tmp;
  const fs::path file = tmp.path() / "o.sqlite";
  WebStorage s = open_store(file, 20);
  s.set_item("k", "0123456789");  // 11 units
  s.set_item("é", "😀😀");        // 1 + 4 = 5 units (not 2 + 8 bytes)
  BOOST_TEST(s.used_units() == 16u);
  std::string message;
  BOOST_TEST((kind_of([&] { s.set_item("big", "xx"); }, &message) == Kind::quota_exceeded));  // 16 + 5 > 20
  BOOST_TEST(message.find("over its quota of 20") != std::string::npos, message);
  BOOST_TEST(!s.get_item("big"));
  s.set_item("ok", "xx");  // 16 + 4 = 20: exactly the quota fits
  BOOST_TEST(s.used_units() == 20u);
  // Replacing a value counts the difference.
  s.set_item("k", "012345678");  // shrinks by one
  s.set_item("k", "0123456789");
  BOOST_TEST((kind_of([&] { s.set_item("k", "01234567890"); }) == Kind::quota_exceeded));
  BOOST_TEST(*s.get_item("k") == "0123456789");
  // Over a lowered quota, writes that do not grow the origin still work (Chromium's rule).
  WebStorage small = open_store(file, 5);
  small.set_item("k", "0");
  BOOST_TEST((kind_of([&] { small.set_item("k", "01"); }) == Kind::quota_exceeded));
  small.remove_item("ok");
  BOOST_TEST(small.used_units() == 2u + 5u);
  // Unlimited.
  WebStorage unlimited = open_store(file, kUnlimitedQuota);
  unlimited.set_item("huge", std::string(1 << 20, 'z'));
  BOOST_TEST(unlimited.used_units() == 7u + 4u + (1u << 20));
}

BOOST_AUTO_TEST_CASE(keys_and_values_must_be_utf8) {
  TempDir tmp;
  WebStorage s = open_store(tmp.path() / "o.sqlite");
  BOOST_TEST((kind_of([&] { s.set_item("bad\xFF", "v"); }) == Kind::invalid_argument));
  BOOST_TEST((kind_of([&] { s.set_item("k", "\xC3"); }) == Kind::invalid_argument));
  s.set_item("ключ/模型 with spaces & 'quotes' \"x\" %20 \\ \t\n", "значение");
  BOOST_TEST(*s.get_item("ключ/模型 with spaces & 'quotes' \"x\" %20 \\ \t\n") == "значение");
  BOOST_TEST(s.length() == 1u);
}

BOOST_AUTO_TEST_CASE(write_transactions_are_all_or_nothing) {
  TempDir tmp;
  WebStorage s = open_store(tmp.path() / "o.sqlite", 30);
  s.set_item("kept", "old value");
  BOOST_CHECK_THROW(s.write_transaction([&] {
    s.set_item("kept", "new value");
    s.set_item("added", "x");
    throw std::runtime_error("changed my mind");
  }),
                    std::runtime_error);
  BOOST_TEST(*s.get_item("kept") == "old value");
  BOOST_TEST(!s.get_item("added"));
  // A quota failure half-way rolls back the writes before it.
  BOOST_TEST((kind_of([&] {
                s.write_transaction([&] {
                  s.set_item("a", "12345");
                  s.set_item("b", std::string(20, 'b'));
                });
              }) == Kind::quota_exceeded));
  BOOST_TEST(!s.get_item("a"));
  BOOST_TEST(s.used_units() == 13u);
  // And a transaction that succeeds commits everything, with a value back.
  int n = s.write_transaction([&] {
    s.set_item("a", "1");
    s.set_item("b", "2");
    return 2;
  });
  BOOST_TEST(n == 2);
  BOOST_TEST(s.length() == 3u);
}

BOOST_AUTO_TEST_CASE(read_only_stores_never_create_anything) {
  TempDir tmp;
  const fs::path file = tmp.path() / "data" / "localstorage" / "missing.sqlite";
  WebStorage s = open_store(file, kDefaultQuotaUnits, WebStorage::Mode::read_only);
  BOOST_TEST(!s.exists());
  BOOST_TEST(s.length() == 0u);
  BOOST_TEST(s.keys().empty());
  BOOST_TEST(!s.get_item("x"));
  BOOST_TEST((kind_of([&] { s.set_item("x", "y"); }) == Kind::permission_denied));
  BOOST_TEST(!fs::exists(tmp.path() / "data"));
  // A zero-byte file is an empty SQLite database: an empty store.
  fs::create_directories(file.parent_path());
  std::ofstream(file).close();
  WebStorage empty = open_store(file, kDefaultQuotaUnits, WebStorage::Mode::read_only);
  BOOST_TEST(empty.length() == 0u);
  WebStorage writable = open_store(file);
  writable.set_item("now", "yes");
  BOOST_TEST(*open_store(file, 10, WebStorage::Mode::read_only).get_item("now") == "yes");
}

BOOST_AUTO_TEST_CASE(a_file_that_is_not_a_store_is_corrupt_and_left_alone) {
  TempDir tmp;
  const fs::path file = tmp.path() / "default.sqlite";
  std::string junk;
  for (int i = 0; i < 200; ++i) junk += "this is not a SQLite database. ";
  std::ofstream(file, std::ios::binary) << junk;
  for (auto mode : {WebStorage::Mode::read_only, WebStorage::Mode::read_write}) {
    std::string message;
    BOOST_TEST((kind_of([&] { open_store(file, 100, mode); }, &message) == Kind::corrupt));
    BOOST_TEST(message.find(file.string()) != std::string::npos, message);
    BOOST_TEST(message.find("not a database") != std::string::npos, message);
  }
  BOOST_TEST(read_file(file) == junk);

  // Someone else's SQLite database.
  const fs::path other = tmp.path() / "other.sqlite";
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open(other.c_str(), &db) == SQLITE_OK);
  BOOST_TEST_REQUIRE(sqlite3_exec(db, "CREATE TABLE notes(text TEXT); INSERT INTO notes VALUES('mine');", nullptr, nullptr, nullptr) ==
                     SQLITE_OK);
  sqlite3_close(db);
  const std::string before = read_file(other);
  for (auto mode : {WebStorage::Mode::read_only, WebStorage::Mode::read_write}) {
    std::string message;
    BOOST_TEST((kind_of([&] { open_store(other, 100, mode); }, &message) == Kind::corrupt));
    BOOST_TEST(message.find("not a modelport localStorage store") != std::string::npos, message);
  }
  BOOST_TEST(read_file(other) == before);
}

BOOST_AUTO_TEST_CASE(the_file_is_a_documented_sqlite_database) {
  TempDir tmp;
  const fs::path file = tmp.path() / "o.sqlite";
  {
    WebStorage s = open_store(file);
    s.set_item("k1", "v1");
    s.set_item("ключ", "😀");
    s.set_item("k1", "v1 again");
  }
  // What web_storage.hpp documents, read with plain SQL.
  sqlite3* db = nullptr;
  BOOST_TEST_REQUIRE(sqlite3_open_v2(file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  auto one = [&](const char* sql) {
    sqlite3_stmt* st = nullptr;
    BOOST_TEST_REQUIRE(sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    while (sqlite3_step(st) == SQLITE_ROW) {
      for (int c = 0; c < sqlite3_column_count(st); ++c) {
        out += (c ? "|" : "");
        if (auto* t = sqlite3_column_text(st, c)) out += reinterpret_cast<const char*>(t);
      }
      out += ";";
    }
    sqlite3_finalize(st);
    return out;
  };
  BOOST_TEST(one("PRAGMA application_id") == std::to_string(0x6D706C73) + ";");
  BOOST_TEST(one("PRAGMA user_version") == "1;");
  BOOST_TEST(one("PRAGMA journal_mode") == "wal;");
  BOOST_TEST(one("PRAGMA auto_vacuum") == "2;");  // incremental
  BOOST_TEST(one("SELECT seq, key, units, value FROM items ORDER BY seq") == "1|k1|10|v1 again;2|ключ|6|😀;");
  sqlite3_close(db);
}

BOOST_AUTO_TEST_CASE(threads_with_their_own_connections_write_at_once) {
  TempDir tmp;
  const fs::path file = tmp.path() / "o.sqlite";
  open_store(file);  // created once up front (creation races are covered by the plugin's process test)
  std::vector<std::thread> threads;
  std::vector<std::string> errors(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      try {
        WebStorage s = open_store(file);
        for (int i = 0; i < 50; ++i) s.set_item("t" + std::to_string(t) + "/" + std::to_string(i), std::string(1000, static_cast<char>('a' + t)));
      } catch (const std::exception& e) {
        errors[t] = e.what();
      }
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& e : errors) BOOST_TEST(e.empty(), e);
  WebStorage s = open_store(file);
  BOOST_TEST(s.length() == 200u);
  BOOST_TEST(s.used_units() == 200u * 1000u + 4u * (10u * 4u + 40u * 5u));
}

BOOST_AUTO_TEST_CASE(where_stores_live) {
  TempDir tmp;
  {
    ScopedEnv data("MODELPORT_DATA_DIR", (tmp.path() / "data").c_str());
    ScopedEnv origin("MODELPORT_ORIGIN", nullptr);
    StoreLocation l = store_location();
    BOOST_TEST(l.data_dir == tmp.path() / "data");
    BOOST_TEST(l.origin == "default");
    BOOST_TEST(l.file == tmp.path() / "data" / "localstorage" / "default.sqlite");
  }
  {
    ScopedEnv data("MODELPORT_DATA_DIR", nullptr);
    ScopedEnv xdg("XDG_DATA_HOME", (tmp.path() / "xdg").c_str());
    ScopedEnv origin("MODELPORT_ORIGIN", "https://example.com:8080");
    StoreLocation l = store_location();
    BOOST_TEST(l.data_dir == tmp.path() / "xdg" / "modelport");
    BOOST_TEST(l.file.filename() == "https%3A%2F%2Fexample.com%3A8080.sqlite");
  }
  {
    ScopedEnv data("MODELPORT_DATA_DIR", nullptr);
    ScopedEnv xdg("XDG_DATA_HOME", nullptr);
    ScopedEnv home("HOME", (tmp.path() / "home").c_str());
    BOOST_TEST(default_data_dir() == tmp.path() / "home" / ".local" / "share" / "modelport");
    // Explicit values win over the environment.
    StoreLocation l = store_location(std::string_view("rel/dir"), std::string_view("app"));
    BOOST_TEST(l.data_dir.is_absolute());
    BOOST_TEST(l.file.filename() == "app.sqlite");
  }
  BOOST_TEST(origin_file_stem(".hidden") == "%2Ehidden");
  BOOST_TEST(origin_file_stem("a.b_c-D9") == "a.b_c-D9");
  BOOST_TEST(origin_file_stem("../../etc") == "%2E.%2F..%2Fetc");
  BOOST_TEST(origin_file_stem("é") == "%C3%A9");
  BOOST_TEST((kind_of([] { origin_file_stem(""); }) == Kind::invalid_argument));
  BOOST_TEST((kind_of([] { origin_file_stem(std::string(300, 'o')); }) == Kind::invalid_argument));
}

BOOST_AUTO_TEST_CASE(quota_settings) {
  BOOST_TEST(parse_quota("123", "quota") == 123u);
  BOOST_TEST(parse_quota("0", "quota") == 0u);
  BOOST_TEST(parse_quota("unlimited", "quota") == kUnlimitedQuota);
  std::string message;
  BOOST_TEST((kind_of([] { parse_quota("5MB", "option quota"); }, &message) == Kind::invalid_argument));
  BOOST_TEST(message.find("option quota=5MB") != std::string::npos, message);
  BOOST_TEST((kind_of([] { parse_quota("-1", "quota"); }) == Kind::invalid_argument));
  {
    ScopedEnv quota("MODELPORT_LOCALSTORAGE_QUOTA", nullptr);
    BOOST_TEST(resolve_quota() == 5'242'880u);
  }
  {
    ScopedEnv quota("MODELPORT_LOCALSTORAGE_QUOTA", "1000");
    BOOST_TEST(resolve_quota() == 1000u);
    BOOST_TEST(resolve_quota(std::string_view("7")) == 7u);
  }
}

BOOST_AUTO_TEST_CASE(purge_removes_every_model_key_like_tfjs) {
  TempDir tmp;
  WebStorage s = open_store(tmp.path() / "o.sqlite");
  for (const char* k : {"tensorflowjs_models/a/info", "other", "tensorflowjs_models/b/c/info", "tensorflowjs_models/a/weight_data",
                        "tensorflowjs_models/", "tensorflowjs_models/x", "tensorflowjs_models_not/a/info", "tensorflowjs_models/b/c/weight_specs"}) {
    s.set_item(k, "v");
  }
  const auto purged = purge_local_storage_artifacts(s);
  BOOST_TEST(purged == (std::vector<std::string>{"a", "b/c"}), boost::test_tools::per_element());
  BOOST_TEST(s.keys() == (std::vector<std::string>{"other", "tensorflowjs_models/", "tensorflowjs_models_not/a/info"}),
             boost::test_tools::per_element());
  BOOST_TEST(purge_local_storage_artifacts(s).empty());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(codecs)

BOOST_AUTO_TEST_CASE(base64_rfc4648_vectors) {
  const std::pair<const char*, const char*> vectors[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    BOOST_TEST(base64_encode(bytes_of(plain)) == encoded);
    BOOST_TEST(decode_text(encoded) == plain);
  }
  BOOST_TEST(base64_encode(bytes_of("\xFB\xFF\xBF")) == "+/+/");  // the two non-alphanumeric characters
}

BOOST_AUTO_TEST_CASE(base64_round_trips_in_any_chunking) {
  std::mt19937_64 rng(7);
  for (std::size_t n = 0; n < 300; ++n) {
    const auto data = random_bytes(n, n);
    const std::string expected = reference_base64(data);
    BOOST_TEST_REQUIRE(base64_encode(data) == expected, "size " << n);
    // Streamed in random pieces, some empty.
    std::string streamed(base64_encoded_size(n), '\0');
    Base64Encoder encoder(streamed.data());
    std::size_t at = 0;
    while (at < n) {
      std::size_t piece = std::min<std::size_t>(rng() % 7, n - at);
      encoder.update(std::span(data).subspan(at, piece));
      at += piece;
    }
    BOOST_TEST(encoder.finish() == expected.size());
    BOOST_TEST_REQUIRE(streamed == expected, "size " << n);
    std::vector<std::byte> back(base64_decoded_size(expected));
    base64_decode(expected, back);
    BOOST_TEST_REQUIRE((back == data), "size " << n);
  }
  // 1018 semi-random bytes (tfjs io_utils_test), and a larger buffer decoded piece by piece.
  const auto data = random_bytes(1018, 1018);
  BOOST_TEST((decode_text(base64_encode(data)) == std::string(reinterpret_cast<const char*>(data.data()), data.size())));
  const auto big = random_bytes(100001, 3);
  const std::string text = base64_encode(big);
  std::vector<std::byte> back(base64_decoded_size(text));
  constexpr std::size_t kPiece = 4 * 1000;
  for (std::size_t at = 0; at < text.size(); at += kPiece) {
    const std::string_view piece = std::string_view(text).substr(at, kPiece);
    const bool last = at + piece.size() == text.size();
    const std::size_t first = at / 4 * 3;
    base64_decode(piece, std::span(back).subspan(first, last ? back.size() - first : piece.size() / 4 * 3), at, last);
  }
  BOOST_TEST((back == big));
}

BOOST_AUTO_TEST_CASE(base64_decoding_is_as_forgiving_as_atob_and_no_more) {
  // Padding may be left out; bits past the last byte are ignored.
  BOOST_TEST(decode_text("Zg") == "f");
  BOOST_TEST(decode_text("Zm8") == "fo");
  BOOST_TEST(decode_text("Zh==") == "f");
  BOOST_TEST(base64_has_whitespace("Zm9v\nYmFy"));
  BOOST_TEST(!base64_has_whitespace("Zm9vYmFy"));
  BOOST_TEST(base64_strip_whitespace(" Zm9v\r\n\tYmFy\f") == "Zm9vYmFy");
  auto error = [](std::string_view text) {
    try {
      decode_text(text);
    } catch (const Base64Error& e) {
      return std::string(e.what()) + " @" + std::to_string(e.offset());
    }
    return std::string("(no error)");
  };
  BOOST_TEST(error("Zm9v!mFy") == "invalid base64: '!' at offset 4 @4");
  BOOST_TEST(error("Zm=v") == "invalid base64: '=' at offset 2 (padding is allowed only at the end) @2");
  BOOST_TEST(error("Zg=") == "invalid base64: '=' at offset 2 (padding is allowed only at the end) @2");
  BOOST_TEST(error("Zm9vY").find("4n+1") != std::string::npos, error("Zm9vY"));
  BOOST_TEST(error("Zm9v-_") == "invalid base64: '-' at offset 4 @4");  // base64url is not base64
  BOOST_TEST(error(std::string(40, 'A') + "\x01" + "AAA") == "invalid base64: byte 0x01 at offset 40 @40");
  BOOST_TEST(error("A===") == "invalid base64: '=' at offset 1 (padding is allowed only at the end) @1");
  // An error deep inside a long text (past the block-at-a-time loop) is located exactly.
  std::string long_text(4000, 'Q');
  long_text[2999] = '*';
  BOOST_TEST(error(long_text) == "invalid base64: '*' at offset 2999 @2999");
}

BOOST_AUTO_TEST_CASE(iso_dates_as_javascript_writes_and_reads_them) {
  BOOST_TEST(format_iso8601(0) == "1970-01-01T00:00:00.000Z");
  BOOST_TEST(format_iso8601(-1) == "1969-12-31T23:59:59.999Z");
  const auto golden = parse_iso8601("2026-11-29T11:59:34.389Z");
  BOOST_TEST_REQUIRE(golden.has_value());
  BOOST_TEST(*golden == 1795953574389);
  BOOST_TEST(format_iso8601(*golden) == "2026-11-29T11:59:34.389Z");
  BOOST_TEST(parse_iso8601("2024-02-29").value() == 1709164800000);
  BOOST_TEST(parse_iso8601("2024-02-29T01:02:03+01:00").value() == 1709164800000 + 3723000 - 3600000);
  BOOST_TEST(parse_iso8601("2024-02-29T01:02:03.5Z").value() == 1709164800000 + 3723500);
  BOOST_TEST(parse_iso8601("2024-02-29T01:02").value() == 1709164800000 + 3720000);
  for (const char* bad : {"", "2023-02-29", "2024-13-01", "2024-01-01T25:00Z", "yesterday", "2024-01-01T00:00:00.Z", "2024-01-01 00:00"}) {
    BOOST_TEST(!parse_iso8601(bad).has_value(), bad);
  }
  for (std::int64_t ms : {std::int64_t{951782400000}, std::int64_t{4102444799999}, std::int64_t{1}}) {
    BOOST_TEST(parse_iso8601(format_iso8601(ms)).value() == ms);
  }
}

BOOST_AUTO_TEST_CASE(info_values_are_byte_identical_to_tfjs) {
  StoredInfo info;
  info.date_saved_ms = *parse_iso8601("2026-11-29T11:59:34.389Z");
  info.has_date = true;
  info.model_topology_bytes = 1785;
  info.weight_specs_bytes = 332;
  info.weight_data_bytes = 1452;
  // tests/fixtures/golden/browser-schemes.json, key tensorflowjs_models/demo/model-1/info.
  const std::string golden =
      R"({"dateSaved":"2026-11-29T11:59:34.389Z","modelTopologyType":"JSON","modelTopologyBytes":1785,"weightSpecsBytes":332,"weightDataBytes":1452})";
  BOOST_TEST(info_json(info) == golden);
  StoredInfo back = parse_info_json(golden);
  BOOST_TEST(back.has_date);
  BOOST_TEST(back.date_saved_ms == info.date_saved_ms);
  BOOST_TEST(back.model_topology_type == "JSON");
  BOOST_TEST(back.weight_data_bytes.value() == 1452u);
  StoredInfo odd = parse_info_json(R"({"dateSaved":12,"modelTopologyBytes":"9","weightSpecsBytes":-1,"weightDataBytes":1.5})");
  BOOST_TEST(!odd.has_date);
  BOOST_TEST(odd.model_topology_type.empty());
  BOOST_TEST(!odd.model_topology_bytes);
  BOOST_TEST(!odd.weight_specs_bytes);
  BOOST_TEST(!odd.weight_data_bytes);
  BOOST_CHECK_THROW(parse_info_json("[1]"), JsonError);
  BOOST_CHECK_THROW(parse_info_json("{\"dateSaved\":"), JsonError);
}

BOOST_AUTO_TEST_CASE(key_layout) {
  const ModelKeys k("demo/model-1");
  BOOST_TEST(k.info == "tensorflowjs_models/demo/model-1/info");
  BOOST_TEST(k.topology == "tensorflowjs_models/demo/model-1/model_topology");
  BOOST_TEST(k.weight_specs == "tensorflowjs_models/demo/model-1/weight_specs");
  BOOST_TEST(k.weight_data == "tensorflowjs_models/demo/model-1/weight_data");
  BOOST_TEST(k.model_metadata == "tensorflowjs_models/demo/model-1/model_metadata");
  BOOST_TEST(model_path_of_info_key("tensorflowjs_models/demo/model-1/info").value() == "demo/model-1");
  BOOST_TEST(model_path_of_info_key("tensorflowjs_models//info").value() == "");
  BOOST_TEST(!model_path_of_info_key("tensorflowjs_models/demo/model-1/weight_data"));
  BOOST_TEST(!model_path_of_info_key("other/demo/info"));
  try {
    model_path_of_info_key("tensorflowjs_models/info");
    BOOST_FAIL("expected Invalid key format");
  } catch (const std::invalid_argument& e) {
    BOOST_TEST(std::string(e.what()) == "Invalid key format: tensorflowjs_models/info");
  }
}

BOOST_AUTO_TEST_CASE(json_reader) {
  const std::string text = R"( {"a" : [1, {"x":null}] , "b":"x\u00e9\ud83d\ude00\n", "a":-0.5e+3 ,"c":{}} )";
  const auto members = object_members(text);
  BOOST_TEST_REQUIRE(members.size() == 4u);
  BOOST_TEST(members[0].key == "a");
  BOOST_TEST(members[0].value == R"([1, {"x":null}])");
  BOOST_TEST(members[1].value == R"("x\u00e9\ud83d\ude00\n")");
  BOOST_TEST(json_string(members[1].value).value() == "xé😀\n");
  BOOST_TEST(json_number(members[2].value).value() == -500.0);
  BOOST_TEST(members[3].value == "{}");
  BOOST_TEST(json_string(R"("\ud800")").value() == "\xEF\xBF\xBD");  // a lone surrogate
  BOOST_TEST(!json_string("12"));
  BOOST_TEST(!json_number("\"12\""));
  BOOST_TEST(!json_number("01"));
  auto error = [](std::string_view t) {
    try {
      validate_json(t);
    } catch (const JsonError& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  BOOST_TEST(error("{\"a\":1}") == "(no error)");
  BOOST_TEST(error("{\"a\":1,}") == "expected a string key at byte 7");
  BOOST_TEST(error("[1 2]") == "expected ']' at byte 3");
  BOOST_TEST(error("undefined") == "unexpected character at byte 0");
  BOOST_TEST(error("\"a\tb\"") == "control character in a string at byte 2");
  BOOST_TEST(error("{} x") == "unexpected text after the JSON value at byte 3");
  BOOST_TEST(error("") == "unexpected end of JSON at byte 0");
  BOOST_TEST(error(std::string(1001, '[') + std::string(1001, ']')).find("deeper than 1000") != std::string::npos);
  BOOST_TEST(error(std::string(1000, '[') + std::string(1000, ']')) == "(no error)");
  BOOST_CHECK_THROW(object_members("[1]"), JsonError);
  BOOST_TEST(json_quote("a\"b\\c\n\x01é") == "\"a\\\"b\\\\c\\n\\u0001é\"");
}

BOOST_AUTO_TEST_SUITE_END()
