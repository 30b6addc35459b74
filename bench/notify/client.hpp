// The request side of tsunagu-notify-bench: keep-alive connections to the broker, one request
// in flight on each, fed by a Source that says which request goes next and when. One thread
// (the caller's), epoll, waits with nanosecond timeouts, so an open-loop source can send at its
// scheduled times: a request whose time has come waits only for a free connection, and the
// source sees both the time it wanted and the time it got.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace tsunagu::notify_bench {

constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

class Source {
 public:
  virtual ~Source() = default;
  // A connection is free at `now`. Either writes the next request to `out`, its id to `id` and
  // returns true, or returns false and sets `wake_ns` to when the next one is due (kNever:
  // none will be until an answer comes, or ever).
  virtual bool next(int64_t now, std::string& out, uint64_t& id, int64_t& wake_ns) = 0;
  // Request `id` was written to its connection at `now`.
  virtual void sent(uint64_t id, int64_t now) {}
  // Its response arrived.
  virtual void answered(uint64_t id, int status, std::string_view body, int64_t now) = 0;
  // No request will come any more: the run ends once the last answer is in.
  virtual bool finished(int64_t now) const = 0;
};

// Runs `source` to its end over `connections` connections to 127.0.0.1:port. False with
// `error` set when a connection cannot be made or the broker closes one.
bool drive(uint16_t port, int connections, Source& source, std::string& error);

}  // namespace tsunagu::notify_bench
