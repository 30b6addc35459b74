#include "engine/delivery.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "common/metrics.hpp"
#include "common/time.hpp"

namespace tsunagu::engine {
namespace {

metrics::Counter& outcomes(const char* result) {
  static auto& family = metrics::registry().counter(
      "tsunagu_notifications_total",
      "Notifications that left their subscription's queue for good, by result: delivered, "
      "failed (out of attempts), dropped (the queue was full)",
      {"result"});
  return family.with({result});
}

metrics::Histogram& delivery_seconds() {
  static auto& h = metrics::registry()
                       .histogram("tsunagu_notification_delivery_seconds",
                                  "From a notification's queueing to its receiver's success, "
                                  "retries and the wait behind earlier ones included",
                                  {})
                       .with({});
  return h;
}

}  // namespace

struct Delivery::State : std::enable_shared_from_this<Delivery::State> {
  using MessagePtr = std::shared_ptr<const Message>;
  struct Queue {
    uint64_t generation = 0;         // a forgotten and re-created queue is another queue
    std::deque<MessagePtr> waiting;  // front: the one being sent or waiting for its retry
    std::deque<int64_t> queued_at;   // beside `waiting`: when each was queued
    bool busy = false;
    int attempts = 0;  // of the front message
  };
  struct Due {
    std::string key;
    uint64_t generation;
  };

  State(Options o, Transport t, Report r, Attempt a)
      : options(o), transport(std::move(t)), report(std::move(r)), attempt(std::move(a)) {}

  // Sends the front message of `key`'s queue. Not under mu.
  void send(const std::string& key, uint64_t generation, MessagePtr m) {
    std::weak_ptr<State> weak = shared_from_this();
    if (attempt) attempt(key);
    transport(*m, [weak, key, generation](Result r) {
      if (auto self = weak.lock()) self->on_result(key, generation, std::move(r));
    });
  }

  int64_t backoff(int attempts) const {
    int64_t pause = options.first_retry_us;
    for (int i = 1; i < attempts && pause < options.max_retry_us; ++i)
      pause *= 2;
    return std::min(pause, options.max_retry_us);
  }

  void on_result(const std::string& key, uint64_t generation, Result r) {
    MessagePtr next;
    bool final = true;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      auto it = queues.find(key);
      if (it == queues.end() || it->second.generation != generation) return;  // forgotten
      Queue& q = it->second;
      if (!r.ok && ++q.attempts < options.max_attempts) {
        final = false;
        timers.emplace(steady_us() + backoff(q.attempts), Due{key, generation});
        cv.notify_all();
      } else {
        if (r.ok) {
          outcomes("delivered").inc();
          delivery_seconds().observe(static_cast<double>(steady_us() - q.queued_at.front()) / 1e6);
        } else {
          outcomes("failed").inc();
        }
        q.waiting.pop_front();
        q.queued_at.pop_front();
        --pending;
        q.attempts = 0;
        if (!q.waiting.empty()) {
          next = q.waiting.front();
        } else {
          queues.erase(it);
        }
      }
    }
    report(key, r, final);
    if (next) send(key, generation, std::move(next));
  }

  void timer_loop() {
    std::unique_lock lock(mu);
    while (!stopping) {
      if (timers.empty()) {
        cv.wait(lock);
        continue;
      }
      int64_t now = steady_us();
      auto first = timers.begin();
      if (first->first > now) {
        cv.wait_for(lock, std::chrono::microseconds(first->first - now));
        continue;
      }
      Due due = std::move(first->second);
      timers.erase(first);
      auto it = queues.find(due.key);
      if (it == queues.end() || it->second.generation != due.generation) continue;
      MessagePtr m = it->second.waiting.front();
      lock.unlock();
      send(due.key, due.generation, std::move(m));
      lock.lock();
    }
  }

  Options options;
  Transport transport;
  Report report;
  Attempt attempt;
  std::mutex mu;
  std::condition_variable cv;
  std::unordered_map<std::string, Queue> queues;
  std::multimap<int64_t, Due> timers;  // retries by due time
  uint64_t next_generation = 1;
  size_t pending = 0;
  std::atomic<uint64_t> dropped{0};
  bool stopping = false;
  std::thread timer;
};

Delivery::Delivery(Options options, Transport transport, Report report, Attempt attempt)
    : s_(std::make_shared<State>(options, std::move(transport), std::move(report),
                                 std::move(attempt))) {
  s_->timer = std::thread([s = s_.get()] { s->timer_loop(); });
}

Delivery::~Delivery() {
  stop();
}

void Delivery::stop() {
  {
    std::lock_guard lock(s_->mu);
    s_->stopping = true;
  }
  s_->cv.notify_all();
  if (s_->timer.joinable()) s_->timer.join();
}

void Delivery::enqueue(const std::string& key, Message m) {
  auto message = std::make_shared<const Message>(std::move(m));
  bool start = false, drop = false;
  uint64_t generation = 0;
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopping) return;
    auto [it, created] = s_->queues.try_emplace(key);
    State::Queue& q = it->second;
    if (created) q.generation = s_->next_generation++;
    generation = q.generation;
    if (q.waiting.size() >= std::max<size_t>(s_->options.max_pending, 2)) {
      // The front one is being sent: the oldest that is only waiting goes.
      q.waiting.erase(q.waiting.begin() + 1);
      q.queued_at.erase(q.queued_at.begin() + 1);
      --s_->pending;
      drop = true;
    }
    q.waiting.push_back(message);
    q.queued_at.push_back(steady_us());
    ++s_->pending;
    if (!q.busy) {
      q.busy = start = true;
    }
  }
  if (drop) {
    outcomes("dropped").inc();
    s_->dropped.fetch_add(1, std::memory_order_relaxed);
    s_->report(key, Result{false, 0, "dropped: the subscription's queue was full"}, true);
  }
  if (start) s_->send(key, generation, std::move(message));
}

void Delivery::forget(const std::string& key) {
  std::lock_guard lock(s_->mu);
  auto it = s_->queues.find(key);
  if (it == s_->queues.end()) return;
  s_->pending -= it->second.waiting.size();
  s_->queues.erase(it);
}

size_t Delivery::pending() const {
  std::lock_guard lock(s_->mu);
  return s_->pending;
}

uint64_t Delivery::dropped() const {
  return s_->dropped.load(std::memory_order_relaxed);
}

}  // namespace tsunagu::engine
