#include "app/notification_transport.hpp"

#include <strings.h>

#include <vector>

#include "common/json_writer.hpp"

namespace tsunagu::app {

bool is_mqtt_url(const std::string& url) {
  return strncasecmp(url.c_str(), "mqtt://", 7) == 0 ||
         strncasecmp(url.c_str(), "mqtts://", 8) == 0;
}

mqtt::MqttClient::Publish mqtt_publish(const engine::Delivery::Message& m) {
  mqtt::MqttClient::Publish p;
  p.url = m.url;
  p.timeout_ms = m.timeout_ms;
  // The subscription parser admits only these values (ngsild/subscription/).
  for (const auto& [key, value] : m.notifier_info) {
    if (key == "MQTT-Version") {
      p.version =
          value == "mqtt5.0" ? mqtt::MqttClient::Version::kV5 : mqtt::MqttClient::Version::kV311;
    } else if (key == "MQTT-QoS" && value.size() == 1 && value[0] >= '0' && value[0] <= '2') {
      p.qos = value[0] - '0';
    }
  }
  JsonWriter w(p.payload);
  w.begin_object();
  w.key("metadata");
  w.begin_object();
  // A JSON object names a member once; HTTP header names match in any case.
  std::vector<const std::string*> written;
  for (const auto& [name, value] : m.headers) {
    bool seen = false;
    for (const std::string* n : written)
      seen = seen || strcasecmp(n->c_str(), name.c_str()) == 0;
    if (seen) continue;
    written.push_back(&name);
    w.key(name);
    w.string(value);
  }
  w.end_object();
  w.key("body");
  w.raw(m.body);
  w.end_object();
  return p;
}

bool NotificationTransport::keeps_order(const engine::Delivery::Message& m) {
  return strncasecmp(m.url.c_str(), "http://", 7) == 0;
}

void NotificationTransport::send(const std::string& key, const engine::Delivery::Message& m,
                                 std::function<void(engine::Delivery::Result)> done) const {
  if (is_mqtt_url(m.url)) {
    send_mqtt(m, std::move(done));
  } else if (keeps_order(m)) {
    send_http(key, m, std::move(done));
  } else {
    send_https(m, std::move(done));
  }
}

namespace {

// The POST that carries `m`, for either HTTP client.
void fill(http::HttpClient::Request& r, const engine::Delivery::Message& m) {
  r.url = m.url;
  r.body = m.body;
  r.timeout_ms = m.timeout_ms;
  for (const auto& [name, value] : m.headers)
    r.headers.push_back({name, value});
}

// What the receiver's answer means for the notification.
engine::Delivery::Result result_of(http::HttpClient::Outcome&& o) {
  std::string error = std::move(o.error);
  if (error.empty() && !o.ok()) error = "the receiver answered " + std::to_string(o.status);
  return {error.empty(), o.status, std::move(error)};
}

}  // namespace

void NotificationTransport::send_http(const std::string& key, const engine::Delivery::Message& m,
                                      std::function<void(engine::Delivery::Result)> done) const {
  http::Http1Client::Request r;
  fill(r, m);
  r.stream = key;
  bool queued = http_.submit(
      std::move(r), [done](http::HttpClient::Outcome&& o) { done(result_of(std::move(o))); });
  if (!queued) done({false, 0, "the outbound HTTP queue is full"});
}

void NotificationTransport::send_https(const engine::Delivery::Message& m,
                                       std::function<void(engine::Delivery::Result)> done) const {
  http::HttpClient::Request r;
  fill(r, m);
  bool queued = https_.submit(
      std::move(r), [done](http::HttpClient::Outcome&& o) { done(result_of(std::move(o))); });
  if (!queued) done({false, 0, "the outbound HTTP queue is full"});
}

void NotificationTransport::send_mqtt(const engine::Delivery::Message& m,
                                      std::function<void(engine::Delivery::Result)> done) const {
  bool queued = mqtt_.submit(mqtt_publish(m), [done](mqtt::MqttClient::Outcome&& o) {
    done({o.ok(), 0, std::move(o.error)});
  });
  if (!queued) done({false, 0, "the outbound MQTT queue is full, or too many brokers are in use"});
}

}  // namespace tsunagu::app
