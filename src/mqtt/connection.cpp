#include "mqtt/connection.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "common/time.hpp"

namespace tsunagu::mqtt {
namespace {

// Pauses between connection attempts while publishes wait.
const int64_t kFirstRetryUs = 100'000;
const int64_t kMaxRetryUs = 5'000'000;

}  // namespace

metrics::Counter& publish_outcomes(const char* result) {
  static auto& family = metrics::registry().counter(
      "tsunagu_mqtt_client_publishes_total",
      "Outbound MQTT publishes (notifications), by result: ok (acknowledged by the broker; QoS "
      "0: written), failed (bad URL, connection refused or lost, timeout, refused by the "
      "broker), refused_full (too many outstanding or too many brokers, never sent)",
      {"result"});
  return family.with({result});
}

Connection::Connection(Shared& client, Endpoint endpoint, MqttClient::Version version)
    : client_(client),
      endpoint_(std::move(endpoint)),
      version_(version),
      retry_pause_(kFirstRetryUs) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Connection::~Connection() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Connection::start() {
  thread_ = std::thread([this] { run(); });
}

void Connection::wake() {
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = ::write(wake_fd_, &one, sizeof one);
}

void Connection::join() {
  if (thread_.joinable()) thread_.join();
}

void Connection::on_connect(mosquitto*, void* self, int rc, int, const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  if (rc == 0) {
    c->connected_ = true;
    c->retry_pause_ = kFirstRetryUs;
    return;
  }
  c->refusal_ = std::string("the broker refused the connection: ") +
                (c->version_ == MqttClient::Version::kV5 ? mosquitto_reason_string(rc)
                                                         : mosquitto_connack_string(rc));
}

void Connection::on_log(mosquitto*, void* self, int level, const char* text) {
  // A failed handshake is reported as MOSQ_ERR_TLS alone; the reason is in the log.
  if ((level & MOSQ_LOG_ERR) != 0 && std::strncmp(text, "OpenSSL Error", 13) == 0) {
    static_cast<Connection*>(self)->tls_error_ = text;
  }
}

// Why libmosquitto's call failed with `rc`. A TLS failure (an untrusted certificate, a name
// that does not match it) is a refusal: trying again at once would not change it.
std::string Connection::failure(int rc) {
  if (rc == MOSQ_ERR_ERRNO) return std::strerror(errno);
  std::string why = mosquitto_strerror(rc);
  if (rc == MOSQ_ERR_TLS || rc == MOSQ_ERR_TLS_HANDSHAKE) {
    if (!tls_error_.empty()) why += " (" + tls_error_ + ")";
    refusal_ =
        "TLS with " + endpoint_.host + ":" + std::to_string(endpoint_.port) + " failed: " + why;
  }
  return why;
}

void Connection::on_publish(mosquitto*, void* self, int mid, int reason,
                            const mosquitto_property*) {
  auto* c = static_cast<Connection*>(self);
  auto it = c->in_flight_.find(mid);
  if (it == c->in_flight_.end()) {
    // QoS 0 is acknowledged inside mosquitto_publish() when written at once.
    c->early_acks_[mid] = reason;
    return;
  }
  uint64_t id = it->second;
  // MQTT 5 PUBACK/PUBREC/PUBCOMP reason codes of 0x80 and above are failures (§3.4.2.1).
  c->finish(id, reason < 0x80 ? std::string()
                              : std::string("the broker refused the message: ") +
                                    mosquitto_reason_string(reason));
}

void Connection::take_inbox() {
  std::deque<Item> fresh;
  {
    std::lock_guard lock(client_.mu);
    fresh.swap(inbox);
  }
  for (Item& item : fresh) {
    uint64_t id = next_id_++;
    item.due = deadlines_.emplace(item.deadline_us, id);
    items_.emplace(id, std::move(item));
    waiting_.push_back(id);
  }
  if (!fresh.empty()) last_active_ = steady_us();
}

bool Connection::has_waiting() {
  while (!waiting_.empty() && items_.count(waiting_.front()) == 0)
    waiting_.pop_front();
  return !waiting_.empty();
}

void Connection::finish(uint64_t id, std::string error) {
  auto node = items_.extract(id);
  if (node.empty()) return;
  Item& item = node.mapped();
  deadlines_.erase(item.due);
  if (item.mid >= 0) in_flight_.erase(item.mid);
  MqttClient::Outcome out;
  out.error = std::move(error);
  out.micros = steady_us() - item.start_us;
  publish_outcomes(out.ok() ? "ok" : "failed").inc();
  finished_.emplace_back(std::move(item), std::move(out));
}

// The callbacks run outside every lock and outside libmosquitto's calls.
void Connection::flush() {
  std::vector<std::pair<Item, MqttClient::Outcome>> done;
  done.swap(finished_);
  client_.outstanding.fetch_sub(done.size(), std::memory_order_relaxed);
  for (auto& [item, out] : done)
    item.done(std::move(out));
}

void Connection::expire(int64_t now) {
  bool unacked = false;
  while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
    uint64_t id = deadlines_.begin()->second;
    const Item& item = items_.at(id);
    std::string why = "no acknowledgement from the broker within " +
                      std::to_string(item.publish.timeout_ms) + " ms";
    if (item.mid >= 0) {
      unacked = true;
    } else if (!connected_) {
      why = "no connection to the broker within " + std::to_string(item.publish.timeout_ms) +
            " ms" + (last_error_.empty() ? "" : " (" + last_error_ + ")");
    }
    finish(id, std::move(why));
  }
  // libmosquitto would keep an unacknowledged message, and its in-flight slot, for the life of
  // the connection: a broker that does not ack in time gets a fresh connection.
  if (unacked) lost("the connection was reset after a publish timed out", now);
}

