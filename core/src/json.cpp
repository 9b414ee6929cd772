#include <modelport/json.hpp>

#include <modelport/error.hpp>
#include <modelport/limits.hpp>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string>
#include <system_error>

namespace modelport::json {
namespace {

// Boost's default of 32 rejects real Keras topologies (nested functional models, wrappers,
// configs inside configs). 1000 is far deeper than any model.json while keeping the recursive
// descent parser (and the recursive value destructor and stringify) well inside a thread stack.
constexpr std::size_t kMaxDepth = limits::max_json_depth;

// JS numbers are doubles, so integers beyond 2^53 are printed after rounding to double.
constexpr std::uint64_t kMaxSafeMagnitude = std::uint64_t{1} << 53;

// Longest output of format_to: "-1.2345678901234567e-308" or "-0.0000012345678901234567" is 25.
constexpr std::size_t kNumberBufferSize = 32;

// from_chars leaves the value untouched on overflow and underflow; JS gives ±Infinity and ±0.
// The literal is valid JSON, so the decimal exponent of its leading nonzero digit says which
// way it went (out of range only happens near 1e308 or 1e-324, never ambiguously).
double out_of_range_value(std::string_view literal) {
  const bool negative = !literal.empty() && literal.front() == '-';
  std::size_t i = negative ? 1 : 0;
  std::int64_t leading_exponent = 0;
  bool found_nonzero = false;
  std::int64_t integer_digits = 0;
  for (; i < literal.size() && literal[i] >= '0' && literal[i] <= '9'; ++i) {
    if (!found_nonzero && literal[i] != '0') {
      found_nonzero = true;
      integer_digits = 0;
    }
    if (found_nonzero) ++integer_digits;
  }
  if (found_nonzero) leading_exponent = integer_digits - 1;
  if (i < literal.size() && literal[i] == '.') {
    ++i;
    std::int64_t position = 0;
    for (; i < literal.size() && literal[i] >= '0' && literal[i] <= '9'; ++i) {
      ++position;
      if (!found_nonzero && literal[i] != '0') {
        found_nonzero = true;
        leading_exponent = -position;
      }
    }
  }
  std::int64_t exponent = 0;
  if (i < literal.size() && (literal[i] == 'e' || literal[i] == 'E')) {
    ++i;
    bool exponent_negative = false;
    if (i < literal.size() && (literal[i] == '+' || literal[i] == '-')) {
      exponent_negative = literal[i] == '-';
      ++i;
    }
    // Saturate: only the sign of the total matters and the exponent text may be arbitrarily long.
    for (; i < literal.size() && literal[i] >= '0' && literal[i] <= '9'; ++i) {
      if (exponent < 1'000'000'000) exponent = exponent * 10 + (literal[i] - '0');
    }
    if (exponent_negative) exponent = -exponent;
  }
  const double magnitude = (found_nonzero && leading_exponent + exponent >= 0)
                               ? std::numeric_limits<double>::infinity()
                               : 0.0;
  return negative ? -magnitude : magnitude;
}

// Correctly rounded, unlike Boost.JSON 1.81's own conversion.
double to_double(std::string_view literal, double boost_value) {
  double result = 0.0;
  const auto [ptr, ec] =
      std::from_chars(literal.data(), literal.data() + literal.size(), result);
  if (ec == std::errc::result_out_of_range) return out_of_range_value(literal);
  // Cannot happen for a literal Boost accepted; keep Boost's value rather than fail.
  if (ec != std::errc{} || ptr != literal.data() + literal.size()) return boost_value;
  return result;
}

// The same event sink as boost::json::parser's internal handler except for doubles.
// Duplicate keys need no fix-up: value_stack::push_object builds the object through
// object(unchecked_object&&), which keeps the position of the first occurrence and the value of
// the last one, exactly what JSON.parse produces (tested in test_json.cpp).
class Handler {
 public:
  static constexpr std::size_t max_object_size = boost::json::object::max_size();
  static constexpr std::size_t max_array_size = boost::json::array::max_size();
  static constexpr std::size_t max_key_size = boost::json::string::max_size();
  static constexpr std::size_t max_string_size = boost::json::string::max_size();

  boost::json::value_stack stack;

  bool on_document_begin(boost::json::error_code&) {
    stack.reset();
    return true;
  }
  bool on_document_end(boost::json::error_code&) { return true; }
  bool on_object_begin(boost::json::error_code&) { return true; }
  bool on_object_end(std::size_t n, boost::json::error_code&) {
    stack.push_object(n);
    return true;
  }
  bool on_array_begin(boost::json::error_code&) { return true; }
  bool on_array_end(std::size_t n, boost::json::error_code&) {
    stack.push_array(n);
    return true;
  }
  bool on_key_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_key(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_key(s);
    return true;
  }
  bool on_string_part(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_chars(s);
    return true;
  }
  bool on_string(boost::json::string_view s, std::size_t, boost::json::error_code&) {
    stack.push_string(s);
    return true;
  }
  // A number split across input buffers arrives as parts followed by the final callback,
  // which only carries the last part.
  bool on_number_part(boost::json::string_view s, boost::json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, boost::json::string_view, boost::json::error_code&) {
    number_.clear();
    stack.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, boost::json::string_view, boost::json::error_code&) {
    number_.clear();
    stack.push_uint64(u);
    return true;
  }
  bool on_double(double d, boost::json::string_view s, boost::json::error_code&) {
    if (number_.empty()) {
      stack.push_double(to_double(std::string_view(s.data(), s.size()), d));
    } else {
      number_.append(s.data(), s.size());
      stack.push_double(to_double(number_, d));
      number_.clear();
    }
    return true;
  }
  bool on_bool(bool b, boost::json::error_code&) {
    stack.push_bool(b);
    return true;
  }
  bool on_null(boost::json::error_code&) {
    stack.push_null();
    return true;
  }
  // Comments are disabled in the options; these only satisfy the handler concept.
  bool on_comment_part(boost::json::string_view, boost::json::error_code&) { return true; }
  bool on_comment(boost::json::string_view, boost::json::error_code&) { return true; }

 private:
  std::string number_;
};

[[noreturn]] void throw_parse_error(std::string_view source, std::size_t offset,
                                    const boost::json::error_code& ec) {
  std::string message = "invalid JSON";
  if (!source.empty()) {
    message += " in '";
    message += source;
    message += '\'';
  }
  message += " at byte ";
  message += std::to_string(offset);
  message += ": ";
  message += ec.message();
  throw Error(ErrorCode::corrupt, message);
}

// Writes Number::toString(value) into buf and returns its length.
std::size_t format_to(char* buf, double value) {
  if (!std::isfinite(value)) {
    std::memcpy(buf, "null", 4);
    return 4;
  }
  if (value == 0.0) {  // also -0, which JS prints as "0"
    buf[0] = '0';
    return 1;
  }
  // Shortest round-trip digits, as "d[.ddd]e±XX".
  std::array<char, kNumberBufferSize> sci{};
  const auto result =
      std::to_chars(sci.data(), sci.data() + sci.size(), value, std::chars_format::scientific);
  const char* p = sci.data();
  const char* const end = result.ptr;
  char* out = buf;
  if (*p == '-') {
    *out++ = '-';
    ++p;
  }
  std::array<char, 20> digits{};
  int k = 0;
  for (; p != end && *p != 'e'; ++p) {
    if (*p != '.') digits[static_cast<std::size_t>(k++)] = *p;
  }
  int exponent = 0;
  std::from_chars(p + 1 + (p[1] == '+' ? 1 : 0), end, exponent);
  // ECMAScript's n: value = 0.d1d2..dk × 10^n.
  const int n = exponent + 1;
  const auto put_digits = [&](int from, int to) {
    for (int i = from; i < to; ++i) *out++ = digits[static_cast<std::size_t>(i)];
  };
  if (k <= n && n <= 21) {
    put_digits(0, k);
    for (int i = k; i < n; ++i) *out++ = '0';
  } else if (0 < n && n <= 21) {
    put_digits(0, n);
    *out++ = '.';
    put_digits(n, k);
  } else if (-6 < n && n <= 0) {
    *out++ = '0';
    *out++ = '.';
    for (int i = 0; i < -n; ++i) *out++ = '0';
    put_digits(0, k);
  } else {
    *out++ = digits[0];
    if (k > 1) {
      *out++ = '.';
      put_digits(1, k);
    }
    *out++ = 'e';
    *out++ = n - 1 < 0 ? '-' : '+';
    const int e = n - 1 < 0 ? 1 - n : n - 1;
    out = std::to_chars(out, buf + kNumberBufferSize, e).ptr;
  }
  return static_cast<std::size_t>(out - buf);
}

// JS holds every number as a double: exact below 2^53, rounded to double above.
std::size_t format_int_to(char* buf, std::int64_t value) {
  const std::uint64_t magnitude =
      value < 0 ? std::uint64_t{0} - static_cast<std::uint64_t>(value)
                : static_cast<std::uint64_t>(value);
  if (magnitude <= kMaxSafeMagnitude) {
    return static_cast<std::size_t>(std::to_chars(buf, buf + kNumberBufferSize, value).ptr - buf);
  }
  return format_to(buf, static_cast<double>(value));
}

std::size_t format_uint_to(char* buf, std::uint64_t value) {
  if (value <= kMaxSafeMagnitude) {
    return static_cast<std::size_t>(std::to_chars(buf, buf + kNumberBufferSize, value).ptr - buf);
  }
  return format_to(buf, static_cast<double>(value));
}

// ECMAScript QuoteJSONString: only '"', '\\' and C0 controls are escaped; everything else,
// including '/', DEL and non-ASCII UTF-8, is copied raw.
// 0xED starts a check for a lone surrogate (below).
constexpr bool needs_escape(unsigned char c) { return c < 0x20 || c == '"' || c == '\\' || c == 0xED; }

// A lone UTF-16 surrogate (JS strings may hold one, e.g. half an emoji) is kept in memory as its
// 3-byte generalized UTF-8 form ED A0..BF xx, which valid UTF-8 never contains. JSON.stringify
// writes it as a \udXXX escape, so it is written back out that way.
constexpr bool is_surrogate_at(std::string_view s, std::size_t i) {
  return i + 2 < s.size() && static_cast<unsigned char>(s[i]) == 0xED && (static_cast<unsigned char>(s[i + 1]) & 0xE0) == 0xA0 &&
         (static_cast<unsigned char>(s[i + 2]) & 0xC0) == 0x80;
}

void append_quoted(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  std::size_t run_start = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    if (c == 0xED) {
      if (!is_surrogate_at(s, i)) continue;
      out.append(s.data() + run_start, i - run_start);
      const unsigned code = 0xD000u | (static_cast<unsigned>(static_cast<unsigned char>(s[i + 1]) & 0x3F) << 6) |
                            (static_cast<unsigned>(static_cast<unsigned char>(s[i + 2])) & 0x3F);
      const char escape[6] = {'\\', 'u', kHex[(code >> 12) & 0xF], kHex[(code >> 8) & 0xF], kHex[(code >> 4) & 0xF], kHex[code & 0xF]};
      out.append(escape, 6);
      i += 2;
      run_start = i + 1;
      continue;
    }
    out.append(s.data() + run_start, i - run_start);
    run_start = i + 1;
    switch (c) {
      case '"': out.append("\\\"", 2); break;
      case '\\': out.append("\\\\", 2); break;
      case '\b': out.append("\\b", 2); break;
      case '\f': out.append("\\f", 2); break;
      case '\n': out.append("\\n", 2); break;
      case '\r': out.append("\\r", 2); break;
      case '\t': out.append("\\t", 2); break;
      default: {
        const char escape[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out.append(escape, 6);
      }
    }
  }
  out.append(s.data() + run_start, s.size() - run_start);
  out.push_back('"');
}

std::size_t quoted_size(std::string_view s) {
  std::size_t size = s.size() + 2;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (!needs_escape(c)) continue;
    if (c == 0xED) {
      if (is_surrogate_at(s, i)) {
        size += 3;  // 3 stored bytes become a 6-byte escape
        i += 2;
      }
      continue;
    }
    switch (c) {
      case '"':
      case '\\':
      case '\b':
      case '\f':
      case '\n':
      case '\r':
      case '\t': size += 1; break;
      default: size += 5;
    }
  }
  return size;
}

std::string_view view(const boost::json::string& s) { return {s.data(), s.size()}; }
std::string_view view(boost::json::string_view s) { return {s.data(), s.size()}; }

void append_double(std::string& out, double v) {
  char buf[kNumberBufferSize];
  out.append(buf, format_to(buf, v));
}

// Strict UTF-8 (no overlongs, no encoded surrogates, nothing past U+10FFFF): what Boost.JSON
// checks by default, needed here only when that check has to be switched off.
std::optional<std::size_t> first_invalid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    if (n == 0 || c > 0xF4 || c == 0xC0 || c == 0xC1 || i + n > s.size()) return i;
    for (std::size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    const auto c1 = static_cast<unsigned char>(s[i + 1]);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0) || (c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90)) return i;
    i += n;
  }
  return std::nullopt;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The code unit of a \uXXXX escape starting at s[i] (the backslash), or -1.
