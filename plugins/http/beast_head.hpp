// ResponseHead from a Beast response header: shared by the client and the socket-free parser
// the tests and the fuzzer use, so both read headers the same way.
#pragma once

#include "http_logic.hpp"

#include <boost/beast/http/field.hpp>
#include <boost/beast/http/message.hpp>

#include <charconv>

namespace modelport::http_plugin {

template <class Parser>
ResponseHead head_of(const Parser& parser) {
  namespace http = boost::beast::http;
  const auto& msg = parser.get();
  ResponseHead head;
  head.status = msg.result_int();
  head.reason = std::string(msg.reason());
  head.content_type = std::string(msg[http::field::content_type]);
  head.location = std::string(msg[http::field::location]);
  head.retry_after = std::string(msg[http::field::retry_after]);
  head.date = std::string(msg[http::field::date]);
  head.content_range = std::string(msg[http::field::content_range]);
  head.accepts_byte_ranges = offers_byte_ranges(msg[http::field::accept_ranges]);
  head.chunked = parser.chunked();
  head.keep_alive = parser.keep_alive();
  if (auto length = parser.content_length()) head.content_length = *length;
  return head;
}

}  // namespace modelport::http_plugin
