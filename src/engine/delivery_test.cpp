// Delivery's promises with a transport the test answers by hand: per subscription in order and
// one at a time (or a window of them, where the transport keeps their order), retries with
// pauses before the next message, a final report for each message, the oldest waiting message
// dropped from a full queue, and nothing more for a forgotten one.
#include "engine/delivery.hpp"

#include <gtest/gtest.h>

#include <algorithm>
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
    return [this](const std::string&, const Delivery::Message& m,
                  std::function<void(Delivery::Result)> done) {
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

TEST(DeliveryTest, APacedGroupWaitsItsTurnInOrderAndOthersDoNot) {
  HeldTransport t;
  Reports reports;
  Delivery::Options o = fast();
  // Group "town" lets one message go, then makes the next wait 30 ms; the asks are counted.
  std::mutex mu;
  int asks = 0;
  bool open = true;
  o.pace = [&](const std::string& group) -> int64_t {
    std::lock_guard lock(mu);
    EXPECT_EQ(group, "town");
    ++asks;
    if (!open) return 30'000;
    open = false;
    return 0;
  };
  Delivery d(o, t.transport(), reports.report());
  for (const char* body : {"t0", "t1"}) {
    Delivery::Message m = message(body);
    m.pace_group = "town";
    d.enqueue("paced", std::move(m));
  }
  d.enqueue("free", message("f0"));  // no group: never asked
  EXPECT_EQ(t.answer(true), "t0");
  EXPECT_EQ(t.answer(true), "f0");
  // t1 waits for its group: nothing is sent until the group lets it go.
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(t.held(), 0u);
  EXPECT_EQ(d.pending(), 1u);
  {
    std::lock_guard lock(mu);
    EXPECT_GE(asks, 2);  // asked again after each wait
    open = true;
  }
  EXPECT_EQ(t.answer(true), "t1");
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

Delivery::Options windowed(size_t window) {
  Delivery::Options o = fast();
  o.window = window;
  o.keeps_order = [](const Delivery::Message& m) { return m.url.rfind("http:", 0) == 0; };
  return o;
}

TEST(DeliveryTest, AWindowSendsSeveralInOrderAndHoldsEachReceiptUntilItLeaves) {
  HeldTransport t;
  Reports reports;
  Delivery d(windowed(3), t.transport(), reports.report());
  auto receipt = std::make_shared<int>(1);
  std::weak_ptr<int> watch = receipt;
  for (int i = 0; i < 5; ++i) {
    auto m = message(std::to_string(i));
    if (i == 1) m.receipt = std::move(receipt);
    d.enqueue("s", std::move(m));
  }
  EXPECT_EQ(t.sent(), (std::vector<std::string>{"0", "1", "2"}));
  EXPECT_EQ(t.answer(true), "0");
  EXPECT_EQ(t.sent(), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(t.answer(true), "1");
  EXPECT_TRUE(watch.expired());
  for (const char* next : {"2", "3", "4"})
    EXPECT_EQ(t.answer(true), next);
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_EQ(reports.snapshot().size(), 5u);
}

TEST(DeliveryTest, AWindowNeedsATransportThatKeepsOrderAndOneUrl) {
  HeldTransport t;
  Reports reports;
  Delivery d(windowed(4), t.transport(), reports.report());
  auto mqtt = message("m0");
  mqtt.url = "mqtt://broker/topic";
  d.enqueue("mqtt", mqtt);
  d.enqueue("mqtt", mqtt);
  d.enqueue("mixed", message("h0"));
  auto other = message("h1");
  other.url = "http://elsewhere/";
  d.enqueue("mixed", other);
  // One each: MQTT keeps no order here, and h1 goes elsewhere than h0.
  EXPECT_EQ(t.held(), 2u);
  for (int i = 0; i < 4; ++i)
    t.answer(true);
  EXPECT_EQ(t.sent().size(), 4u);
}

TEST(DeliveryTest, AFailureInTheWindowHoldsNewOnesUntilItIsSettled) {
  HeldTransport t;
  Reports reports;
  Delivery d(windowed(3), t.transport(), reports.report());
  for (int i = 0; i < 5; ++i)
    d.enqueue("s", message(std::to_string(i)));
  EXPECT_EQ(t.answer(false), "0");
  // 1 and 2 were sent already and arrive before 0's retry; 3 waits for it.
  EXPECT_EQ(t.answer(true), "1");
  EXPECT_EQ(t.answer(true), "2");
  auto so_far = t.sent();
  EXPECT_EQ(std::count(so_far.begin(), so_far.end(), "3"), 0);
  EXPECT_EQ(t.answer(true), "0");
  EXPECT_EQ(t.answer(true), "3");
  EXPECT_EQ(t.answer(true), "4");
  EXPECT_EQ(t.sent(), (std::vector<std::string>{"0", "1", "2", "0", "3", "4"}));
  EXPECT_EQ(reports.snapshot(),
            (std::vector<std::string>{"s failed retry", "s ok final", "s ok final", "s ok final",
                                      "s ok final", "s ok final"}));
  EXPECT_EQ(d.pending(), 0u);
}

TEST(DeliveryTest, ATransportThatAnswersAtOnceStillGetsTheQueueInOrder) {
  std::vector<std::string> sent;
  Reports reports;
  Delivery d(
      windowed(4),
      [&sent](const std::string&, const Delivery::Message& m,
              std::function<void(Delivery::Result)> done) {
        sent.push_back(m.body);
        done(Delivery::Result{true, 204, ""});
      },
      reports.report());
  std::vector<std::string> expected;
  for (int i = 0; i < 100; ++i) {
    d.enqueue("s", message(std::to_string(i)));
    expected.push_back(std::to_string(i));
  }
  EXPECT_EQ(sent, expected);
  EXPECT_EQ(d.pending(), 0u);
  EXPECT_EQ(reports.snapshot().size(), 100u);
}

}  // namespace
}  // namespace tsunagu::engine
