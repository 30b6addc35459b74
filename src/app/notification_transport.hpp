// The transport engine::Delivery sends notifications through, chosen by the endpoint's scheme:
// http goes to http::Http1Client as a POST with the message's headers, pipelined per
// subscription (its messages reach the receiver in order with several unanswered); https to
// http::HttpClient (libcurl, for TLS), one at a time per subscription; mqtt and mqtts go
// to mqtt::MqttClient as one publish whose payload carries the headers beside the body, as the
// NGSI-LD MQTT binding has it (ETSI GS CIM 009 §7.2). The engine stays protocol-free: this is
// the only place that knows both the message and the protocols.
#pragma once

#include <functional>
#include <string>

#include "engine/delivery.hpp"
#include "http/client.hpp"
#include "http/http1_client.hpp"
#include "mqtt/client.hpp"

namespace tsunagu::app {

class NotificationTransport {
 public:
  // The clients outlive the transport.
  NotificationTransport(http::Http1Client& http, http::HttpClient& https, mqtt::MqttClient& mqtt)
      : http_(http), https_(https), mqtt_(mqtt) {}

  // engine::Delivery::Transport: sends `m`, a message of subscription `key`, and calls `done`
  // once, from a client's thread (or at once, when a client refuses it); never blocks.
  void send(const std::string& key, const engine::Delivery::Message& m,
            std::function<void(engine::Delivery::Result)> done) const;

  // engine::Delivery::Options::keeps_order: messages to http:// go pipelined on one
  // connection, in order.
  static bool keeps_order(const engine::Delivery::Message& m);

 private:
  void send_http(const std::string& key, const engine::Delivery::Message& m,
                 std::function<void(engine::Delivery::Result)> done) const;
  void send_https(const engine::Delivery::Message& m,
                  std::function<void(engine::Delivery::Result)> done) const;
  void send_mqtt(const engine::Delivery::Message& m,
                 std::function<void(engine::Delivery::Result)> done) const;

  http::Http1Client& http_;
  http::HttpClient& https_;
  mqtt::MqttClient& mqtt_;
};

// True when `url` names an MQTT endpoint (mqtt: or mqtts:, any case).
bool is_mqtt_url(const std::string& url);

// The MQTT publish of `m`: the payload {"metadata": {header: value, ...}, "body": <the body>},
// where metadata holds what HTTP would send as headers (Content-Type, Link, NGSILD-Tenant, each
// receiverInfo pair; a name already there, in any case, is not repeated); the protocol version
// (MQTT-Version: mqtt3.1.1, the default, or mqtt5.0) and QoS (MQTT-QoS: 0, the default, 1 or
// 2) from its notifierInfo; its timeout.
mqtt::MqttClient::Publish mqtt_publish(const engine::Delivery::Message& m);

}  // namespace tsunagu::app
