// Delivery of notifications, apart from what they say: each subscription's messages leave in
// the order they were queued (a receiver sees the changes of an entity in order), up to
// `window` of them unanswered at once where the transport keeps their order on the wire (HTTP/1.1
// pipelining), otherwise one at a time; a failed one is retried with growing pauses, and no
// later one starts until it is settled. A slow or dead receiver holds its own queue and nobody
// else's. Queues are bounded: when a subscription's is
// full, the oldest waiting message is dropped and reported as failed (docs/subscriptions.md).
// The transport (HTTP or MQTT, by the URL's scheme) is handed in by app/, so the engine knows no
// protocol.
// Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace tsunagu::engine {

class Delivery {
 public:
  struct Message {
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    int timeout_ms = 10000;
    // Held while the message is queued, sending or waiting for a retry, and let go when it
    // leaves for good (delivered, out of attempts, dropped from a full queue, or its queue
    // forgotten) or when the Delivery is destroyed: what it points to learns so by its
    // destructor. Durable notifications use it to know when a change is settled.
    std::shared_ptr<void> receipt;
    // How the transport itself is to be set up (the endpoint's notifierInfo: MQTT-Version,
    // MQTT-QoS); the transport reads the keys it knows.
    std::vector<std::pair<std::string, std::string>> notifier_info;
    // Whose rate the message counts against (Options::pace): its subscription's tenant.
    std::string pace_group;
  };
  struct Result {
    bool ok = false;
    int status = 0;     // the receiver's answer, 0 when none came
    std::string error;  // what went wrong, empty when ok
  };
  struct Options {
    size_t max_pending = 10000;  // waiting messages per subscription
    int max_attempts = 4;        // sends of one message before it counts as failed
    int64_t first_retry_us = 250'000;
    int64_t max_retry_us = 30'000'000;
    // Messages of one subscription sent and not yet answered, at most. More than one only for
    // messages `keeps_order` says the transport delivers in the order it was handed them, and
    // only while they go to the same URL. When one of them fails, those behind it that are
    // already sent may arrive before its retry (docs/subscriptions.md).
    size_t window = 1;
    std::function<bool(const Message&)> keeps_order;
    // Asked as a message is about to start (not for its retries): 0 to let it go, which counts
    // it against its pace_group's rate, or the µs its queue waits before asking again (a
    // tenant over its notification rate). Null: every message goes at once.
    std::function<int64_t(const std::string& pace_group)> pace;
  };
  // Sends `m`, a message of subscription `key`, and calls `done` exactly once, from any thread;
  // never blocks. Messages of one key are handed over in their order, one call after another.
  using Transport = std::function<void(const std::string& key, const Message& m,
                                       std::function<void(Result)> done)>;
  // Told of every message that left the queue: `final` when it will not be tried again
  // (delivered, out of attempts, or dropped from a full queue). Any thread; must not block.
  using Report = std::function<void(const std::string& key, const Result& r, bool final)>;
  // Told as each attempt starts, before the transport has it. Any thread; must not block.
  using Attempt = std::function<void(const std::string& key)>;

  Delivery(Options options, Transport transport, Report report, Attempt attempt = nullptr);
  ~Delivery();  // stop()s
  // Ends retries and reports: later results, retries and enqueue()s are dropped unreported.
  // Called at shutdown before the report's receiver goes away. Idempotent.
  void stop();
  Delivery(const Delivery&) = delete;
  Delivery& operator=(const Delivery&) = delete;

  // Queues `m` for subscription `key`.
  void enqueue(const std::string& key, Message m);
  // Drops `key`'s queue (its subscription was deleted); a send in flight finishes unreported.
  void forget(const std::string& key);
  // Messages queued, sending or waiting to be retried, over all subscriptions.
  size_t pending() const;
  // Messages dropped from full queues since start.
  uint64_t dropped() const;

 private:
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace tsunagu::engine
