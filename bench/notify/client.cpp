#include "client.hpp"

#include <sys/epoll.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <vector>

#include "net.hpp"

namespace tsunagu::notify_bench {
namespace {

// Longest wait without looking at the source again (a closed-loop source ends by the clock).
constexpr int64_t kMaxWaitNs = 100'000'000;

struct Conn {
  int fd = -1;
  std::string in;
  bool busy = false;
  uint64_t id = 0;
};

}  // namespace

bool drive(uint16_t port, int connections, Source& source, std::string& error) {
  // Wake-ups on time: the default timer slack (50 µs) would bunch a 10,000/s schedule.
  prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
  std::vector<Conn> conns(static_cast<size_t>(std::max(connections, 1)));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  // Least recently used first, so that at a low rate every connection still carries requests
  // (the broker closes a connection that sends nothing for a while).
  std::deque<size_t> free_conns;
  auto close_all = [&] {
    for (Conn& c : conns) {
      if (c.fd >= 0) close(c.fd);
    }
    close(ep);
  };
  auto open = [&](size_t i) {
    conns[i].fd = connect_loopback(port);
    if (conns[i].fd < 0) {
      error = "cannot connect to 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
      return false;
    }
    conns[i].in.clear();
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
    return true;
  };
  for (size_t i = 0; i < conns.size(); ++i) {
    if (!open(i)) {
      close_all();
      return false;
    }
    free_conns.push_back(i);
  }

  size_t in_flight = 0;
  std::string request;
  epoll_event events[256];
  char buf[64 << 10];
  while (true) {
    int64_t now = now_ns();
    int64_t wake = kNever;
    while (!free_conns.empty()) {
      uint64_t id = 0;
      request.clear();
      if (!source.next(now, request, id, wake)) break;
      Conn& c = conns[free_conns.front()];
      free_conns.pop_front();
      if (!write_all(c.fd, request)) {
        error = std::string("writing a request failed: ") + std::strerror(errno);
        close_all();
        return false;
      }
      c.busy = true;
      c.id = id;
      ++in_flight;
      now = now_ns();
      source.sent(id, now);
    }
    if (in_flight == 0 && source.finished(now)) break;
    int64_t wait = wake == kNever ? kMaxWaitNs : std::clamp<int64_t>(wake - now, 0, kMaxWaitNs);
    timespec timeout{static_cast<time_t>(wait / 1'000'000'000),
                     static_cast<long>(wait % 1'000'000'000)};
    int n = epoll_pwait2(ep, events, 256, &timeout, nullptr);
    for (int i = 0; i < n; ++i) {
      size_t index = events[i].data.u64;
      Conn& c = conns[index];
      bool eof = false;
      while (true) {
        ssize_t got = read(c.fd, buf, sizeof buf);
        if (got > 0) {
          c.in.append(buf, static_cast<size_t>(got));
          if (static_cast<size_t>(got) < sizeof buf) break;
        } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        } else if (got < 0 && errno == EINTR) {
          continue;
        } else {
          eof = true;
          break;
        }
      }
      const int64_t t = now_ns();
      Framing f = frame(c.in);
      if (f.complete && c.busy) {
        std::string_view all(c.in);
        c.busy = false;
        --in_flight;
        free_conns.push_back(index);
        source.answered(c.id, response_status(all.substr(0, f.head_bytes)),
                        all.substr(f.head_bytes, f.body_bytes), t);
        c.in.erase(0, f.head_bytes + f.body_bytes);
      }
      if (eof && !c.busy && c.in.empty()) {
        // An idle connection the broker closed: open it again (it stays in the free list).
        close(c.fd);
        if (!open(index)) {
          close_all();
          return false;
        }
        continue;
      }
      if (f.malformed || eof) {
        error = eof ? "the broker closed a connection with a request in flight"
                    : "the broker sent a malformed response";
        close_all();
        return false;
      }
    }
  }
  close_all();
  return true;
}

}  // namespace tsunagu::notify_bench
