#include "multipart.hpp"

#include <algorithm>
#include <cstring>
#include <functional>

namespace modelport::multipart {

namespace {

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

// RFC 2046 bchars: DIGIT / ALPHA / "'()+_,-./:=?" and space.
bool is_bchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return c == ' ' || (std::strchr("'()+_,-./:=?", c) != nullptr && c != '\0');
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string show(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      out += '?';
    } else {
      out += c;
    }
  }
  return out + (s.size() > 80 ? "..." : "");
}

// A header parameter list: `; name=value` repeated, values tokens or quoted strings.
struct Param {
  std::string name;  // lower-case
  std::string value;
};

// Parses `*( OWS ";" OWS name "=" (token / quoted-string) ) OWS` from `s`; `what` names the
// header for messages.
std::vector<Param> parse_params(std::string_view s, std::string_view what) {
  std::vector<Param> params;
  std::size_t i = 0;
  auto skip_ows = [&] {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  };
  for (;;) {
    skip_ows();
    if (i == s.size()) return params;
    if (s[i] != ';') throw MultipartError(std::string(what) + ": expected ';' before '" + show(s.substr(i)) + "'");
    ++i;
    skip_ows();
    if (i == s.size()) return params;  // a trailing ';' is tolerated, as browsers do
    std::size_t name_start = i;
    while (i < s.size() && is_tchar(s[i])) ++i;
    if (i == name_start) throw MultipartError(std::string(what) + ": bad parameter at '" + show(s.substr(name_start)) + "'");
    Param p;
    for (char c : s.substr(name_start, i - name_start)) p.name += lower(c);
    skip_ows();
    if (i == s.size() || s[i] != '=') throw MultipartError(std::string(what) + ": parameter '" + p.name + "' has no value");
    ++i;
    skip_ows();
    if (i < s.size() && s[i] == '"') {
      ++i;
      bool closed = false;
      while (i < s.size()) {
        char c = s[i++];
        if (c == '"') {
          closed = true;
          break;
        }
        if (c == '\\') {  // RFC 7230 quoted-pair
          if (i == s.size()) break;
          c = s[i++];
        }
        if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
          throw MultipartError(std::string(what) + ": control character in parameter '" + p.name + "'");
        }
        p.value += c;
      }
      if (!closed) throw MultipartError(std::string(what) + ": unterminated quoted value of '" + p.name + "'");
    } else {
      std::size_t value_start = i;
      while (i < s.size() && is_tchar(s[i])) ++i;
      if (i == value_start) throw MultipartError(std::string(what) + ": parameter '" + p.name + "' has an empty or invalid value");
      p.value.assign(s.substr(value_start, i - value_start));
    }
    for (const auto& q : params) {
      if (q.name == p.name) throw MultipartError(std::string(what) + ": parameter '" + p.name + "' appears twice");
    }
    params.push_back(std::move(p));
  }
}

// The part headers we read; everything else is validated for syntax and ignored.
struct PartHeaders {
  std::optional<std::string> disposition;
  std::optional<std::string> content_type;
  std::optional<std::string> transfer_encoding;
};

void parse_header_line(std::string_view line, PartHeaders& headers, const std::string& where) {
  if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
    throw MultipartError(where + ": folded header lines are not allowed");
  }
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos || colon == 0) throw MultipartError(where + ": malformed header line '" + show(line) + "'");
  std::string_view name = line.substr(0, colon);
  if (!std::all_of(name.begin(), name.end(), is_tchar)) throw MultipartError(where + ": bad header name '" + show(name) + "'");
  std::string_view value = trim_ows(line.substr(colon + 1));
  for (char c : value) {
    if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
      throw MultipartError(where + ": control character in header '" + show(name) + "'");
    }
  }
  auto set_once = [&](std::optional<std::string>& slot) {
    if (slot) throw MultipartError(where + ": header '" + show(name) + "' appears twice");
    slot.emplace(value);
  };
  if (iequals(name, "Content-Disposition")) {
    set_once(headers.disposition);
  } else if (iequals(name, "Content-Type")) {
    set_once(headers.content_type);
  } else if (iequals(name, "Content-Transfer-Encoding")) {
    set_once(headers.transfer_encoding);
  }
}

void apply_disposition(std::string_view value, Part& part, const std::string& where) {
  std::size_t i = 0;
  while (i < value.size() && is_tchar(value[i])) ++i;
  if (!iequals(value.substr(0, i), "form-data")) {
    throw MultipartError(where + ": Content-Disposition must be 'form-data', got '" + show(value) + "'");
  }
  bool has_name = false;
  for (auto& p : parse_params(value.substr(i), where + " Content-Disposition")) {
    if (p.name == "name") {
      part.name = std::move(p.value);
      has_name = true;
    } else if (p.name == "filename") {
      part.filename = std::move(p.value);
    }
  }
  if (!has_name) throw MultipartError(where + ": Content-Disposition has no name parameter");
}

}  // namespace

