#include "http/request_parser.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

namespace tsunagu::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Method to_method(bhttp::verb v) {
  switch (v) {
    case bhttp::verb::get:
      return Method::kGet;
    case bhttp::verb::head:
      return Method::kHead;
    case bhttp::verb::post:
      return Method::kPost;
    case bhttp::verb::put:
      return Method::kPut;
    case bhttp::verb::patch:
      return Method::kPatch;
    case bhttp::verb::delete_:
      return Method::kDelete;
    case bhttp::verb::options:
      return Method::kOptions;
    default:
      return Method::kOther;
  }
}

// Feeds `bytes` to `parser` until it wants more than there is, finishes what it was asked to
// read (the header, or with eager the whole message), or fails.
beast::error_code feed(RequestParser& parser, std::string_view& bytes, size_t& consumed) {
  while (true) {
    beast::error_code ec;
    const size_t used = parser.put(boost::asio::buffer(bytes.data(), bytes.size()), ec);
    bytes.remove_prefix(used);
    consumed += used;
    if (ec || parser.is_done() || (parser.is_header_done() && !parser.eager())) return ec;
    if (used == 0) return bhttp::error::need_more;
  }
}

}  // namespace

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void set_limits(RequestParser& parser, const ServerOptions& options) {
  parser.header_limit(
      static_cast<uint32_t>(std::min<size_t>(options.max_header_bytes, UINT32_MAX)));
  parser.body_limit(options.max_body_bytes);
}

Status check_header(const RequestMessage& msg) {
  // RFC 9112 §3.2: an HTTP/1.1 request without a Host header must be refused.
  if (msg.version() >= 11 && msg.find(bhttp::field::host) == msg.end()) {
    return Status::InvalidRequest("an HTTP/1.1 request needs a Host header");
  }
  // ... and one with two: a proxy and the server could each take another (RFC 9112 §3.2).
  if (msg.count(bhttp::field::host) > 1) {
    return Status::InvalidRequest("a request must have one Host header, not several");
  }
  // Chunked is the only transfer coding understood; a body in another (gzip, chunked) would
  // be read as if it were not encoded (RFC 9112 §6.1: 501).
  auto codings = msg.equal_range(bhttp::field::transfer_encoding);
  for (auto it = codings.first; it != codings.second; ++it) {
    std::string_view te = trim_ows(std::string_view(it->value().data(), it->value().size()));
    if (!beast::iequals(te, "chunked")) {
      return {ErrorKind::kNotImplemented,
              "Transfer-Encoding '" + std::string(te.substr(0, 100)) +
                  "' is not supported; send the body with Content-Length or chunked"};
    }
  }
  return Status::Ok();
}

std::optional<Status> read_error_answer(const boost::system::error_code& ec,
                                        std::string_view unparsed, const ServerOptions& options) {
  if (ec == bhttp::error::header_limit) {
    // The limit covers the request line too; when that line alone did not fit, the target is
    // what is too long (RFC 9110 §15.5.15: 414), otherwise the header fields are (431).
    // The parser consumes the request line as soon as it is complete, and looks for its end
    // in the limit's worth of input only: an unconsumed "METHOD /..." without a line end in
    // that much means the line itself did not fit. (More may have arrived, its end too.)
    const std::string_view window = unparsed.substr(0, options.max_header_bytes);
    size_t space = window.find(' ');
    bool request_line = space != std::string_view::npos && space > 0 && space < 16 &&
                        window.find("\r\n") == std::string_view::npos && window.find(':') > space;
    if (request_line) {
      return Status(ErrorKind::kUriTooLong, "the request target exceeds the limit of " +
                                                std::to_string(options.max_header_bytes) +
                                                " bytes");
    }
    return Status(ErrorKind::kHeaderTooLarge, "the request header exceeds the limit of " +
                                                  std::to_string(options.max_header_bytes) +
                                                  " bytes");
  }
  if (ec == bhttp::error::body_limit) {
    return Status(ErrorKind::kPayloadTooLarge, "the request body exceeds the limit of " +
                                                   std::to_string(options.max_body_bytes) +
                                                   " bytes");
  }
  // Anything else from the parser is malformed input; a closed socket, a timeout or a client
  // that hung up mid-message leaves nobody to answer.
  if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
      ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message) {
    return Status::InvalidRequest("malformed HTTP request: " + ec.message());
  }
  return std::nullopt;
}

Request to_request(RequestMessage&& msg, int64_t received_ns, const std::string& remote) {
  Request r;
  r.method = to_method(msg.method());
  r.target = std::string(msg.target());
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  if (q != std::string::npos) r.query = r.target.substr(q + 1);
  r.headers.reserve(8);
  for (const auto& f : msg) {
    r.headers.push_back({ascii_lower(f.name_string()), std::string(f.value())});
  }
  r.body_framed =
      msg.count(bhttp::field::content_length) > 0 || msg.count(bhttp::field::transfer_encoding) > 0;
  r.body = std::move(msg.body());
  r.received_ns = received_ns;
  r.remote = remote;
  return r;
}

ReadOutcome read_request(std::string_view bytes, const ServerOptions& options) {
  ReadOutcome out;
  RequestParser parser;
  set_limits(parser, options);
  auto failed = [&](const beast::error_code& ec) {
    if (ec != bhttp::error::need_more) out.answer = read_error_answer(ec, bytes, options);
    return std::move(out);
  };
  if (auto ec = feed(parser, bytes, out.consumed)) return failed(ec);
  if (Status st = check_header(parser.get()); !st.ok()) {
    out.answer = std::move(st);
    return out;
  }
  if (!parser.is_done()) {
    parser.eager(true);
    if (auto ec = feed(parser, bytes, out.consumed)) return failed(ec);
  }
  out.request = to_request(parser.release(), 0, std::string());
  return out;
}

}  // namespace tsunagu::http
