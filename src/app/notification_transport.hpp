// The transport engine::Delivery sends notifications through, chosen by the endpoint's scheme:
// http and https go to http::HttpClient as a POST with the message's headers; mqtt and mqtts go
// to mqtt::MqttClient as one publish whose payload carries the headers beside the body, as the
// NGSI-LD MQTT binding has it (ETSI GS CIM 009 §7.2). The engine stays protocol-free: this is
// the only place that knows both the message and the protocols.
#pragma once

#include <functional>
#include <string>

#include "engine/delivery.hpp"
#include "http/client.hpp"
#include "mqtt/client.hpp"

namespace tsunagu::app {

class NotificationTransport {
 public:
  // Both clients outlive the transport.
  NotificationTransport(http::HttpClient& http, mqtt::MqttClient& mqtt)
      : http_(http), mqtt_(mqtt) {}

  // engine::Delivery::Transport: sends `m` and calls `done` once, from a client's thread (or at
  // once, when a client refuses it); never blocks.
  void send(const engine::Delivery::Message& m,
            std::function<void(engine::Delivery::Result)> done) const;

 private:
  void send_http(const engine::Delivery::Message& m,
                 std::function<void(engine::Delivery::Result)> done) const;
  void send_mqtt(const engine::Delivery::Message& m,
                 std::function<void(engine::Delivery::Result)> done) const;

  http::HttpClient& http_;
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
