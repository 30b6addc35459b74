#include "receiver.hpp"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <memory>
#include <unordered_map>

#include "net.hpp"

namespace tsunagu::notify_bench {
namespace {

constexpr std::string_view kNoContent = "HTTP/1.1 204 No Content\r\n\r\n";

// The integer at the start of `text` after spaces; -1 when there is none.
int64_t leading_integer(std::string_view text) {
  while (!text.empty() && text.front() == ' ')
    text.remove_prefix(1);
  int64_t v = -1;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc() ? v : -1;
}

}  // namespace

struct Receiver::Conn {
  int fd = -1;
  std::string in;
  size_t used = 0;  // bytes of `in` already handled
};

Receiver::Receiver(std::string attribute, std::string sub_prefix)
    : attribute_key_("\"" + attribute + "\":"),
      sub_key_("\"subscriptionId\":\"" + std::move(sub_prefix)) {
  arrivals_.reserve(1 << 20);
}

Receiver::~Receiver() {
  stop();
}

bool Receiver::start(uint16_t port, std::string& error) {
  listen_fd_ = listen_loopback(port, port_);
  if (listen_fd_ < 0) {
    error = "receiver: cannot listen on 127.0.0.1:" + std::to_string(port) + ": " +
            std::strerror(errno);
    return false;
  }
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // the listening socket
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &ev);
  thread_ = std::thread([this] { loop(); });
  return true;
}

void Receiver::stop() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (listen_fd_ >= 0) close(listen_fd_);
  epoll_fd_ = listen_fd_ = -1;
}

void Receiver::handle(std::string_view body, int64_t t) {
  Arrival a;
  a.t_ns = t;
  if (size_t s = body.find(sub_key_); s != std::string_view::npos)
    a.sub = leading_integer(body.substr(s + sub_key_.size()));
  // Normalized and concise show the value inside the attribute's object; keyValues as the
  // attribute's own value.
  if (size_t at = body.find(attribute_key_); at != std::string_view::npos) {
    std::string_view rest = body.substr(at + attribute_key_.size());
    while (!rest.empty() && rest.front() == ' ')
      rest.remove_prefix(1);
    if (!rest.empty() && rest.front() == '{') {
      if (size_t v = rest.find("\"value\":"); v != std::string_view::npos)
        a.seq = leading_integer(rest.substr(v + 8));
    } else {
      a.seq = leading_integer(rest);
    }
  }
  arrivals_.push_back(a);
  received_.fetch_add(1, std::memory_order_relaxed);
}

void Receiver::loop() {
  std::unordered_map<int, std::unique_ptr<Conn>> conns;
  epoll_event events[256];
  char buf[64 << 10];
  auto drop = [&](Conn* c) {
    close(c->fd);  // also leaves the epoll set
    conns.erase(c->fd);
  };
  while (!stopping_.load(std::memory_order_relaxed)) {
    int n = epoll_wait(epoll_fd_, events, 256, 50);
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        while (true) {
          int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) break;
          set_nodelay(fd);
          auto c = std::make_unique<Conn>();
          c->fd = fd;
          epoll_event ev{};
          ev.events = EPOLLIN | EPOLLRDHUP;
          ev.data.ptr = c.get();
          epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
          conns.emplace(fd, std::move(c));
          ++connections_;
        }
        continue;
      }
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      bool closed = false;
      while (true) {
        ssize_t got = read(c->fd, buf, sizeof buf);
        if (got > 0) {
          c->in.append(buf, static_cast<size_t>(got));
          if (static_cast<size_t>(got) < sizeof buf) break;
        } else if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          break;
        } else if (got < 0 && errno == EINTR) {
          continue;
        } else {
          closed = true;
          break;
        }
      }
      const int64_t t = now_ns();
      // Every whole request in the buffer: log it and answer it, in order.
      std::string answers;
      while (true) {
        std::string_view rest(c->in.data() + c->used, c->in.size() - c->used);
        Framing f = frame(rest);
        if (f.malformed) {
          closed = true;
          break;
        }
        if (!f.complete) break;
        ++requests_;
        if (rest.substr(0, 5) == "POST ") handle(rest.substr(f.head_bytes, f.body_bytes), t);
        answers += kNoContent;
        c->used += f.head_bytes + f.body_bytes;
      }
      if (c->used == c->in.size()) {
        c->in.clear();
        c->used = 0;
      }
      if (!answers.empty() && !write_all(c->fd, answers)) closed = true;
      if (closed) drop(c);
    }
  }
  for (auto& [fd, c] : conns)
    close(fd);
}

}  // namespace tsunagu::notify_bench
