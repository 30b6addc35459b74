// What tsunagu-notify-bench concludes from a run: the updates it sent (when each was due, sent
// and answered) against the notifications the receiver logged. Latency is counted from the
// time an update was due (its scheduled time in an open-loop run, its send time in a closed
// one), so a broker that falls behind the schedule shows it in the latency instead of hiding it
// by slowing the sender (coordinated omission).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "receiver.hpp"

namespace tsunagu::notify_bench {

// One line of the updates file: the entity an update goes to and what it should notify.
struct Target {
  std::string path;         // PATCH target
  int64_t entity_sub = -1;  // the per-entity subscription on this entity, -1 when none
  bool type_sub = false;    // the per-type subscription covers the entity
};

// Per update, indexed by sequence number.
struct UpdateLog {
  std::vector<int64_t> due_ns, sent_ns, acked_ns;
  std::vector<uint16_t> status;  // 0 until answered
  size_t size() const { return due_ns.size(); }
};

struct Analysis {
  // Updates.
  uint64_t updates = 0;       // sent, warm-up included
  uint64_t bad_status = 0;    // answered outside 2xx
  uint64_t window_acked = 0;  // 2xx answers that arrived within the measured window
  // Notifications, over every update answered 2xx (warm-up included).
  uint64_t expected = 0;
  uint64_t delivered = 0;    // (subscription, update) pairs received at least once
  uint64_t duplicates = 0;   // receptions beyond the first of a pair
  uint64_t misdirected = 0;  // from a subscription that should not fire for that update
  uint64_t unreadable = 0;   // no sequence number or subscription found in the body
  // A subscription's notification arriving after one of an update that was sent only after
  // this one had been answered: an order the broker had to keep and did not.
  uint64_t out_of_order = 0;
  // A subscription's notification with a lower sequence number than the one before it. Updates
  // in flight together may be committed in either order, so these are not faults.
  uint64_t seq_inversions = 0;
  uint64_t window_notifications = 0;  // arrived within the measured window
  // Latency of each first reception of an update due within the window, in nanoseconds.
  std::vector<int64_t> latency_ns;
  std::vector<int64_t> lag_ns;  // sent minus due, updates due within the window
  int64_t last_arrival_ns = 0;
};

// `window_*`: the measured part of the run; updates due before it are warm-up. `type_sub_index`:
// the per-type subscription's number, -1 when there is none.
Analysis analyse(const std::vector<Target>& targets, const UpdateLog& log,
                 const std::vector<Arrival>& arrivals, size_t subscriptions, int64_t type_sub_index,
                 int64_t window_start_ns, int64_t window_end_ns);

// The p-th percentile (0-100) of sorted values, nearest rank; 0 when empty.
int64_t percentile(const std::vector<int64_t>& sorted, double p);

}  // namespace tsunagu::notify_bench