int escape_unit(std::string_view s, std::size_t i) {
  if (i + 6 > s.size() || s[i] != '\\' || s[i + 1] != 'u') return -1;
  int v = 0;
  for (std::size_t k = 2; k < 6; ++k) {
    int h = hex_value(s[i + k]);
    if (h < 0) return -1;
    v = v * 16 + h;
  }
  return v;
}

// JSON.parse accepts an escaped lone surrogate ("\ud800"), which TensorFlow.js writes when a
// string was cut inside an emoji; Boost.JSON 1.81 rejects it. Rewrites each lone surrogate
// escape into its 3-byte generalized UTF-8 form (kept as is in memory and escaped again by
// stringify); escaped pairs stay escapes. Returns nullopt when there is nothing to rewrite.
std::optional<std::string> rewrite_lone_surrogates(std::string_view text) {
  std::string out;
  bool rewrote = false;
  std::size_t copied = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\') continue;
    int unit = escape_unit(text, i);
    if (unit < 0xD800 || unit > 0xDFFF) {
      ++i;  // skip the escaped character, so "\\ud800" (an escaped backslash) stays text
      continue;
    }
    if (unit <= 0xDBFF) {
      int next = escape_unit(text, i + 6);
      if (next >= 0xDC00 && next <= 0xDFFF) {
        i += 11;  // a proper pair
        continue;
      }
    }
    out.append(text.data() + copied, i - copied);
    out.push_back(static_cast<char>(0xED));
    out.push_back(static_cast<char>(0x80 | ((unit >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (unit & 0x3F)));
    copied = i + 6;
    i += 5;
    rewrote = true;
  }
  if (!rewrote) return std::nullopt;
  out.append(text.data() + copied, text.size() - copied);
  return out;
}

// JSON.parse reads a number with any exponent (1e99999999999 is Infinity, 1e-99999999999 is 0);
// Boost.JSON 1.81 fails with exponent_overflow past 32-bit exponents. Shortens every exponent of
// more than 9 significant digits to 999999999, outside strings. For a text shorter than
// kExponentClampTextLimit the value is the same: the mantissa's own decimal exponent is then
// smaller than 5e8 in magnitude, so both exponents give an infinity or a zero of the same sign
// (to_double/out_of_range_value decide which). Returns nullopt when nothing was shortened.
constexpr std::size_t kExponentClampTextLimit = 500'000'000;

std::optional<std::string> clamp_long_exponents(std::string_view text) {
  std::string out;
  bool rewrote = false;
  std::size_t copied = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
      continue;
    }
    // Outside strings an 'e' after a digit can only be a number's exponent ("true" and "false"
    // have letters before theirs).
    if ((c != 'e' && c != 'E') || i == 0 || text[i - 1] < '0' || text[i - 1] > '9') continue;
    std::size_t digits = i + 1;
    if (digits < text.size() && (text[digits] == '+' || text[digits] == '-')) ++digits;
    std::size_t first_significant = digits;
    while (first_significant < text.size() && text[first_significant] == '0') ++first_significant;
    std::size_t end = first_significant;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    if (end - first_significant > 9) {
      out.append(text.data() + copied, digits - copied);
      out.append("999999999");
      copied = end;
      rewrote = true;
    }
    i = end - 1;
  }
  if (!rewrote) return std::nullopt;
  out.append(text.data() + copied, text.size() - copied);
  return out;
}

}  // namespace

