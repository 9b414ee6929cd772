// A small strict JSON reader (RFC 8259) for the plugin's own needs: validate a document, and split
// a top-level object into its members with each value's exact source text. The values are handed
// to the modelport core as they are, so the texts TensorFlow.js wrote reach it byte for byte.
// (The plugin links nothing but the SDK and SQLite; the core does the real parsing.)
#pragma once

#include <modelport/plugin.hpp>

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace modelport::localstorage {

class JsonError : public std::runtime_error {
 public:
  JsonError(std::size_t offset, const std::string& what)
      : std::runtime_error(what + " at byte " + std::to_string(offset)), offset_(offset) {}
  std::size_t offset() const noexcept { return offset_; }

 private:
  std::size_t offset_;
};

struct JsonMember {
  std::string key;         // decoded
  std::string_view value;  // the value's source text (a view into the document)
};

// Checks that `text` is one JSON value (surrounding whitespace allowed). Nesting deeper than 1000
// is refused, like the core's parser. Throws JsonError.
void validate_json(std::string_view text);

// The members of a document that must be one JSON object, in document order (duplicates kept:
// the caller decides; JSON.parse keeps the last value). Throws JsonError.
std::vector<JsonMember> object_members(std::string_view text);

// A JSON string literal's value (`"a\nb"` -> a, newline, b); nullopt when `raw` is not a string.
std::optional<std::string> json_string(std::string_view raw);

// A JSON number's value; nullopt when `raw` is not a number.
std::optional<double> json_number(std::string_view raw);

// JSON string literals are written with the SDK's json_quote (JSON.stringify's escaping).
using ::modelport::sdk::json_quote;

}  // namespace modelport::localstorage