void Connection::open(int64_t now) {
  const MqttClient::Options& o = client_.options;
  refusal_.clear();
  tls_error_.clear();
  connected_ = false;
  m_ = mosquitto_new(nullptr, true, this);
  if (m_ == nullptr) {
    last_error_ = "out of memory";
    retry_at_ = now + retry_pause_;
    return;
  }
  mosquitto_int_option(
      m_, MOSQ_OPT_PROTOCOL_VERSION,
      version_ == MqttClient::Version::kV5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
  mosquitto_connect_v5_callback_set(m_, &Connection::on_connect);
  mosquitto_publish_v5_callback_set(m_, &Connection::on_publish);
  mosquitto_log_callback_set(m_, &Connection::on_log);
  int rc = MOSQ_ERR_SUCCESS;
  if (endpoint_.user) {
    rc = mosquitto_username_pw_set(m_, endpoint_.user->c_str(),
                                   endpoint_.password ? endpoint_.password->c_str() : nullptr);
  }
  if (rc == MOSQ_ERR_SUCCESS && endpoint_.tls) {
    rc = o.ca_file.empty()
             ? mosquitto_tls_set(m_, nullptr, "/etc/ssl/certs", nullptr, nullptr, nullptr)
             : mosquitto_tls_set(m_, o.ca_file.c_str(), nullptr, nullptr, nullptr, nullptr);
  }
  // Resolves the name (blocking this connection's thread only), then connects without waiting;
  // the CONNECT packet leaves when the socket is writable.
  if (rc == MOSQ_ERR_SUCCESS) {
    rc = mosquitto_connect_async(m_, endpoint_.host.c_str(), endpoint_.port, o.keepalive_s);
  }
  if (rc != MOSQ_ERR_SUCCESS) {
    lost("cannot connect to " + endpoint_.host + ":" + std::to_string(endpoint_.port) + ": " +
             failure(rc),
         now);
    return;
  }
  connect_deadline_ = now + static_cast<int64_t>(o.connect_timeout_ms) * 1000;
}

void Connection::close_mosq() {
  if (m_ == nullptr) return;
  if (connected_) mosquitto_disconnect(m_);
  mosquitto_destroy(m_);
  m_ = nullptr;
  connected_ = false;
  early_acks_.clear();
}

// The connection ended (or never began): what was in flight on it fails, what waits stays for
// the next one, unless the broker refused us, which another attempt would not change soon.
void Connection::lost(const std::string& why, int64_t now) {
  bool refused = !refusal_.empty();
  last_error_ = refused ? refusal_ : why;
  close_mosq();
  std::vector<uint64_t> ids;
  for (const auto& [mid, id] : in_flight_)
    ids.push_back(id);
  if (refused) {
    for (uint64_t id : waiting_)
      ids.push_back(id);
    waiting_.clear();
  }
  for (uint64_t id : ids)
    finish(id, last_error_);
  in_flight_.clear();
  retry_at_ = now + retry_pause_;
  retry_pause_ = std::min(retry_pause_ * 2, kMaxRetryUs);
}

void Connection::send_waiting(int64_t now) {
  while (m_ != nullptr && connected_ && in_flight_.size() < client_.options.max_in_flight &&
         has_waiting()) {
    uint64_t id = waiting_.front();
    waiting_.pop_front();
    Item& item = items_.at(id);
    int mid = -1;
    int rc = mosquitto_publish_v5(m_, &mid, item.topic.c_str(),
                                  static_cast<int>(item.publish.payload.size()),
                                  item.publish.payload.data(), item.publish.qos, false, nullptr);
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO) {
      // Not sent: it waits for the next connection, first in line again.
      waiting_.push_front(id);
      lost("the connection was lost: " + failure(rc), now);
      return;
    }
    if (rc != MOSQ_ERR_SUCCESS) {
      finish(id, std::string("the message cannot be published: ") + mosquitto_strerror(rc));
      continue;
    }
    item.mid = mid;
    auto early = early_acks_.find(mid);
    if (early != early_acks_.end()) {
      early_acks_.erase(early);
      finish(id, "");
    } else {
      in_flight_.emplace(mid, id);
    }
  }
}

