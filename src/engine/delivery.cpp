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
  struct Entry {
    MessagePtr message;
    int64_t queued_at = 0;
    uint64_t seq = 0;      // its number in its queue, to match its result
    int attempts = 0;      // failed sends so far
    bool waiting = false;  // failed, and waiting to be sent again
    bool due = false;      // ... and its pause is over
  };
  struct Queue {
    uint64_t generation = 0;  // a forgotten and re-created queue is another queue
    // In queueing order. The first `started` are sent and unanswered or waiting for a retry;
    // the rest wait for their turn.
    std::deque<Entry> entries;
    size_t started = 0;
    size_t retrying = 0;  // started ones that failed and are not settled: nothing new starts
    uint64_t next_seq = 0;
    bool pumping = false;  // a thread is handing this queue's messages to the transport
    bool paced = false;    // waiting for its pace group's rate (a timer of kPaced is due)
  };
  // The Due::seq of a paced queue's timer.
  static constexpr uint64_t kPaced = UINT64_MAX;
  struct Due {
    std::string key;
    uint64_t generation;
    uint64_t seq;
  };
  struct Send {
    uint64_t seq;
    MessagePtr message;
  };

  State(Options o, Transport t, Report r, Attempt a)
      : options(std::move(o)),
        transport(std::move(t)),
        report(std::move(r)),
        attempt(std::move(a)) {}

  int64_t backoff(int attempts) const {
    int64_t pause = options.first_retry_us;
    for (int i = 1; i < attempts && pause < options.max_retry_us; ++i)
      pause *= 2;
    return std::min(pause, options.max_retry_us);
  }

  // Whether `q`'s next waiting message may start now. Under mu.
  bool may_start(const Queue& q) const {
    if (q.started >= q.entries.size() || q.retrying > 0 || q.paced) return false;
    if (q.started == 0) return true;
    if (q.started >= options.window || !options.keeps_order) return false;
    const Message& next = *q.entries[q.started].message;
    const Message& first = *q.entries.front().message;
    return next.url == first.url && options.keeps_order(next) && options.keeps_order(first);
  }

  // Hands `key`'s messages that may go to the transport, in order: retries that are due, then
  // new ones while the window has room. One thread at a time per queue, so the transport gets
  // them in order even when several threads enqueue at once; the others leave it to that one.
  // Not under mu.
  void pump(const std::string& key) {
    std::unique_lock lock(mu);
    auto it = queues.find(key);
    if (stopping || it == queues.end() || it->second.pumping) return;
    it->second.pumping = true;
    std::weak_ptr<State> weak = shared_from_this();
    while (true) {
      Queue& q = it->second;
      uint64_t generation = q.generation;
      std::vector<Send> batch;
      // Retries in queue order: one whose pause is not over holds those behind it.
      for (size_t i = 0; i < q.started; ++i) {
        Entry& e = q.entries[i];
        if (!e.waiting) continue;
        if (!e.due) break;
        e.waiting = e.due = false;
        batch.push_back({e.seq, e.message});
      }
      while (may_start(q)) {
        const Entry& e = q.entries[q.started];
        if (options.pace && !e.message->pace_group.empty()) {
          if (int64_t wait_us = options.pace(e.message->pace_group); wait_us > 0) {
            q.paced = true;
            timers.emplace(steady_us() + wait_us, Due{key, generation, kPaced});
            cv.notify_all();
            break;
          }
        }
        ++q.started;
        batch.push_back({e.seq, e.message});
      }
      if (batch.empty()) {
        q.pumping = false;
        if (q.entries.empty()) queues.erase(it);
        return;
      }
      lock.unlock();
      for (auto& send : batch) {
        if (attempt) attempt(key);
        transport(key, *send.message, [weak, key, generation, seq = send.seq](Result r) {
          if (auto self = weak.lock()) self->on_result(key, generation, seq, std::move(r));
        });
      }
      lock.lock();
      it = queues.find(key);
      // Stopped, or forgotten meanwhile: a queue under this key now is another's to pump.
      if (stopping || it == queues.end() || it->second.generation != generation) return;
    }
  }

  void on_result(const std::string& key, uint64_t generation, uint64_t seq, Result r) {
    bool final = true;
    {
      std::lock_guard lock(mu);
      if (stopping) return;
      auto it = queues.find(key);
      if (it == queues.end() || it->second.generation != generation) return;  // forgotten
      Queue& q = it->second;
      auto e = std::find_if(q.entries.begin(), q.entries.begin() + q.started,
                            [seq](const Entry& x) { return x.seq == seq; });
      if (e == q.entries.begin() + q.started) return;
      if (!r.ok && e->attempts + 1 < options.max_attempts) {
        final = false;
        if (e->attempts++ == 0) ++q.retrying;
        e->waiting = true;
        timers.emplace(steady_us() + backoff(e->attempts), Due{key, generation, seq});
        cv.notify_all();
      } else {
        if (r.ok) {
          outcomes("delivered").inc();
          delivery_seconds().observe(static_cast<double>(steady_us() - e->queued_at) / 1e6);
        } else {
          outcomes("failed").inc();
        }
        if (e->attempts > 0) --q.retrying;
        q.entries.erase(e);
        --q.started;
        --pending;
        if (q.entries.empty() && !q.pumping) queues.erase(it);
      }
    }
    report(key, r, final);
    if (final) pump(key);
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
      Queue& q = it->second;
      if (due.seq == kPaced) q.paced = false;
      for (size_t i = 0; i < q.started; ++i) {
        if (q.entries[i].seq == due.seq) q.entries[i].due = true;
      }
      lock.unlock();
      pump(due.key);
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
  bool drop = false;
  {
    std::lock_guard lock(s_->mu);
    if (s_->stopping) return;
    auto [it, created] = s_->queues.try_emplace(key);
    State::Queue& q = it->second;
    if (created) q.generation = s_->next_generation++;
    if (q.entries.size() >= s_->options.max_pending && q.started < q.entries.size()) {
      // The started ones are with the transport: the oldest that is only waiting goes.
      q.entries.erase(q.entries.begin() + static_cast<std::ptrdiff_t>(q.started));
      --s_->pending;
      drop = true;
    }
    q.entries.push_back({std::move(message), steady_us(), q.next_seq++});
    ++s_->pending;
  }
  if (drop) {
    outcomes("dropped").inc();
    s_->dropped.fetch_add(1, std::memory_order_relaxed);
    s_->report(key, Result{false, 0, "dropped: the subscription's queue was full"}, true);
  }
  s_->pump(key);
}

void Delivery::forget(const std::string& key) {
  std::lock_guard lock(s_->mu);
  auto it = s_->queues.find(key);
  if (it == s_->queues.end()) return;
  s_->pending -= it->second.entries.size();
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
