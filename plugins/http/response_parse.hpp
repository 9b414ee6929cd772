// A whole HTTP response held in memory, parsed with Beast's parser (no socket): what the unit
// tests and the fuzzer feed through the same header reading and checks as the client.
#pragma once

#include "http_logic.hpp"

#include <string>
#include <string_view>

namespace modelport::http_plugin {

struct ParsedResponse {
  bool complete = false;  // a full message was parsed
  std::string error;      // why not (empty when complete)
  ResponseHead head;
  std::string body;
};

// Parses `bytes` as one response; the body may be at most `body_limit` bytes.
ParsedResponse parse_response(std::string_view bytes, std::uint64_t body_limit);

// The verdict the client reaches for a complete shard response: nullopt when the shard is
// accepted, else the message the load fails with.
std::optional<std::string> shard_response_problem(std::string_view url, const ParsedResponse& response,
                                                  std::optional<std::uint64_t> max_bytes);

}  // namespace modelport::http_plugin
