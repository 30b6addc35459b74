// Outbound MQTT publishes that never block their caller, through libmosquitto. One connection
// per broker and identity (host, port, user, password, protocol version, TLS), kept open and
// reused, each driven by a thread of its own that polls its socket, so that a broker whose name
// resolves slowly, that never answers or that drops the connection holds up only its own
// publishes. Every publish has a total timeout, connecting included; a broker that cannot be
// reached is tried again until then, one that refuses the connection (credentials, TLS) fails
// the waiting publishes at once. Bounded: at most `max_connections` brokers at once, at most
// `max_in_flight` unacknowledged publishes per connection, at most `max_queued` publishes
// waiting or in flight over all of them, and submit() refuses beyond that at once. No NGSI-LD
// here: notifications (engine/) are wrapped and handed to it by app/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace tsunagu::mqtt {

class MqttClient {
 public:
  struct Options {
    size_t max_connections = 256;
    size_t max_in_flight = 100;     // per connection: handed to libmosquitto, not yet acknowledged
    size_t max_queued = 100000;     // over all connections, waiting or in flight
    int connect_timeout_ms = 3000;  // from the TCP connect to the broker's CONNACK
    int keepalive_s = 60;
    int idle_close_ms = 300000;  // a connection with nothing to send this long is closed
    // mqtts: the PEM file of the CA certificates brokers are checked against; empty: the
    // system's store (/etc/ssl/certs). The broker's name (or address) must match its
    // certificate either way.
    std::string ca_file;
  };
  enum class Version { kV311, kV5 };
  struct Publish {
    std::string url;  // mqtt[s]://[user[:password]@]host[:port]/topic (mqtt/endpoint.hpp)
    std::string payload;
    Version version = Version::kV311;
    int qos = 0;             // 0, 1 or 2
    int timeout_ms = 10000;  // the whole publish: connecting, writing and the broker's ack
  };
  struct Outcome {
    // Empty when the broker acknowledged the publish: PUBACK for QoS 1, PUBCOMP for QoS 2,
    // and for QoS 0 once the PUBLISH is written to the connection. Otherwise why not (the URL,
    // the connection refused, timeout, the connection lost before the ack...).
    std::string error;
    int64_t micros = 0;
    bool ok() const { return error.empty(); }
  };
  // Runs on a connection's thread (or on the caller's, for a URL that cannot be read): must
  // only hand the outcome on.
  using Done = std::function<void(Outcome&&)>;

  explicit MqttClient(Options options);
  MqttClient() : MqttClient(Options{}) {}
  ~MqttClient();  // stop()s
  MqttClient(const MqttClient&) = delete;
  MqttClient& operator=(const MqttClient&) = delete;

  // Queues `p` on its broker's connection (opened if there is none). False, and `done` is not
  // called, when `max_queued` publishes are outstanding, `max_connections` brokers are in use
  // and `p` needs another, or the client stopped. A URL that cannot be read is not queued:
  // `done` is called with the reason before submit() returns true.
  bool submit(Publish p, Done done);
  // Ends every publish still waiting or in flight with the error "client stopped", closes the
  // connections and joins their threads (one resolving a broker's name finishes that first).
  // Idempotent.
  void stop();

  size_t outstanding() const;  // publishes waiting or in flight
  size_t connections() const;  // connections with a thread, open or between attempts

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace tsunagu::mqtt