std::string boundary_from_content_type(std::string_view content_type) {
  std::string_view s = trim_ows(content_type);
  std::size_t semicolon = std::min(s.find(';'), s.size());
  std::string_view media = trim_ows(s.substr(0, semicolon));
  if (!iequals(media, "multipart/form-data")) {
    throw MultipartError("Content-Type must be multipart/form-data, got '" + show(content_type) + "'");
  }
  std::optional<std::string> boundary;
  for (auto& p : parse_params(s.substr(semicolon), "Content-Type")) {
    if (p.name == "boundary") boundary = std::move(p.value);
  }
  if (!boundary) throw MultipartError("Content-Type multipart/form-data has no boundary parameter");
  if (boundary->empty() || boundary->size() > 70) {
    throw MultipartError("multipart boundary must have 1 to 70 characters, got " + std::to_string(boundary->size()));
  }
  if (!std::all_of(boundary->begin(), boundary->end(), is_bchar) || boundary->back() == ' ') {
    throw MultipartError("multipart boundary '" + show(*boundary) + "' has characters RFC 2046 does not allow");
  }
  return *boundary;
}

std::vector<Part> parse(std::span<const std::byte> bytes, std::string_view boundary, const Limits& limits) {
  if (boundary.empty() || boundary.size() > 70) throw MultipartError("multipart boundary must have 1 to 70 characters");
  const std::string_view body(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::string delimiter = "\r\n--" + std::string(boundary);  // what ends every part's content
  const std::string_view dash_boundary = std::string_view(delimiter).substr(2);
  const std::boyer_moore_horspool_searcher searcher(delimiter.begin(), delimiter.end());
  auto find_delimiter = [&](std::size_t from) -> std::size_t {
    auto it = std::search(body.begin() + static_cast<std::ptrdiff_t>(from), body.end(), searcher);
    return it == body.end() ? std::string_view::npos : static_cast<std::size_t>(it - body.begin());
  };

  // The first delimiter: at the very start, or at the start of a line after a preamble.
  std::size_t pos;
  if (body.starts_with(dash_boundary)) {
    pos = dash_boundary.size();
  } else {
    std::size_t found = find_delimiter(0);
    if (found == std::string_view::npos) throw MultipartError("multipart body does not contain the boundary '--" + show(boundary) + "'");
    pos = found + delimiter.size();
  }

  std::vector<Part> parts;
  for (;;) {
    // After a delimiter: "--" closes the body; otherwise padding, CRLF, then a part.
    if (body.substr(pos).starts_with("--")) {
      if (parts.empty()) throw MultipartError("multipart body has no parts");
      return parts;
    }
    while (pos < body.size() && (body[pos] == ' ' || body[pos] == '\t')) ++pos;
    if (!body.substr(pos).starts_with("\r\n")) {
      throw MultipartError(pos >= body.size() ? "multipart body ends after a boundary (truncated?)"
                                              : "multipart boundary at byte " + std::to_string(pos) + " is not followed by CRLF");
    }
    pos += 2;
    if (parts.size() == limits.max_parts) {
      throw MultipartError("multipart body has more than " + std::to_string(limits.max_parts) + " parts");
    }
    const std::string where = "multipart part " + std::to_string(parts.size() + 1);

    // Header lines up to an empty line, CRLF-terminated, bounded in size.
    PartHeaders headers;
    const std::size_t headers_start = pos;
    for (;;) {
      std::size_t eol = body.find("\r\n", pos);
      if (eol == std::string_view::npos || eol - headers_start > limits.max_part_header_bytes) {
        if (body.size() - headers_start > limits.max_part_header_bytes) {
          throw MultipartError(where + ": headers longer than " + std::to_string(limits.max_part_header_bytes) + " bytes");
        }
        throw MultipartError(where + ": headers are not terminated by an empty line (truncated?)");
      }
      std::string_view line = body.substr(pos, eol - pos);
      pos = eol + 2;
      if (line.empty()) break;
      if (line.find_first_of(std::string_view("\r\n\0", 3)) != std::string_view::npos) {
        throw MultipartError(where + ": bare CR, LF or NUL in a header line");
      }
      parse_header_line(line, headers, where);
    }

    Part part;
    if (!headers.disposition) throw MultipartError(where + ": no Content-Disposition header");
    apply_disposition(*headers.disposition, part, where);
    if (headers.content_type) part.content_type = *headers.content_type;
    if (headers.transfer_encoding && !iequals(*headers.transfer_encoding, "binary") &&
        !iequals(*headers.transfer_encoding, "8bit") && !iequals(*headers.transfer_encoding, "7bit")) {
      throw MultipartError(where + " ('" + show(part.name) + "'): Content-Transfer-Encoding '" +
                           show(*headers.transfer_encoding) + "' is not supported");
    }

    // Content runs to the next CRLF--boundary.
    std::size_t end = find_delimiter(pos);
    if (end == std::string_view::npos) {
      throw MultipartError(where + " ('" + show(part.name) + "'): no closing boundary after its content (truncated body?)");
    }
    part.offset = pos;
    part.size = end - pos;
    parts.push_back(std::move(part));
    pos = end + delimiter.size();
  }
}

}  // namespace modelport::multipart
