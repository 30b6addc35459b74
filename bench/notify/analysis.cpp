#include "analysis.hpp"

#include <algorithm>
#include <cmath>

namespace tsunagu::notify_bench {

int64_t percentile(const std::vector<int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  size_t rank = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::clamp<size_t>(rank, 1, sorted.size()) - 1];
}

Analysis analyse(const std::vector<Target>& targets, const UpdateLog& log,
                 const std::vector<Arrival>& arrivals, size_t subscriptions, int64_t type_sub_index,
                 int64_t window_start_ns, int64_t window_end_ns) {
  Analysis a;
  const size_t n = log.size();
  a.updates = n;
  auto ok = [&](size_t seq) { return log.status[seq] >= 200 && log.status[seq] < 300; };
  auto in_window = [&](size_t seq) {
    return log.due_ns[seq] >= window_start_ns && log.due_ns[seq] < window_end_ns;
  };
  for (size_t seq = 0; seq < n; ++seq) {
    if (!ok(seq)) {
      ++a.bad_status;
      continue;
    }
    const Target& t = targets[seq % targets.size()];
    a.expected += (t.entity_sub >= 0 ? 1 : 0) + (t.type_sub ? 1 : 0);
    if (log.acked_ns[seq] >= window_start_ns && log.acked_ns[seq] < window_end_ns) ++a.window_acked;
    if (in_window(seq)) a.lag_ns.push_back(log.sent_ns[seq] - log.due_ns[seq]);
  }

  // Receptions per update, one counter per kind of subscription.
  std::vector<uint8_t> by_entity_sub(n, 0), by_type_sub(n, 0);
  // Per subscription: the highest sequence number and the latest send time seen so far.
  std::vector<int64_t> last_seq(subscriptions, -1), latest_sent(subscriptions, 0);
  for (const Arrival& r : arrivals) {
    if (r.seq < 0 || r.sub < 0 || static_cast<size_t>(r.seq) >= n ||
        static_cast<size_t>(r.sub) >= subscriptions) {
      ++a.unreadable;
      continue;
    }
    const size_t seq = static_cast<size_t>(r.seq), sub = static_cast<size_t>(r.sub);
    if (r.t_ns >= window_start_ns && r.t_ns < window_end_ns) ++a.window_notifications;
    a.last_arrival_ns = std::max(a.last_arrival_ns, r.t_ns);
    const Target& t = targets[seq % targets.size()];
    uint8_t* count = nullptr;
    if (r.sub == type_sub_index && t.type_sub) {
      count = &by_type_sub[seq];
    } else if (r.sub == t.entity_sub) {
      count = &by_entity_sub[seq];
    } else {
      ++a.misdirected;
      continue;
    }
    if (*count > 0) {
      ++a.duplicates;
    } else {
      ++a.delivered;
      if (in_window(seq)) a.latency_ns.push_back(r.t_ns - log.due_ns[seq]);
    }
    if (*count < 255) ++*count;
    if (log.acked_ns[seq] != 0 && log.acked_ns[seq] < latest_sent[sub]) ++a.out_of_order;
    latest_sent[sub] = std::max(latest_sent[sub], log.sent_ns[seq]);
    if (r.seq < last_seq[sub]) ++a.seq_inversions;
    last_seq[sub] = std::max(last_seq[sub], r.seq);
  }
  std::sort(a.latency_ns.begin(), a.latency_ns.end());
  std::sort(a.lag_ns.begin(), a.lag_ns.end());
  return a;
}

}  // namespace tsunagu::notify_bench
