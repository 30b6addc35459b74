// The plain-HTTP client against real sockets: a peer in the test, written with blocking
// sockets, answers as each case needs (keep-alive, pipelined, chunked, close-delimited,
// HTTP/1.0, oversize, silent, dripping, closing with requests unanswered), and the client's
// outcomes, connection count and the order the peer saw are checked.
#include "http/http1_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "http/client_test_outcomes.hpp"

namespace tsunagu::http {
namespace {

using namespace std::chrono_literals;

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads whole requests (Content-Length framed) from a blocking socket.
class RequestReader {
 public:
  explicit RequestReader(int fd) : fd_(fd) {}
  // The next request's body; false when the peer closed.
  bool next(std::string& body) {
    while (true) {
      size_t end = buf_.find("\r\n\r\n");
      if (end != std::string::npos) {
        size_t length = 0;
        std::string head = buf_.substr(0, end);
        for (size_t at = head.find("\r\n"); at != std::string::npos;
             at = head.find("\r\n", at + 2)) {
          if (strncasecmp(head.c_str() + at + 2, "content-length:", 15) == 0)
            length = std::stoul(head.substr(at + 17));
        }
        if (buf_.size() >= end + 4 + length) {
          body = buf_.substr(end + 4, length);
          buf_.erase(0, end + 4 + length);
          return true;
        }
      }
      char chunk[4096];
      ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

 private:
  int fd_;
  std::string buf_;
};

// A loopback listener that runs `serve(fd, index)` on a thread for each connection it accepts
// (index counts from 0) and records the request bodies handlers report.
class Peer {
 public:
  using Serve = std::function<void(int fd, int index, Peer& peer)>;
  explicit Peer(Serve serve) : serve_(std::move(serve)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listen_fd_, 64), 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    acceptor_ = std::thread([this] {
      for (int index = 0;; ++index) {
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) return;
        std::lock_guard lock(mu_);
        fds_.push_back(fd);
        handlers_.emplace_back([this, fd, index] { serve_(fd, index, *this); });
      }
    });
  }
  ~Peer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    acceptor_.join();
    ::close(listen_fd_);
    std::vector<std::thread> handlers;
    {
      std::lock_guard lock(mu_);
      for (int fd : fds_)
        ::shutdown(fd, SHUT_RDWR);
      handlers.swap(handlers_);
    }
    for (auto& t : handlers)
      t.join();
    for (int fd : fds_)
      ::close(fd);
  }
  std::string url(const std::string& path = "/notify") const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }
  void saw(std::string body) {
    std::lock_guard lock(mu_);
    seen_.push_back(std::move(body));
  }
  std::vector<std::string> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  int connections() {
    std::lock_guard lock(mu_);
    return static_cast<int>(fds_.size());
  }

 private:
  Serve serve_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  std::vector<int> fds_;
  std::vector<std::thread> handlers_;
  std::vector<std::string> seen_;
};

std::string ok_with(std::string_view body) {
  return "HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
         std::string(body);
}

// Answers every request at once with its own body.
void echo(int fd, int, Peer& peer) {
  RequestReader in(fd);
  std::string body;
  while (in.next(body)) {
    peer.saw(body);
    if (!write_all(fd, ok_with(body))) return;
  }
}

Http1Client::Request post(const std::string& url, std::string body, std::string stream = "") {
  Http1Client::Request r;
  r.url = url;
  r.headers = {{"Content-Type", "application/json"}};
  r.body = std::move(body);
  r.stream = std::move(stream);
  return r;
}

