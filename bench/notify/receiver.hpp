// The webhook receiver of tsunagu-notify-bench: an HTTP/1.1 server on loopback that answers every
// request at once with 204 on the same keep-alive connection, and logs for each notification
// which subscription sent it, which update it reports (the sequence number the sender put in
// the attribute's value) and when its last byte arrived. One thread with epoll; it does a few
// microseconds of work per notification, so the broker, not the receiver, sets the pace.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

namespace tsunagu::notify_bench {

struct Arrival {
  int64_t seq = -1;  // the update's sequence number; -1 when the body did not show one
  int64_t sub = -1;  // the number after the subscription id's prefix; -1 when none
  int64_t t_ns = 0;  // now_ns() when the whole request was read
};

class Receiver {
 public:
  // `attribute`: the attribute whose value holds the sequence number; `sub_prefix`: what every
  // subscription id of the run starts with, followed by its number.
  Receiver(std::string attribute, std::string sub_prefix);
  ~Receiver();  // stop()s
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // Listens on 127.0.0.1:port (0: a free one) and starts the thread; false with `error` set when
  // the port cannot be had.
  bool start(uint16_t port, std::string& error);
  uint16_t port() const { return port_; }
  // Notifications received so far; any thread.
  uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  // Ends the thread. The figures below are read after it.
  void stop();

  const std::vector<Arrival>& arrivals() const { return arrivals_; }
  uint64_t connections() const { return connections_; }  // accepted over the run
  uint64_t requests() const { return requests_; }        // every request, notification or not

 private:
  struct Conn;
  void loop();
  void handle(std::string_view body, int64_t t);

  std::string attribute_key_;  // "\"<attribute>\":"
  std::string sub_key_;        // "\"subscriptionId\":\"<prefix>"
  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> received_{0};
  std::thread thread_;
  std::vector<Arrival> arrivals_;  // the thread's until stop()
  uint64_t connections_ = 0;
  uint64_t requests_ = 0;
};

}  // namespace tsunagu::notify_bench
