// Delivery's promises with a transport the test answers by hand: per subscription in order and
// one at a time, retries with pauses before the next message, a final report for each message,
// the oldest waiting message dropped from a full queue, and nothing more for a forgotten one.
#include "engine/delivery.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>

namespace tsunagu::engine {
namespace {

using namespace std::chrono_literals;

// Holds every send until the test answers it.
class HeldTransport {
 public:
  Delivery::Transport transport() {
    return [this](const Delivery::Message& m, std::function<void(Delivery::Result)> done) {
      std::lock_guard lock(mu_);
      sent_.push_back(m.body);
      held_.push_back({m.body, std::move(done)});
      cv_.notify_all();
    };
  }
  // Waits for the next send and answers it; returns its body.
  std::string answer(bool ok) {
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 5s, [&] { return !held_.empty(); })) << "no send came";
    if (held_.empty()) return "";
    auto [body, done] = std::move(held_.front());
    held_.pop_front();
    lock.unlock();
    done(ok ? Delivery::Result{true, 204, ""} : Delivery::Result{false, 500, "status 500"});
    return body;
  }
  size_t held() {
    std::lock_guard lock(mu_);
    return held_.size();
  }
  std::vector<std::string> sent() {
    std::lock_guard lock(mu_);
    return sent_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::function<void(Delivery::Result)>>> held_;
  std::vector<std::string> sent_;
};

struct Reports {
  Delivery::Report report() {
    return [this](const std::string& key, const Delivery::Result& r, bool final) {
      std::lock_guard lock(mu);
      all.push_back(key + (r.ok ? " ok" : " failed") + (final ? " final" : " retry"));
    };
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return all;
  }
  std::mutex mu;
  std::vector<std::string> all;
};

Delivery::Message message(std::string body) {
  Delivery::Message m;
  m.url = "http://receiver/";
  m.body = std::move(body);
  return m;
}

Delivery::Options fast(size_t max_pending = 100, int attempts = 3) {
  Delivery::Options o;
  o.max_pending = max_pending;
  o.max_attempts = attempts;
  o.first_retry_us = 1000;
  o.max_retry_us = 4000;
  return o;
}

TEST(DeliveryTest, EachSubscriptionInOrderOneAtATime) {
  HeldTransport t;
  Reports reports;
  Delivery d(fast(), t.transport(), reports.report());
  for (int i = 0; i < 3; ++i) {
    d.enqueue("a", message("a" + std::to_string(i)));
    d.enqueue("b", message("b" + std::to_string(i)));
  }
  // One send per subscription at a time.
  EXPECT_EQ(t.held(), 2u);
  EXPECT_EQ(d.pending(), 6u);
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i)
    order.push_back(t.answer(true));
  EXPECT_EQ(order, (std::vector<std::string>{"a0", "b0", "a1", "b1", "a2", "b2"}));
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_EQ(reports.snapshot().size(), 6u);
}

TEST(DeliveryTest, AFailureIsRetriedBeforeTheNextMessage) {
  HeldTransport t;
  Reports reports;
  Delivery d(fast(100, 3), t.transport(), reports.report());
  d.enqueue("s", message("first"));
  d.enqueue("s", message("second"));
  EXPECT_EQ(t.answer(false), "first");
  EXPECT_EQ(t.answer(false), "first");
  EXPECT_EQ(t.answer(true), "first");
  EXPECT_EQ(t.answer(false), "second");
  EXPECT_EQ(t.answer(false), "second");
  EXPECT_EQ(t.answer(false), "second");  // the third attempt is the last
  EXPECT_EQ(reports.snapshot(),
            (std::vector<std::string>{"s failed retry", "s failed retry", "s ok final",
                                      "s failed retry", "s failed retry", "s failed final"}));
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_EQ(d.pending(), 0u);
}

TEST(DeliveryTest, AFullQueueDropsTheOldestWaiting) {
  HeldTransport t;
  Reports reports;
  Delivery d(fast(3), t.transport(), reports.report());
  for (int i = 0; i < 6; ++i)
    d.enqueue("s", message(std::to_string(i)));
  // 0 is being sent; 1, 2 and 3 were dropped in turn to make room for 3, 4 and 5.
  EXPECT_EQ(d.dropped(), 3u);
  EXPECT_EQ(d.pending(), 3u);
  std::vector<std::string> got;
  for (int i = 0; i < 3; ++i)
    got.push_back(t.answer(true));
  EXPECT_EQ(got, (std::vector<std::string>{"0", "4", "5"}));
  auto r = reports.snapshot();
  EXPECT_EQ(std::count(r.begin(), r.end(), "s failed final"), 3);
}

TEST(DeliveryTest, AForgottenSubscriptionGetsNothingMore) {
  HeldTransport t;
  Reports reports;
  Delivery d(fast(), t.transport(), reports.report());
  d.enqueue("s", message("0"));
  d.enqueue("s", message("1"));
  d.forget("s");
  EXPECT_EQ(d.pending(), 0u);
  t.answer(true);  // the send in flight ends unreported
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(t.sent(), std::vector<std::string>{"0"});
  EXPECT_TRUE(reports.snapshot().empty());
  d.enqueue("s", message("2"));  // a new subscription under the same key starts afresh
  EXPECT_EQ(t.answer(true), "2");
}

}  // namespace
}  // namespace tsunagu::engine