boost::json::value parse(std::string_view text, std::string_view source) {
  boost::json::parse_options options;
  options.max_depth = kMaxDepth;
  // Rare path: lone surrogate escapes. The text is checked for real UTF-8 errors first, since
  // Boost's own check must be off to take the rewritten bytes. Byte offsets in later error
  // messages then count the rewritten text (3 bytes shorter per surrogate).
  std::optional<std::string> rewritten;
  if (text.find("\\u") != std::string_view::npos) rewritten = rewrite_lone_surrogates(text);
  if (rewritten) {
    if (auto bad = first_invalid_utf8(text)) {
      throw_parse_error(source, *bad, boost::json::make_error_code(boost::json::error::syntax));
    }
    options.allow_invalid_utf8 = true;
    text = *rewritten;
  }
  boost::json::basic_parser<Handler> parser(options);
  boost::json::error_code ec;
  // One buffer with more=false: Boost consumes trailing whitespace and stops at the first byte
  // after the value, so a short count means trailing garbage. On failure the count is the
  // offset where the parser gave up.
  std::size_t consumed = parser.write_some(false, text.data(), text.size(), ec);
  // Rare path: an exponent too long for Boost (offsets in later errors count the shortened text).
  std::optional<std::string> clamped;
  if (ec == boost::json::error::exponent_overflow && text.size() < kExponentClampTextLimit &&
      (clamped = clamp_long_exponents(text))) {
    text = *clamped;
    parser.reset();
    ec = {};
    consumed = parser.write_some(false, text.data(), text.size(), ec);
  }
  if (ec) throw_parse_error(source, consumed, ec);
  if (consumed < text.size()) {
    throw_parse_error(source, consumed, boost::json::make_error_code(boost::json::error::extra_data));
  }
  return parser.handler().stack.release();
}

