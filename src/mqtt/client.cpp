#include "mqtt/client.hpp"

#include <mosquitto.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <tuple>

#include "common/time.hpp"
#include "mqtt/connection.hpp"
#include "mqtt/endpoint.hpp"

namespace tsunagu::mqtt {
namespace {

// What identifies one connection: publishes with equal keys share it.
using Key = std::tuple<bool, std::string, uint16_t, std::optional<std::string>,
                       std::optional<std::string>, MqttClient::Version>;

}  // namespace

struct MqttClient::State : Shared {
  using Shared::Shared;
  std::map<Key, std::shared_ptr<Connection>> connections;
};

MqttClient::MqttClient(Options options) : s_(std::make_unique<State>(std::move(options))) {
  static std::once_flag once;
  std::call_once(once, [] { mosquitto_lib_init(); });
}

MqttClient::~MqttClient() {
  stop();
}

bool MqttClient::submit(Publish p, Done done) {
  auto endpoint = parse_endpoint(p.url);
  if (!endpoint.ok()) {
    publish_outcomes("failed").inc();
    Outcome out;
    out.error = endpoint.status().detail();
    done(std::move(out));
    return true;
  }
  Key key{endpoint->tls,  endpoint->host,     endpoint->port,
          endpoint->user, endpoint->password, p.version};
  Connection::Item item;
  item.topic = endpoint->topic;
  item.start_us = steady_us();
  item.deadline_us = item.start_us + static_cast<int64_t>(std::max(1, p.timeout_ms)) * 1000;
  item.publish = std::move(p);
  item.done = std::move(done);

  std::shared_ptr<Connection> conn, retired;
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopping || s_->outstanding.load(std::memory_order_relaxed) >= s_->options.max_queued) {
      publish_outcomes("refused_full").inc();
      return false;
    }
    auto it = s_->connections.find(key);
    if (it != s_->connections.end() && it->second->closed) {
      retired = std::move(it->second);
      s_->connections.erase(it);
      it = s_->connections.end();
    }
    if (it == s_->connections.end()) {
      if (s_->connections.size() >= s_->options.max_connections) {
        // Make room from connections that retired themselves.
        for (auto c = s_->connections.begin(); c != s_->connections.end();) {
          if (c->second->closed) {
            c->second->join();  // it has left its loop: this is the end of its cleanup
            c = s_->connections.erase(c);
          } else {
            ++c;
          }
        }
      }
      if (s_->connections.size() >= s_->options.max_connections) {
        publish_outcomes("refused_full").inc();
        return false;
      }
      auto fresh = std::make_shared<Connection>(*s_, std::move(*endpoint), item.publish.version);
      fresh->start();
      it = s_->connections.emplace(key, std::move(fresh)).first;
    }
    conn = it->second;
    conn->inbox.push_back(std::move(item));
    s_->outstanding.fetch_add(1, std::memory_order_relaxed);
  }
  if (retired) retired->join();
  conn->wake();
  return true;
}

void MqttClient::stop() {
  std::map<Key, std::shared_ptr<Connection>> all;
  {
    std::lock_guard lock(s_->mu);
    s_->stopping = true;
    all = s_->connections;
  }
  for (auto& [key, c] : all)
    c->wake();
  for (auto& [key, c] : all)
    c->join();
  std::lock_guard lock(s_->mu);
  s_->connections.clear();
}

size_t MqttClient::outstanding() const {
  return s_->outstanding.load(std::memory_order_relaxed);
}

size_t MqttClient::connections() const {
  std::lock_guard lock(s_->mu);
  size_t n = 0;
  for (const auto& [key, c] : s_->connections)
    n += c->closed ? 0 : 1;
  return n;
}

}  // namespace tsunagu::mqtt