TEST(Http1ClientTest, KeepAliveReusesOneConnection) {
  Peer peer(echo);
  Http1Client client;
  for (int i = 0; i < 20; ++i) {
    Outcomes got;
    ASSERT_TRUE(client.submit(post(peer.url(), "n" + std::to_string(i)), got.add()));
    auto all = got.wait(1);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_TRUE(all[0].ok()) << all[0].error;
    EXPECT_EQ(all[0].status, 200);
    EXPECT_EQ(all[0].body, "n" + std::to_string(i));
  }
  EXPECT_EQ(client.connects(), 1u);
  EXPECT_EQ(peer.connections(), 1);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(Http1ClientTest, AStreamIsPipelinedInOrderOnOneConnection) {
  constexpr int kRequests = 10;
  // Answers nothing until all ten requests arrived: they can only have come pipelined.
  Peer peer([](int fd, int, Peer& p) {
    RequestReader in(fd);
    std::string body, answers;
    for (int i = 0; i < kRequests && in.next(body); ++i) {
      p.saw(body);
      answers += ok_with(body);
    }
    write_all(fd, answers);
    echo(fd, 0, p);
  });
  Http1Client client;
  Outcomes got;
  for (int i = 0; i < kRequests; ++i)
    ASSERT_TRUE(client.submit(post(peer.url(), std::to_string(i), "sub-1"), got.add()));
  auto all = got.wait(kRequests);
  ASSERT_EQ(all.size(), static_cast<size_t>(kRequests));
  std::vector<std::string> expected;
  for (int i = 0; i < kRequests; ++i) {
    expected.push_back(std::to_string(i));
    EXPECT_TRUE(all[static_cast<size_t>(i)].ok()) << all[static_cast<size_t>(i)].error;
    EXPECT_EQ(all[static_cast<size_t>(i)].body, std::to_string(i));  // answers matched in order
  }
  EXPECT_EQ(peer.seen(), expected);
  EXPECT_EQ(peer.connections(), 1);
}

TEST(Http1ClientTest, ChunkedCloseDelimitedAndHttp10Answers) {
  Peer peer([](int fd, int index, Peer& p) {
    RequestReader in(fd);
    std::string body;
    if (index == 0) {
      // Chunked, split across writes; then a body that ends when the connection does.
      if (!in.next(body)) return;
      write_all(fd, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n");
      std::this_thread::sleep_for(20ms);
      write_all(fd, "6\r\n world\r\n0\r\n\r\n");
      if (!in.next(body)) return;
      write_all(fd, "HTTP/1.1 201 Created\r\nConnection: close\r\n\r\nuntil the end");
      ::shutdown(fd, SHUT_WR);
    } else if (index == 1) {
      if (!in.next(body)) return;
      write_all(fd, "HTTP/1.0 200 OK\r\nContent-Length: 3\r\n\r\nabc");
      // HTTP/1.0 without keep-alive: the client must not send more here.
      if (in.next(body)) p.saw("unexpected " + body);
    } else {
      echo(fd, index, p);
    }
  });
  Http1Client client;
  std::vector<std::string> bodies;
  for (const char* what : {"chunked", "close-delimited", "http/1.0", "after"}) {
    Outcomes got;
    ASSERT_TRUE(client.submit(post(peer.url(), what), got.add()));
    auto all = got.wait(1);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_TRUE(all[0].ok()) << what << ": " << all[0].error;
    bodies.push_back(all[0].body);
  }
  EXPECT_EQ(bodies, (std::vector<std::string>{"hello world", "until the end", "abc", "after"}));
  EXPECT_EQ(client.connects(), 3u);
  EXPECT_EQ(peer.seen(), std::vector<std::string>{"after"});
}

TEST(Http1ClientTest, AnOversizeAnswerIsCutOffAndTheConnectionStaysUsable) {
  Peer peer([](int fd, int, Peer& p) {
    RequestReader in(fd);
    std::string body;
    if (!in.next(body)) return;
    write_all(fd, ok_with(std::string(100000, 'x')));
    echo(fd, 0, p);
  });
  Http1Client::Options o;
  o.max_response_bytes = 100;
  Http1Client client(o);
  for (const char* expected : {"big", "small"}) {
    Outcomes got;
    ASSERT_TRUE(client.submit(post(peer.url(), "small"), got.add()));
    auto all = got.wait(1);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_TRUE(all[0].ok()) << all[0].error;
    EXPECT_EQ(all[0].body, std::string(expected) == "big" ? std::string(100, 'x') : "small");
  }
  EXPECT_EQ(client.connects(), 1u);
}

TEST(Http1ClientTest, UnansweredRequestsOfAClosedConnectionAreSentAgainInOrder) {
  // The first connection answers the first of three pipelined requests and closes; the second
  // answers whatever comes.
  Peer peer([](int fd, int index, Peer& p) {
    if (index > 0) return echo(fd, index, p);
    RequestReader in(fd);
    std::string body;
    for (int i = 0; i < 3 && in.next(body); ++i)
      p.saw(body);
    write_all(fd, ok_with("0"));
    ::shutdown(fd, SHUT_RDWR);
  });
  Http1Client client;
  Outcomes got;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(client.submit(post(peer.url(), std::to_string(i), "sub-1"), got.add()));
  auto all = got.wait(3);
  ASSERT_EQ(all.size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(all[i].ok()) << all[i].error;
    EXPECT_EQ(all[i].body, std::to_string(i));
  }
  EXPECT_EQ(peer.seen(), (std::vector<std::string>{"0", "1", "2", "1", "2"}));
  EXPECT_EQ(client.connects(), 2u);
}

TEST(Http1ClientTest, AConnectionThatClosesUnansweredTwiceFailsEveryRequestOnIt) {
  // The first two connections read three requests and close without a word.
  Peer peer([](int fd, int index, Peer& p) {
    if (index > 1) return echo(fd, index, p);
    RequestReader in(fd);
    std::string body;
    for (int i = 0; i < 3 && in.next(body); ++i)
      p.saw(body);
    ::shutdown(fd, SHUT_RDWR);
  });
  Http1Client client;
  Outcomes got;
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(client.submit(post(peer.url(), std::to_string(i), "sub-1"), got.add()));
  auto all = got.wait(3);
  ASSERT_EQ(all.size(), 3u);
  for (const auto& o : all) {
    EXPECT_EQ(o.status, 0);
    EXPECT_FALSE(o.error.empty());
  }
  EXPECT_EQ(peer.seen(), (std::vector<std::string>{"0", "1", "2", "0", "1", "2"}));
  EXPECT_EQ(client.connects(), 2u);
}

TEST(Http1ClientTest, SilentAndDrippingReceiversHoldOnlyTheirOwnRequests) {
  std::atomic<bool> done{false};
  Peer silent([&done](int fd, int, Peer&) {
    char c;
    while (!done && ::recv(fd, &c, 1, 0) > 0) {
    }
  });
  Peer dripping([&done](int fd, int, Peer&) {
    RequestReader in(fd);
    std::string body;
    if (!in.next(body)) return;
    write_all(fd, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n");
    while (!done && write_all(fd, "x"))
      std::this_thread::sleep_for(50ms);
  });
  Peer good(echo);
  Http1Client client;
  Outcomes slow, fast;
  constexpr int kTimeoutMs = 1500;
  for (Peer* p : {&silent, &dripping}) {
    for (int i = 0; i < 3; ++i) {
      auto r = post(p->url(), "slow", i == 0 ? "" : "stream-" + p->url());
      r.timeout_ms = kTimeoutMs;
      ASSERT_TRUE(client.submit(std::move(r), slow.add()));
    }
  }
  ASSERT_TRUE(client.submit(post(good.url(), "fast"), fast.add()));
  auto quick = fast.wait(1);
  ASSERT_EQ(quick.size(), 1u);
  EXPECT_TRUE(quick[0].ok()) << quick[0].error;
  auto timed_out = slow.wait(6);
  ASSERT_EQ(timed_out.size(), 6u);
  for (const auto& o : timed_out) {
    EXPECT_EQ(o.status, 0);
    EXPECT_NE(o.error.find("timed out"), std::string::npos) << o.error;
    // The one behind a timed-out one on its connection fails with it; it started a moment later.
    EXPECT_GE(o.micros, kTimeoutMs * 900);
  }
  done = true;
}

TEST(Http1ClientTest, RefusedAndUnsupportedUrlsFail) {
  Http1Client client;
  Outcomes got;
  ASSERT_TRUE(client.submit(post("http://127.0.0.1:1/x", "{}"), got.add()));
  ASSERT_TRUE(client.submit(post("https://127.0.0.1/x", "{}"), got.add()));
  auto header = post("http://127.0.0.1:1/x", "{}");
  header.headers.push_back({"X-Injected", "a\r\nHost: elsewhere"});
  ASSERT_TRUE(client.submit(std::move(header), got.add()));
  auto all = got.wait(3);
  ASSERT_EQ(all.size(), 3u);
  for (const auto& o : all) {
    EXPECT_EQ(o.status, 0);
    EXPECT_FALSE(o.error.empty());
  }
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST(Http1ClientTest, AFullQueueRefusesAndStopEndsEverything) {
  std::atomic<bool> done{false};
  Peer silent([&done](int fd, int, Peer&) {
    char c;
    while (!done && ::recv(fd, &c, 1, 0) > 0) {
    }
  });
  Http1Client::Options o;
  o.max_in_flight = 1;
  o.max_queued = 3;
  auto client = std::make_unique<Http1Client>(o);
  Outcomes got;
  auto r = post(silent.url(), "{}");
  r.timeout_ms = 60000;
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    accepted += client->submit(r, got.add()) ? 1 : 0;
  // One may already have left the queue for the connection when the rest arrive.
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 4);
  client->stop();
  auto all = got.wait(static_cast<size_t>(accepted));
  ASSERT_EQ(all.size(), static_cast<size_t>(accepted));
  for (const auto& out : all)
    EXPECT_EQ(out.error, "client stopped");
  EXPECT_FALSE(client->submit(r, got.add()));
  done = true;
}

}  // namespace
}  // namespace tsunagu::http
