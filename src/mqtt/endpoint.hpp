// The MQTT endpoint of a notification as a URL names it (ETSI GS CIM 009 §7.2, the MQTT
// binding): mqtt[s]://[user[:password]@]host[:port]/topic. Read by mqtt::MqttClient for every
// publish; no NGSI-LD here beyond the URL's shape.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"

namespace tsunagu::mqtt {

struct Endpoint {
  bool tls = false;  // mqtts
  std::string host;  // a name, an IPv4 address, or an IPv6 address without its brackets
  uint16_t port = 1883;
  std::optional<std::string> user;      // percent-decoded
  std::optional<std::string> password;  // percent-decoded; only with a user
  std::string topic;                    // percent-decoded; may hold '/'
};

// Reads `url`. The scheme is mqtt or mqtts (any case); the port defaults to 1883 (mqtt) or
// 8883 (mqtts); the topic is the whole path after the first '/', which must be there and must
// not be empty. BadRequestData, naming the part, for anything else: another scheme, no host, a
// port that is not a number in [1, 65535], a malformed percent escape, a query or fragment, or
// a topic with the wildcards '+' or '#' (MQTT 3.1.1 §4.7.1: a PUBLISH names one topic).
Result<Endpoint> parse_endpoint(std::string_view url);

}  // namespace tsunagu::mqtt
