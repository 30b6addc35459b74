// Tsunagu's own HTTP request and response types. Everything above the listener (router,
// handlers) works with these; Boost.Beast types never leave http/server.cpp.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace tsunagu::http {

enum class Method : unsigned char { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view method_name(Method m);

// `s` without the spaces and tabs around it (RFC 9110 §5.6.3, OWS): a header value's, or one
// item's of a list.
std::string_view trim_ows(std::string_view s);
// `s` with ASCII letters in lower case: header names, media types.
std::string ascii_lower(std::string_view s);

struct Header {
  std::string name;  // lower case
  std::string value;
};

struct Request {
  Method method = Method::kGet;
  std::string target;  // as received: path and query, still percent-encoded
  std::string path;    // the path part of target, still percent-encoded
  std::string query;   // the part after '?', still percent-encoded
  std::vector<Header> headers;
  std::string body;
  bool body_framed = false;  // the request carried Content-Length or Transfer-Encoding
  int64_t received_ns = 0;   // steady-clock time the header was read (for latency metrics)
  std::string remote;        // peer address, for logs

  // First value of header `lower_name`, or empty.
  std::string_view header(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.name == lower_name) return h.value;
    }
    return {};
  }
  bool has_header(std::string_view lower_name) const {
    for (const auto& h : headers) {
      if (h.name == lower_name) return true;
    }
    return false;
  }
  size_t header_count(std::string_view lower_name) const {
    size_t n = 0;
    for (const auto& h : headers)
      n += h.name == lower_name ? 1 : 0;
    return n;
  }
};

struct Response {
  int status = 200;
  std::vector<Header> headers;  // extra headers: Location, Link, NGSILD-*, Allow, ...
  std::string content_type;     // empty when there is no body
  std::string body;
  bool close = false;  // close the connection after sending

  void add_header(std::string name, std::string value) {
    headers.push_back({std::move(name), std::move(value)});
  }
};

// Sends the response for one request. Call exactly once, from any thread.
using Reply = std::function<void(Response&&)>;
// Handles one request; runs on an event-loop thread and must not block it.
using Handler = std::function<void(Request&&, Reply)>;

}  // namespace tsunagu::http
