// localStorage values as the localstorage:// plugin reads them back from a store someone else
// may have written: base64 weight data (whole and piece by piece), the JSON it splits into
// members without the core (info, model_metadata), dates, and keys.
//
// The first byte picks what the rest is. Invariants: only the documented exceptions come out;
// base64 round-trips; piecewise decoding equals whole decoding; the plugin's JSON reader and the
// core's parser agree on what is JSON (for ASCII text: the core also checks UTF-8, the reader
// leaves that to the write path); info values re-read as they were written.
#include "fuzz_support.hpp"

#include "base64.hpp"
#include "json_scan.hpp"
#include "tfjs_layout.hpp"

#include <modelport/error.hpp>
#include <modelport/json.hpp>

#include <algorithm>
#include <cstring>
#include <vector>

namespace {

using namespace modelport::localstorage;
using modelport::fuzz::ByteReader;

std::span<const std::byte> as_bytes(std::string_view s) { return std::as_bytes(std::span(s.data(), s.size())); }

void base64_text(std::string_view text) {
  std::string stripped;
  if (base64_has_whitespace(text)) {
    stripped = base64_strip_whitespace(text);
    text = stripped;
  }
  std::size_t size = 0;
  try {
    size = base64_decoded_size(text);
  } catch (const Base64Error&) {
    return;
  }
  std::vector<std::byte> whole(size);
  try {
    base64_decode(text, whole);
  } catch (const Base64Error& e) {
    MODELPORT_FUZZ_CHECK(e.offset() < text.size(), e.what());
    return;
  }
  // The same text in pieces of 4n characters must decode to the same bytes.
  const std::size_t piece = std::max<std::size_t>(4, (text.size() / 3) / 4 * 4);
  std::vector<std::byte> pieces(size);
  std::size_t out = 0;
  for (std::size_t at = 0; at < text.size(); at += piece) {
    const bool last = at + piece >= text.size();
    const std::string_view part = text.substr(at, piece);
    const std::size_t bytes = last ? size - out : part.size() / 4 * 3;
    base64_decode(part, std::span(pieces).subspan(out, bytes), at, last);
    out += bytes;
  }
  MODELPORT_FUZZ_CHECK(whole == pieces, "piecewise base64 decoding differs");
  // Re-encoding gives a text that decodes to the same bytes.
  const std::string again = base64_encode(whole);
  std::vector<std::byte> back(base64_decoded_size(again));
  base64_decode(again, back);
  MODELPORT_FUZZ_CHECK(back == whole, "base64 re-encoding differs");
}

void base64_bytes(ByteReader& in) {
  const std::size_t chunk = 1 + in.u8() % 16;
  const std::string_view bytes = in.rest();
  std::string streamed(base64_encoded_size(bytes.size()), '\0');
  Base64Encoder encoder(streamed.data());
  for (std::size_t at = 0; at < bytes.size(); at += chunk) encoder.update(as_bytes(bytes.substr(at, chunk)));
  MODELPORT_FUZZ_CHECK(encoder.finish() == streamed.size(), "encoder length");
  MODELPORT_FUZZ_CHECK(streamed == base64_encode(as_bytes(bytes)), "streamed encoding differs");
  std::vector<std::byte> back(base64_decoded_size(streamed));
  base64_decode(streamed, back);
  MODELPORT_FUZZ_CHECK(back.size() == bytes.size() && (bytes.empty() || std::memcmp(back.data(), bytes.data(), bytes.size()) == 0),
                       "base64 round trip");
}

void json_text(std::string_view text) {
  bool plugin_ok = true;
  try {
    validate_json(text);
  } catch (const JsonError& e) {
    plugin_ok = false;
    MODELPORT_FUZZ_CHECK(e.offset() <= text.size(), e.what());
  }
  if (std::all_of(text.begin(), text.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; })) {
    bool core_ok = true;
    try {
      (void)modelport::json::parse(text, "fuzz");
    } catch (const modelport::Error&) {
      core_ok = false;
    }
    MODELPORT_FUZZ_CHECK(plugin_ok == core_ok, std::string("plugin reader says ") + (plugin_ok ? "JSON" : "not JSON"));
  }
  try {
    for (const auto& m : object_members(text)) {
      (void)json_string(m.value);
      (void)json_number(m.value);
    }
  } catch (const JsonError&) {
  }
}

void info_value(std::string_view text) {
  StoredInfo info;
  try {
    info = parse_info_json(text);
  } catch (const JsonError&) {
    return;
  }
  if (!info.has_date) return;
  // What the plugin writes back must read as the same info.
  const StoredInfo again = parse_info_json(info_json(info));
  MODELPORT_FUZZ_CHECK(again.has_date && again.date_saved_ms == info.date_saved_ms, format_iso8601(info.date_saved_ms));
  MODELPORT_FUZZ_CHECK(again.model_topology_bytes == info.model_topology_bytes, "topology bytes");
  MODELPORT_FUZZ_CHECK(again.weight_specs_bytes == info.weight_specs_bytes, "spec bytes");
  MODELPORT_FUZZ_CHECK(again.weight_data_bytes == info.weight_data_bytes, "data bytes");
}

void date_text(std::string_view text) {
  auto ms = parse_iso8601(text);
  if (!ms) return;
  const std::string formatted = format_iso8601(*ms);
  MODELPORT_FUZZ_CHECK(parse_iso8601(formatted) == ms || formatted.front() == '+' || formatted.front() == '-',
                       std::string(text) + " -> " + formatted);
}

void key_text(std::string_view text) {
  try {
    if (auto path = model_path_of_info_key(text)) {
      MODELPORT_FUZZ_CHECK(ModelKeys(*path).info == text, std::string(text));
    }
  } catch (const std::invalid_argument&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ByteReader in(data, size);
  const std::uint8_t mode = in.u8();
  switch (mode % 6) {
    case 0: base64_text(in.rest()); break;
    case 1: base64_bytes(in); break;
    case 2: json_text(in.rest()); break;
    case 3: info_value(in.rest()); break;
    case 4: date_text(in.rest()); break;
    default: key_text(in.rest()); break;
  }
  return 0;
}
