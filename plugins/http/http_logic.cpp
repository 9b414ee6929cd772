#include "http_logic.hpp"

#include <modelport/plugin.hpp>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <random>

namespace modelport::http_plugin {

using sdk::Code;
using sdk::Error;

namespace {


// Bytes a WHATWG URL parser percent-encodes in a path or query before sending; '%' stays as is
// (an existing escape) and so do the structural characters.
bool needs_encoding(unsigned char c) {
  if (c <= 0x20 || c >= 0x7f) return true;
  switch (c) {
    case '"': case '<': case '>': case '`': case '{': case '}': case '|': case '\\': case '^':
      return true;
    default:
      return false;
  }
}

std::string encode_loose_characters(std::string_view url) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(url.size());
  for (char ch : url) {
    const auto c = static_cast<unsigned char>(ch);
    if (needs_encoding(c)) {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += ch;
    }
  }
  return out;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string Endpoint::connection_key() const {
  return (tls ? "https://" : "http://") + host + "|" + std::to_string(port);
}

Endpoint parse_endpoint(std::string_view url) {
  const std::string text = encode_loose_characters(url);
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed) {
    throw Error(Code::invalid_argument, "'" + std::string(url) + "' is not a valid URL (" + parsed.error().message() + ")");
  }
  const boost::urls::url_view& u = *parsed;
  Endpoint ep;
  const std::string scheme = lower(u.scheme());
  if (scheme == "https") {
    ep.tls = true;
  } else if (scheme != "http") {
    throw Error(Code::invalid_argument, "'" + std::string(url) + "' is not an http:// or https:// URL");
  }
  if (!u.has_authority() || u.encoded_host().empty()) {
    throw Error(Code::invalid_argument, "'" + std::string(url) + "' has no host");
  }
  if (u.has_userinfo()) {
    throw Error(Code::invalid_argument, "'" + std::string(url) +
                                            "' has credentials in it; pass them as an Authorization header instead");
  }
  switch (u.host_type()) {
    case boost::urls::host_type::ipv6:
      ep.host = u.host_ipv6_address().to_string();
      ep.host_header = "[" + ep.host + "]";
      break;
    case boost::urls::host_type::ipvfuture:
      throw Error(Code::invalid_argument, "'" + std::string(url) + "' has an IP literal this client cannot use");
    default:
      ep.host = lower(u.host());
      ep.host_header = ep.host;
  }
  const std::uint16_t default_port = ep.tls ? 443 : 80;
  ep.port = default_port;
  if (u.has_port()) {
    auto port = parse_unsigned(u.port());
    if (!u.port().empty()) {
      if (!port || *port == 0 || *port > 65535) {
        throw Error(Code::invalid_argument, "'" + std::string(url) + "' has an invalid port '" + std::string(u.port()) + "'");
      }
      ep.port = static_cast<std::uint16_t>(*port);
    }
  }
  if (ep.port != default_port) ep.host_header += ":" + std::to_string(ep.port);
  ep.target = std::string(u.encoded_path());
  if (ep.target.empty()) ep.target = "/";
  if (u.has_query()) ep.target += "?" + std::string(u.encoded_query());
  return ep;
}

std::string resolve_location(std::string_view base_url, std::string_view location) {
  const std::string base_text = encode_loose_characters(base_url);
  const std::string location_text = encode_loose_characters(location);
  auto base = boost::urls::parse_uri(base_text);
  auto ref = boost::urls::parse_uri_reference(location_text);
  if (!base || !ref) {
    throw Error(Code::unavailable, "the redirect from '" + std::string(base_url) + "' points to an invalid URL '" +
                                       std::string(location) + "'");
  }
  boost::urls::url resolved;
  auto result = boost::urls::resolve(*base, *ref, resolved);
  if (!result) {
    throw Error(Code::unavailable, "cannot resolve the redirect from '" + std::string(base_url) + "' to '" +
                                       std::string(location) + "' (" + result.error().message() + ")");
  }
  resolved.remove_fragment();
  return std::string(resolved.buffer());
}

std::pair<std::string, std::string> split_prefix_suffix(std::string_view base) {
  const auto slash = base.rfind('/');
  const auto question = base.rfind('?');
  std::string prefix = slash == std::string_view::npos ? std::string("/") : std::string(base.substr(0, slash)) + "/";
  std::string suffix;
  if (question != std::string_view::npos && (slash == std::string_view::npos || question > slash)) {
    suffix = std::string(base.substr(question));
  }
  return {std::move(prefix), std::move(suffix)};
}

std::vector<std::string> shard_urls(std::string_view model_url, const std::vector<std::string>& paths,
                                    std::optional<std::string_view> weight_path_prefix) {
  auto [prefix, suffix] = split_prefix_suffix(model_url);
  // tfjs: a non-empty weightPathPrefix replaces the prefix; nothing is inserted after it.
  const std::string path_prefix = weight_path_prefix && !weight_path_prefix->empty() ? std::string(*weight_path_prefix) : prefix;
  std::vector<std::string> urls;
  urls.reserve(paths.size());
  for (const auto& p : paths) urls.push_back(path_prefix + p + suffix);
  return urls;
}

// ---- options ---------------------------------------------------------------------------------

namespace {

std::uint64_t count_option(std::string_view key, std::string_view value, std::uint64_t min, std::uint64_t max) {
  auto n = parse_unsigned(value);
  if (!n || *n < min || *n > max) {
    throw Error(Code::invalid_argument, "http option " + std::string(key) + "='" + std::string(value) +
                                            "' must be a whole number from " + std::to_string(min) + " to " +
                                            std::to_string(max));
  }
  return *n;
}

}  // namespace

Settings parse_settings(const OptionLookup& option) {
  Settings s;
  if (auto v = option("connections")) s.connections = static_cast<unsigned>(count_option("connections", *v, 1, 64));
  if (auto v = option("timeout_ms")) s.timeout = std::chrono::milliseconds(count_option("timeout_ms", *v, 1, 86'400'000));
  if (auto v = option("retries")) s.retries = static_cast<unsigned>(count_option("retries", *v, 0, 20));
  if (auto v = option("retry_delay_ms")) s.retry_delay = std::chrono::milliseconds(count_option("retry_delay_ms", *v, 0, 60'000));
  if (auto v = option("max_redirects")) s.max_redirects = static_cast<unsigned>(count_option("max_redirects", *v, 0, 20));
  if (auto v = option("ca_file")) s.ca_file = std::string(*v);
  if (auto v = option("insecure")) {
    if (*v == "1" || *v == "true") {
      s.insecure = true;
    } else if (*v == "0" || *v == "false" || v->empty()) {
      s.insecure = false;
    } else {
      throw Error(Code::invalid_argument, "http option insecure='" + std::string(*v) + "' must be 1 or 0");
    }
  }
  return s;
}

// ---- manifest --------------------------------------------------------------------------------

namespace {

std::optional<std::uint64_t> element_bytes(std::string_view dtype) {
  if (dtype == "float32" || dtype == "int32") return 4;
  if (dtype == "bool" || dtype == "uint8") return 1;
  if (dtype == "complex64") return 8;
  if (dtype == "uint16" || dtype == "float16") return 2;
  return std::nullopt;  // string (variable size) or unknown
}

std::optional<std::uint64_t> weight_bytes(const boost::json::value& spec) {
  const auto* obj = spec.if_object();
  if (!obj) return std::nullopt;
  const auto* shape = obj->if_contains("shape");
  const auto* dtype = obj->if_contains("dtype");
  if (!shape || !shape->is_array() || !dtype || !dtype->is_string()) return std::nullopt;
  std::string_view type = dtype->get_string();
  if (const auto* q = obj->if_contains("quantization"); q && q->is_object()) {
    const auto* qd = q->as_object().if_contains("dtype");
    if (!qd || !qd->is_string()) return std::nullopt;
    type = qd->get_string();
  }
  auto per_element = element_bytes(type);
  if (!per_element) return std::nullopt;
  std::uint64_t count = 1;
  for (const auto& dim : shape->get_array()) {
    std::uint64_t d = 0;
    if (dim.is_int64() && dim.get_int64() >= 0) {
      d = static_cast<std::uint64_t>(dim.get_int64());
    } else if (dim.is_uint64()) {
      d = dim.get_uint64();
    } else if (dim.is_double() && dim.get_double() >= 0 && dim.get_double() < 9e15 &&
               dim.get_double() == static_cast<double>(static_cast<std::uint64_t>(dim.get_double()))) {
      d = static_cast<std::uint64_t>(dim.get_double());
    } else {
      return std::nullopt;
    }
    if (d != 0 && count > (std::uint64_t(1) << 62) / d) return std::nullopt;
    count *= d;
  }
  if (count > (std::uint64_t(1) << 60) / *per_element) return std::nullopt;
  return count * *per_element;
}

}  // namespace

ManifestLayout manifest_layout(std::string_view model_json) {
  ManifestLayout layout;
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(model_json, ec);
  if (ec) return layout;
  const boost::json::value* manifest = &doc;  // a bare manifest array is accepted too
  if (const auto* obj = doc.if_object()) {
    manifest = obj->if_contains("weightsManifest");
    if (!manifest) return layout;
  }
  const auto* groups = manifest->if_array();
  if (!groups) return layout;
  for (const auto& g : *groups) {
    const auto* group = g.if_object();
    if (!group) return {};
    const auto* paths = group->if_contains("paths");
    if (!paths || !paths->is_array()) return {};
    const std::size_t index = layout.group_bytes.size();
    for (std::size_t i = 0; i < paths->get_array().size(); ++i) layout.group_of_shard.push_back(index);
    std::optional<std::uint64_t> total = 0;
    if (const auto* weights = group->if_contains("weights"); weights && weights->is_array()) {
      for (const auto& w : weights->get_array()) {
        auto b = weight_bytes(w);
        if (!b || !total) {
          total.reset();
          break;
        }
        *total += *b;
      }
    }
    layout.group_bytes.push_back(total);
  }
  return layout;
}

std::optional<std::string> group_size_problem(const ManifestLayout& layout, const std::vector<std::string>& urls,
                                              const std::vector<std::uint64_t>& shard_sizes) {
  if (layout.group_of_shard.size() != shard_sizes.size() || urls.size() != shard_sizes.size()) return std::nullopt;
  std::vector<std::uint64_t> got(layout.group_bytes.size(), 0);
  for (std::size_t i = 0; i < shard_sizes.size(); ++i) got[layout.group_of_shard[i]] += shard_sizes[i];
  for (std::size_t g = 0; g < got.size(); ++g) {
    if (!layout.group_bytes[g] || got[g] == *layout.group_bytes[g]) continue;
    std::string names;
    for (std::size_t i = 0; i < urls.size(); ++i) {
      if (layout.group_of_shard[i] != g) continue;
      names += (names.empty() ? "" : ", ") + urls[i] + " (" + std::to_string(shard_sizes[i]) + " bytes)";
    }
    return "the shards of weight group " + std::to_string(g + 1) + " hold " + std::to_string(got[g]) +
           " bytes, but its manifest entries need " + std::to_string(*layout.group_bytes[g]) + ": " + names;
  }
  return std::nullopt;
}

// ---- responses -------------------------------------------------------------------------------

Disposition classify(unsigned status) {
  if (status >= 200 && status < 300) return Disposition::success;
  if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) return Disposition::redirect;
  if (status == 429 || (status >= 500 && status < 600)) return Disposition::retry;
  return Disposition::fail;
}

std::string body_snippet(std::string_view body, std::size_t max_chars) {
  std::string out;
  for (char ch : body) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n' || c == '\r' || c == '\t') {
      if (!out.empty() && out.back() != ' ') out += ' ';
    } else if (c < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += ch;
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::string describe_status_failure(std::string_view method, std::string_view url, const ResponseHead& head,
                                    std::string_view body) {
  std::string out = "HTTP " + std::to_string(head.status);
  if (!head.reason.empty()) out += " " + body_snippet(head.reason, 80);
  out += " from " + std::string(method) + " " + std::string(url);
  if (std::string snippet = body_snippet(body); !snippet.empty()) out += ": " + snippet;
  return out;
}

std::optional<std::string> shard_head_problem(const ResponseHead& head, std::optional<std::uint64_t> max_bytes) {
  const std::string type = lower(head.content_type.substr(0, head.content_type.find(';')));
  if (type.find("text/html") != std::string::npos || type.find("application/xhtml") != std::string::npos) {
    return "the server sent an HTML page (Content-Type: " + body_snippet(head.content_type, 80) +
           ") instead of weight bytes";
  }
  if (head.content_length && max_bytes && *head.content_length > *max_bytes) {
    return "the response declares " + std::to_string(*head.content_length) +
           " bytes (Content-Length), more than the manifest leaves for this shard (" + std::to_string(*max_bytes) +
           " bytes)";
  }
  return std::nullopt;
}

namespace {
std::string_view trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}
bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}
}  // namespace

bool offers_byte_ranges(std::string_view accept_ranges) {
  while (!accept_ranges.empty()) {
    const auto comma = accept_ranges.find(',');
    if (equals_ignoring_case(trimmed(accept_ranges.substr(0, comma)), "bytes")) return true;
    if (comma == std::string_view::npos) break;
    accept_ranges.remove_prefix(comma + 1);
  }
  return false;
}

std::string byte_range_request(std::uint64_t first, std::uint64_t last) {
  return "bytes=" + std::to_string(first) + "-" + std::to_string(last);
}

std::optional<std::string> content_range_problem(std::string_view content_range, std::uint64_t first,
                                                 std::uint64_t last, std::uint64_t total) {
  const std::string expected = "bytes " + std::to_string(first) + "-" + std::to_string(last) + "/" + std::to_string(total);
  const std::string_view given = trimmed(content_range);
  auto wrong = [&] {
    return std::optional<std::string>("the Content-Range is '" + body_snippet(given, 80) + "', not '" + expected + "'");
  };
  if (given.empty()) return "the response has no Content-Range (expected '" + expected + "')";
  // RFC 9110 §14.4: "bytes" SP first "-" last "/" (complete-length / "*"); the unit is case-insensitive.
  const auto space = given.find(' ');
  if (space == std::string_view::npos || !equals_ignoring_case(given.substr(0, space), "bytes")) return wrong();
  const std::string_view rest = trimmed(given.substr(space + 1));
  const auto dash = rest.find('-');
  const auto slash = rest.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || slash < dash) return wrong();
  const auto a = parse_unsigned(rest.substr(0, dash));
  const auto b = parse_unsigned(rest.substr(dash + 1, slash - dash - 1));
  const auto t = parse_unsigned(rest.substr(slash + 1));
  if (a != first || b != last || t != total) return wrong();
  return std::nullopt;
}

