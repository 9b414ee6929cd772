#include "response_parse.hpp"

#include "beast_head.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

namespace modelport::http_plugin {

ParsedResponse parse_response(std::string_view bytes, std::uint64_t body_limit) {
  namespace http = boost::beast::http;
  ParsedResponse out;
  http::response_parser<http::string_body> parser;
  parser.body_limit(body_limit);
  parser.header_limit(64 * 1024);
  boost::system::error_code ec;
  std::size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
  // The parser takes input in pieces; keep feeding what it did not consume yet.
  while (!ec && !parser.is_done() && used < bytes.size()) {
    std::size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (n == 0) break;
    used += n;
  }
  if (!ec && !parser.is_done()) {
    parser.put_eof(ec);  // a body that runs to the end of the connection
  }
  if (parser.is_header_done()) out.head = head_of(parser);
  if (ec || !parser.is_done()) {
    out.error = ec ? ec.message() : "the response ended early";
    return out;
  }
  out.complete = true;
  out.body = std::move(parser.get().body());
  return out;
}

std::optional<std::string> shard_response_problem(std::string_view url, const ParsedResponse& response,
                                                  std::optional<std::uint64_t> max_bytes) {
  if (!response.complete) return "GET " + std::string(url) + ": malformed or truncated response (" + response.error + ")";
  if (classify(response.head.status) != Disposition::success) {
    return describe_status_failure("GET", url, response.head, response.body);
  }
  if (auto problem = shard_head_problem(response.head, max_bytes)) return "GET " + std::string(url) + ": " + *problem;
  if (max_bytes && response.body.size() > *max_bytes) {
    return "GET " + std::string(url) + ": " + std::to_string(response.body.size()) +
           " bytes arrived, more than the manifest leaves for this shard";
  }
  return std::nullopt;
}

}  // namespace modelport::http_plugin