void Connection::handle_loop_rc(int rc, int64_t now) {
  if (m_ == nullptr) return;
  if ((rc == MOSQ_ERR_SUCCESS || rc == MOSQ_ERR_CONN_PENDING) && mosquitto_socket(m_) >= 0) return;
  lost("the connection to " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
           " ended: " + failure(rc),
       now);
}

int Connection::poll_timeout_ms(int64_t now) {
  int64_t until = now + 1'000'000;  // keepalive and retries of libmosquitto (loop_misc)
  if (!deadlines_.empty()) until = std::min(until, deadlines_.begin()->first);
  if (m_ != nullptr && !connected_) until = std::min(until, connect_deadline_);
  if (m_ == nullptr && !waiting_.empty()) until = std::min(until, retry_at_);
  int64_t ms = (until - now + 999) / 1000;
  return static_cast<int>(std::clamp<int64_t>(ms, 0, 1000));
}

// An idle connection closes and its thread ends, so that brokers no subscription names any
// more cost nothing; the next publish to that broker opens another.
bool Connection::retire_if_idle(int64_t now) {
  if (!items_.empty()) return false;
  if (now - last_active_ < static_cast<int64_t>(client_.options.idle_close_ms) * 1000) {
    return false;
  }
  std::lock_guard lock(client_.mu);
  if (!inbox.empty()) return false;
  closed = true;
  return true;
}

void Connection::run() {
  last_active_ = steady_us();
  while (true) {
    take_inbox();
    {
      std::lock_guard lock(client_.mu);
      if (client_.stopping) break;
    }
    int64_t now = steady_us();
    expire(now);
    if (m_ == nullptr && has_waiting() && now >= retry_at_) open(now);
    if (m_ != nullptr && !connected_ && now >= connect_deadline_) {
      lost("no CONNACK from " + endpoint_.host + ":" + std::to_string(endpoint_.port) + " within " +
               std::to_string(client_.options.connect_timeout_ms) + " ms",
           now);
    }
    send_waiting(now);
    flush();
    if (retire_if_idle(now)) {
      close_mosq();
      return;
    }

    pollfd fds[2] = {{wake_fd_, POLLIN, 0}, {-1, 0, 0}};
    int sock = m_ != nullptr ? mosquitto_socket(m_) : -1;
    if (sock >= 0) {
      fds[1].fd = sock;
      fds[1].events = static_cast<short>(POLLIN | (mosquitto_want_write(m_) ? POLLOUT : 0));
    }
    ::poll(fds, sock >= 0 ? 2 : 1, poll_timeout_ms(now));
    if (fds[0].revents & POLLIN) {
      uint64_t n = 0;
      [[maybe_unused]] ssize_t r = ::read(wake_fd_, &n, sizeof n);
    }
    now = steady_us();
    if (m_ != nullptr && sock >= 0 && (fds[1].revents & (POLLERR | POLLHUP))) {
      // libmosquitto takes a failed TLS connect for one still under way (SSL_ERROR_SYSCALL)
      // and would be asked again and again: the socket's own error ends it.
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(sock, SOL_SOCKET, SO_ERROR, &err, &len);
      lost("the connection to " + endpoint_.host + ":" + std::to_string(endpoint_.port) +
               " ended: " + (err != 0 ? std::strerror(err) : "closed"),
           now);
    }
    if (m_ != nullptr) {
      // With no wait: reads, writes, the TLS handshake and keepalive, whichever is ready.
      handle_loop_rc(mosquitto_loop(m_, 0, 1), now);
      // A refused CONNACK leaves the socket open until we close it.
      if (m_ != nullptr && !refusal_.empty()) lost(refusal_, now);
    }
    flush();
  }
  // Stopped: nothing more is sent; whoever waits learns so.
  close_mosq();
  std::vector<uint64_t> ids;
  for (const auto& [id, item] : items_)
    ids.push_back(id);
  for (uint64_t id : ids)
    finish(id, "client stopped");
  flush();
  std::deque<Item> left;
  {
    std::lock_guard lock(client_.mu);
    left.swap(inbox);
    closed = true;
  }
  client_.outstanding.fetch_sub(left.size(), std::memory_order_relaxed);
  for (Item& item : left) {
    publish_outcomes("failed").inc();
    MqttClient::Outcome out;
    out.error = "client stopped";
    item.done(std::move(out));
  }
}

}  // namespace tsunagu::mqtt