std::chrono::milliseconds backoff_delay(const Settings& settings, unsigned attempt, std::string_view retry_after) {
  if (auto seconds = parse_unsigned(retry_after); seconds && *seconds <= 30) return std::chrono::seconds(*seconds);
  auto delay = settings.retry_delay;
  for (unsigned i = 1; i < attempt && delay < std::chrono::seconds(10); ++i) delay *= 2;
  return std::min<std::chrono::milliseconds>(delay, std::chrono::seconds(10));
}

// ---- save ------------------------------------------------------------------------------------

MultipartLayout multipart_layout(std::string_view model_json, bool with_weights, std::uint64_t weight_bytes,
                                 std::string boundary) {
  // The layout undici's FormData writes: CRLF line ends, each part ends with CRLF, and the
  // closing delimiter is followed by a CRLF.
  MultipartLayout m;
  m.boundary = std::move(boundary);
  m.content_type = "multipart/form-data; boundary=" + m.boundary;
  m.head = "--" + m.boundary +
           "\r\nContent-Disposition: form-data; name=\"model.json\"; filename=\"model.json\"\r\n"
           "Content-Type: application/json\r\n\r\n";
  m.head += model_json;
  m.head += "\r\n";
  if (with_weights) {
    m.head += "--" + m.boundary +
              "\r\nContent-Disposition: form-data; name=\"model.weights.bin\"; filename=\"model.weights.bin\"\r\n"
              "Content-Type: application/octet-stream\r\n\r\n";
    m.tail = "\r\n";
  }
  m.tail += "--" + m.boundary + "--\r\n";
  m.content_length = m.head.size() + (with_weights ? weight_bytes : 0) + m.tail.size();
  return m;
}

std::string random_boundary() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device device;
  std::mt19937_64 gen((static_cast<std::uint64_t>(device()) << 32) ^ device());
  std::string b = "----modelport-formdata-";
  for (int i = 0; i < 24; ++i) b += kHex[gen() & 15];
  return b;
}

}  // namespace modelport::http_plugin
