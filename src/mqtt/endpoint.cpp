#include "mqtt/endpoint.hpp"

#include <cctype>

#include "common/uri.hpp"

namespace tsunagu::mqtt {
namespace {

Status bad(std::string_view url, const std::string& what) {
  return Status::BadRequestData("MQTT endpoint '" + std::string(url.substr(0, 200)) + "': " + what);
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

}  // namespace

Result<Endpoint> parse_endpoint(std::string_view url) {
  Endpoint e;
  std::string_view rest;
  if (starts_with_nocase(url, "mqtts://")) {
    e.tls = true;
    e.port = 8883;
    rest = url.substr(8);
  } else if (starts_with_nocase(url, "mqtt://")) {
    rest = url.substr(7);
  } else {
    return bad(url, "the scheme is not mqtt or mqtts");
  }
  if (rest.find_first_of("?#") != std::string_view::npos) {
    // A PUBLISH names one topic: '#' would be a wildcard (or a URL fragment), '?' a query.
    return bad(url, "a query, a fragment or the wildcard '#' is not part of an MQTT endpoint");
  }
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return bad(url, "no topic (the path after the host)");
  std::string_view authority = rest.substr(0, slash), path = rest.substr(slash + 1);

  // userinfo: RFC 3986 §3.2.1 allows no unescaped '@' in it, so the last '@' ends it.
  size_t at = authority.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view info = authority.substr(0, at);
    authority = authority.substr(at + 1);
    size_t colon = info.find(':');
    std::string user, password;
    if (!percent_decode(info.substr(0, colon), user)) {
      return bad(url, "the user name has a malformed percent escape");
    }
    e.user = std::move(user);
    if (colon != std::string_view::npos) {
      if (!percent_decode(info.substr(colon + 1), password)) {
        return bad(url, "the password has a malformed percent escape");
      }
      e.password = std::move(password);
    }
  }

  std::string_view port;
  bool has_port = false;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return bad(url, "an IPv6 address without its ']'");
    e.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return bad(url, "text after the IPv6 address");
      port = after.substr(1);
      has_port = true;
    }
  } else {
    size_t colon = authority.rfind(':');
    e.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = authority.substr(colon + 1);
      has_port = true;
    }
  }
  if (e.host.empty()) return bad(url, "no host");
  if (has_port) {
    unsigned long n = 0;
    bool digits = !port.empty() && port.size() <= 5;
    for (char c : port) {
      digits = digits && c >= '0' && c <= '9';
      if (digits) n = n * 10 + static_cast<unsigned long>(c - '0');
    }
    if (!digits || n == 0 || n > 65535) {
      return bad(
          url, "the port '" + std::string(port.substr(0, 20)) + "' is not a number in [1, 65535]");
    }
    e.port = static_cast<uint16_t>(n);
  }

  if (!percent_decode(path, e.topic)) return bad(url, "the topic has a malformed percent escape");
  if (e.topic.empty()) return bad(url, "no topic (the path after the host)");
  if (e.topic.find_first_of("+#") != std::string::npos) {
    return bad(url, "the topic holds a wildcard ('+' or '#'), which a publish cannot name");
  }
  if (e.topic.find('\0') != std::string::npos) return bad(url, "the topic holds a NUL");
  return e;
}

}  // namespace tsunagu::mqtt
