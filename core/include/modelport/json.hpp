// JSON as JavaScript reads and writes it.
//
// Byte counts in ModelArtifactsInfo and the values stored by the browser schemes are defined by
// JS `JSON.stringify`, so the core serializes exactly as it does: compact, keys in insertion
// order, raw UTF-8, ECMAScript number formatting. Parsing keeps key order and unknown keys, and
// turns every number literal into the double JS would get (correctly rounded), which Boost.JSON
// 1.81's own number parser does not guarantee.
#pragma once

#include <modelport/export.hpp>

#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace modelport::json {

// Parses one JSON text. Integers that fit int64/uint64 stay integers; every other number is the
// correctly rounded double of its literal. Duplicate keys: the last one wins, as in JSON.parse.
// Throws modelport::Error(corrupt) naming `source` (a path or URL, may be empty), the byte
// offset and the reason.
MODELPORT_API boost::json::value parse(std::string_view text, std::string_view source = {});

// JS `JSON.stringify(value)`.
MODELPORT_API std::string stringify(const boost::json::value& value);
MODELPORT_API void stringify_append(std::string& out, const boost::json::value& value);

// Byte length of stringify(value) without building the string.
MODELPORT_API std::size_t stringified_size(const boost::json::value& value);

// ECMAScript Number::toString(x): shortest round trip, `1` not `1.0`, `1e+21`, `1.5e-7`,
// `-0` prints as `0`. NaN and infinities print as `null`, as JSON.stringify does.
MODELPORT_API std::string format_number(double value);
MODELPORT_API void format_number_append(std::string& out, double value);

}  // namespace modelport::json
