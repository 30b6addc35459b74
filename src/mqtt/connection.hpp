// One connection of mqtt::MqttClient to one broker, with one identity (user, password, protocol
// version, TLS), and the thread that drives it: connects when a publish waits (again after
// every loss, at growing pauses), publishes in order, matches the broker's acknowledgements,
// enforces each publish's timeout, and closes when idle. Internal to mqtt/client.cpp.
#pragma once

#include <mosquitto.h>

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/metrics.hpp"
#include "mqtt/client.hpp"
#include "mqtt/endpoint.hpp"

namespace tsunagu::mqtt {

// What the connections share with the client that owns them.
struct Shared {
  explicit Shared(MqttClient::Options o) : options(std::move(o)) {}
  const MqttClient::Options options;
  std::mutex mu;  // every connection's inbox and `closed`, `stopping`, and the client's map
  bool stopping = false;
  std::atomic<size_t> outstanding{0};  // publishes submitted and not yet ended
};

// tsunagu_mqtt_client_publishes_total{result}.
metrics::Counter& publish_outcomes(const char* result);

// One broker connection and the thread that drives it. The thread alone touches the mosquitto
// handle and everything below "the thread's own"; submitters reach it only through `inbox`
// (under Shared::mu) and the eventfd that wakes it.
class Connection {
 public:
  struct Item {
    MqttClient::Publish publish;
    std::string topic;
    MqttClient::Done done;
    int64_t start_us = 0;
    int64_t deadline_us = 0;
    int mid = -1;  // once handed to libmosquitto
    std::multimap<int64_t, uint64_t>::iterator due;
  };

  Connection(Shared& client, Endpoint endpoint, MqttClient::Version version);
  ~Connection();

  // Starts the thread; the connection opens with the first publish.
  void start();
  // Tells the thread that the inbox or Shared::stopping changed. Any thread.
  void wake();
  // Waits for the thread's end (after Shared::stopping, or once `closed`).
  void join();

  // Under Shared::mu.
  std::deque<Item> inbox;
  bool closed = false;  // the thread ended or is ending: no more submissions here

 private:
  void run();
  void take_inbox();
  bool has_waiting();
  void expire(int64_t now);
  void open(int64_t now);
  void close_mosq();
  void lost(const std::string& why, int64_t now);
  void send_waiting(int64_t now);
  void finish(uint64_t id, std::string error);
  void flush();
  void handle_loop_rc(int rc, int64_t now);
  int poll_timeout_ms(int64_t now);
  bool retire_if_idle(int64_t now);

  std::string failure(int rc);

  static void on_connect(mosquitto*, void* self, int rc, int flags, const mosquitto_property*);
  static void on_log(mosquitto*, void* self, int level, const char* text);
  static void on_publish(mosquitto*, void* self, int mid, int reason, const mosquitto_property*);

  Shared& client_;
  const Endpoint endpoint_;
  const MqttClient::Version version_;
  int wake_fd_ = -1;
  std::thread thread_;

  // The thread's own.
  mosquitto* m_ = nullptr;
  bool connected_ = false;        // CONNACK accepted
  int64_t connect_deadline_ = 0;  // while m_ && !connected_
  int64_t retry_at_ = 0;          // next connection attempt, while !m_
  int64_t retry_pause_;           // after the next failure: doubles; reset by a CONNACK
  std::string last_error_;        // why the last attempt or connection ended
  std::string refusal_;    // why the broker or TLS refused us: waiting publishes fail at once
  std::string tls_error_;  // libmosquitto's last OpenSSL error line, for the TLS failures
  int64_t last_active_ = 0;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, Item> items_;
  std::deque<uint64_t> waiting_;                 // in submission order; finished ids skipped
  std::multimap<int64_t, uint64_t> deadlines_;   // every item, by deadline
  std::unordered_map<int, uint64_t> in_flight_;  // by mid
  std::unordered_map<int, int> early_acks_;      // QoS 0 acks that came before publish returned
  std::vector<std::pair<Item, MqttClient::Outcome>> finished_;
};

}  // namespace tsunagu::mqtt
