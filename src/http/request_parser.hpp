// Reading one request off the wire, the part of the listener that is pure computation:
// Boost.Beast's request parser under the server's limits, the listener's own checks of a request
// header, the answer to input the parser refuses, and the conversion into http::Request. server.cpp
// drives these from a socket; read_request() drives them from bytes in memory (unit tests, the fuzz
// target fuzz/http.cpp). With server.cpp, the only code that sees Boost.Beast types.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "common/status.hpp"
#include "http/message.hpp"
#include "http/server.hpp"

namespace tsunagu::http {

using RequestParser = boost::beast::http::request_parser<boost::beast::http::string_body>;
using RequestMessage = RequestParser::value_type;

// Sets `parser`'s header and body limits from `options`.
void set_limits(RequestParser& parser, const ServerOptions& options);

// The listener's checks of a request header, made before its body is read. InvalidRequest for an
// HTTP/1.1 request without a Host header or with several (RFC 9112 §3.2); NotImplemented for a
// transfer coding other than chunked (RFC 9112 §6.1). Ok otherwise.
Status check_header(const RequestMessage& header);

// What the server answers when the parser fails with `ec`; `unparsed` is the input read but not
// consumed. UriTooLong / HeaderTooLarge when the header limit was reached (in the request line
// or after it), PayloadTooLarge for the body limit, InvalidRequest for malformed input. nullopt
// when nobody is left to answer: the peer closed, hung up mid-message, or the socket failed.
std::optional<Status> read_error_answer(const boost::system::error_code& ec,
                                        std::string_view unparsed, const ServerOptions& options);

// The parsed message as an http::Request: header names lower-cased, the target split into path
// and query (both still percent-encoded).
Request to_request(RequestMessage&& msg, int64_t received_ns, const std::string& remote);

// One request read from `bytes` as a session reads it from a socket that delivered them all at
// once: the header, check_header(), then the body.
struct ReadOutcome {
  std::optional<Request> request;  // a complete request that passed the checks, or
  std::optional<Status> answer;    // the error the server answers with before closing;
  // neither: the bytes end before the request does (a session waits for more).
  size_t consumed = 0;  // bytes of `bytes` the request took
};
ReadOutcome read_request(std::string_view bytes, const ServerOptions& options);

}  // namespace tsunagu::http
