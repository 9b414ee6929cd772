#include "json_scan.hpp"

#include <cstdint>
#include <cstdlib>

namespace modelport::localstorage {

namespace {

constexpr int kMaxDepth = 1000;

class Scanner {
 public:
  explicit Scanner(std::string_view text) : t_(text) {}

  std::size_t pos() const noexcept { return i_; }
  bool at_end() const noexcept { return i_ >= t_.size(); }

  void skip_ws() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }

  [[noreturn]] void fail(const std::string& what) const { throw JsonError(i_, what); }

  char peek() const {
    if (at_end()) fail("unexpected end of JSON");
    return t_[i_];
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++i_;
  }

  // Skips one value (validating it); returns its text.
  std::string_view value(int depth) {
    skip_ws();
    const std::size_t start = i_;
    switch (peek()) {
      case '{': object(depth, nullptr); break;
      case '[': array(depth); break;
      case '"': string(nullptr); break;
      case 't': literal("true"); break;
      case 'f': literal("false"); break;
      case 'n': literal("null"); break;
      default: number(); break;
    }
    return t_.substr(start, i_ - start);
  }

  // `depth`: the containers around this one.
  void enter(int depth) const {
    if (depth >= kMaxDepth) fail("JSON nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }

  void object(int depth, std::vector<JsonMember>* members) {
    enter(depth);
    expect('{');
    skip_ws();
    if (peek() == '}') {
      ++i_;
      return;
    }
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a string key");
      std::string key;
      string(members ? &key : nullptr);
      skip_ws();
      expect(':');
      std::string_view v = value(depth + 1);
      if (members) members->push_back({std::move(key), v});
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect('}');
      return;
    }
  }

  void array(int depth) {
    enter(depth);
    expect('[');
    skip_ws();
    if (peek() == ']') {
      ++i_;
      return;
    }
    for (;;) {
      value(depth + 1);
      skip_ws();
      if (peek() == ',') {
        ++i_;
        continue;
      }
      expect(']');
      return;
    }
  }

  void literal(std::string_view word) {
    if (t_.substr(i_, word.size()) != word) fail("invalid literal");
    i_ += word.size();
  }

  void number() {
    const std::size_t start = i_;
    if (i_ < t_.size() && t_[i_] == '-') ++i_;
    if (i_ >= t_.size()) fail("unexpected end of JSON");
    if (t_[i_] == '0') {
      ++i_;
    } else if (t_[i_] >= '1' && t_[i_] <= '9') {
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    } else {
      i_ = start;
      fail("unexpected character");
    }
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') fail("expected a digit");
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      if (i_ >= t_.size() || t_[i_] < '0' || t_[i_] > '9') fail("expected a digit");
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
    }
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::uint32_t hex4() {
    if (t_.size() - i_ < 4) fail("truncated \\u escape");
    std::uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = t_[i_++];
      v <<= 4;
      if (c >= '0' && c <= '9') {
        v |= static_cast<std::uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        v |= static_cast<std::uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        v |= static_cast<std::uint32_t>(c - 'A' + 10);
      } else {
        --i_;
        fail("invalid \\u escape");
      }
    }
    return v;
  }

  // A string literal; decoded into *out when given. Raw bytes are not re-validated as UTF-8:
  // everything stored is checked as UTF-8 when it is written.
  void string(std::string* out) {
    expect('"');
    for (;;) {
      if (at_end()) fail("unterminated string");
      const auto c = static_cast<unsigned char>(t_[i_]);
      if (c == '"') {
        ++i_;
        return;
      }
      if (c < 0x20) fail("control character in a string");
      if (c != '\\') {
        if (out) *out += static_cast<char>(c);
        ++i_;
        continue;
      }
      ++i_;
      if (at_end()) fail("unterminated string");
      const char e = t_[i_++];
      char plain = 0;
      switch (e) {
        case '"': plain = '"'; break;
        case '\\': plain = '\\'; break;
        case '/': plain = '/'; break;
        case 'b': plain = '\b'; break;
        case 'f': plain = '\f'; break;
        case 'n': plain = '\n'; break;
        case 'r': plain = '\r'; break;
        case 't': plain = '\t'; break;
        case 'u': {
          std::uint32_t cp = hex4();
          if (cp >= 0xD800 && cp <= 0xDBFF && t_.substr(i_, 2) == "\\u") {
            const std::size_t save = i_;
            i_ += 2;
            std::uint32_t low = hex4();
            if (low >= 0xDC00 && low <= 0xDFFF) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
            } else {
              i_ = save;
            }
          }
          // A lone surrogate has no UTF-8 form: U+FFFD stands in for it (as TextEncoder does).
          if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;
          if (out) append_utf8(*out, cp);
          continue;
        }
        default: --i_; fail("invalid escape");
      }
      if (out) *out += plain;
    }
  }

 private:
  std::string_view t_;
  std::size_t i_ = 0;
};

}  // namespace

void validate_json(std::string_view text) {
  Scanner s(text);
  s.value(0);
  s.skip_ws();
  if (!s.at_end()) s.fail("unexpected text after the JSON value");
}

std::vector<JsonMember> object_members(std::string_view text) {
  Scanner s(text);
  s.skip_ws();
  if (s.at_end() || s.peek() != '{') s.fail("expected a JSON object");
  std::vector<JsonMember> members;
  s.object(0, &members);
  s.skip_ws();
  if (!s.at_end()) s.fail("unexpected text after the JSON object");
  return members;
}

std::optional<std::string> json_string(std::string_view raw) {
  if (raw.empty() || raw.front() != '"') return std::nullopt;
  try {
    Scanner s(raw);
    std::string out;
    s.string(&out);
    if (!s.at_end()) return std::nullopt;
    return out;
  } catch (const JsonError&) {
    return std::nullopt;
  }
}

std::optional<double> json_number(std::string_view raw) {
  if (raw.empty() || !(raw.front() == '-' || (raw.front() >= '0' && raw.front() <= '9'))) return std::nullopt;
  try {
    Scanner s(raw);
    s.number();
    if (!s.at_end()) return std::nullopt;
  } catch (const JsonError&) {
    return std::nullopt;
  }
  // strtod wants a terminated string; numbers are short.
  std::string copy(raw);
  return std::strtod(copy.c_str(), nullptr);
}

}  // namespace modelport::localstorage