std::string stringify(const boost::json::value& value) {
  std::string out;
  stringify_append(out, value);
  return out;
}

void stringify_append(std::string& out, const boost::json::value& value) {
  char buf[kNumberBufferSize];
  switch (value.kind()) {
    case boost::json::kind::null: out.append("null", 4); return;
    case boost::json::kind::bool_:
      if (value.get_bool()) {
        out.append("true", 4);
      } else {
        out.append("false", 5);
      }
      return;
    case boost::json::kind::int64: out.append(buf, format_int_to(buf, value.get_int64())); return;
    case boost::json::kind::uint64:
      out.append(buf, format_uint_to(buf, value.get_uint64()));
      return;
    case boost::json::kind::double_: append_double(out, value.get_double()); return;
    case boost::json::kind::string: append_quoted(out, view(value.get_string())); return;
    case boost::json::kind::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value.get_array()) {
        if (!first) out.push_back(',');
        first = false;
        stringify_append(out, element);
      }
      out.push_back(']');
      return;
    }
    case boost::json::kind::object: {
      out.push_back('{');
      bool first = true;
      for (const auto& member : value.get_object()) {
        if (!first) out.push_back(',');
        first = false;
        append_quoted(out, view(member.key()));
        out.push_back(':');
        stringify_append(out, member.value());
      }
      out.push_back('}');
      return;
    }
  }
}

std::size_t stringified_size(const boost::json::value& value) {
  char buf[kNumberBufferSize];
  switch (value.kind()) {
    case boost::json::kind::null: return 4;
    case boost::json::kind::bool_: return value.get_bool() ? 4 : 5;
    case boost::json::kind::int64: return format_int_to(buf, value.get_int64());
    case boost::json::kind::uint64: return format_uint_to(buf, value.get_uint64());
    case boost::json::kind::double_: return format_to(buf, value.get_double());
    case boost::json::kind::string: return quoted_size(view(value.get_string()));
    case boost::json::kind::array: {
      const auto& array = value.get_array();
      // Brackets plus one comma between each pair of elements.
      std::size_t size = 2 + (array.empty() ? 0 : array.size() - 1);
      for (const auto& element : array) size += stringified_size(element);
      return size;
    }
    case boost::json::kind::object: {
      const auto& object = value.get_object();
      // Braces, one comma between members, one colon per member.
      std::size_t size = 2 + (object.empty() ? 0 : object.size() - 1) + object.size();
      for (const auto& member : object) {
        size += quoted_size(view(member.key())) + stringified_size(member.value());
      }
      return size;
    }
  }
  return 0;
}

std::string format_number(double value) {
  std::string out;
  format_number_append(out, value);
  return out;
}

void format_number_append(std::string& out, double value) { append_double(out, value); }

}  // namespace modelport::json
