// The outbound client against real sockets: requests reach a real Server with their method,
// headers and body; a receiver that never answers costs its own timeout and delays nobody
// else; refused connections, a full queue and stop() each end as they say.
#include "http/client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

#include <gtest/gtest.h>

#include "http/client_test_outcomes.hpp"

#include "http/server.hpp"

namespace tsunagu::http {
namespace {

using namespace std::chrono_literals;

// A port that accepts connections (the kernel completes them) and never reads or answers.
class SilentPort {
 public:
  SilentPort() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(fd_, 16), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~SilentPort() { ::close(fd_); }
  uint16_t port() const { return port_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
};

class HttpClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions o;
    o.bind = "127.0.0.1";
    o.port = 0;
    o.threads = 1;
    server_ = std::make_unique<Server>(o, [this](Request&& req, Reply reply) {
      received_.fetch_add(1);
      Response r;
      r.status = req.path == "/gone" ? 410 : 200;
      r.body = std::string(method_name(req.method)) + " " + std::string(req.header("x-tenant")) +
               " " + req.body;
      reply(std::move(r));
    });
    ASSERT_TRUE(server_->start().ok());
  }
  void TearDown() override {
    server_->stop();
    server_->wait();
  }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(server_->port()) + path;
  }

  std::unique_ptr<Server> server_;
  std::atomic<int> received_{0};
};

TEST_F(HttpClientTest, RequestsArriveAsSent) {
  HttpClient client;
  Outcomes got;
  for (int i = 0; i < 200; ++i) {
    HttpClient::Request r;
    r.url = url("/notify");
    r.headers = {{"X-Tenant", "kobe"}, {"Content-Type", "application/json"}};
    r.body = "{\"n\":" + std::to_string(i) + "}";
    ASSERT_TRUE(client.submit(std::move(r), got.add()));
  }
  HttpClient::Request gone;
  gone.url = url("/gone");
  gone.method = "PATCH";
  ASSERT_TRUE(client.submit(std::move(gone), got.add()));
  auto all = got.wait(201);
  ASSERT_EQ(all.size(), 201u);
  int ok = 0;
  for (const auto& o : all) {
    if (o.status == 410) {
      EXPECT_FALSE(o.ok());
      EXPECT_EQ(o.body, "PATCH  ");
      continue;
    }
    EXPECT_TRUE(o.ok()) << o.error;
    EXPECT_EQ(o.body.rfind("POST kobe {\"n\":", 0), 0u) << o.body;
    ++ok;
  }
  EXPECT_EQ(ok, 200);
  EXPECT_EQ(received_.load(), 201);
  EXPECT_EQ(client.in_flight(), 0u);
}

TEST_F(HttpClientTest, ASilentReceiverCostsItsTimeoutAndDelaysNobody) {
  SilentPort silent;
  HttpClient client;
  Outcomes slow, fast;
  HttpClient::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/never";
  r.timeout_ms = 1500;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE(client.submit(r, slow.add()));
  HttpClient::Request good;
  good.url = url("/notify");
  ASSERT_TRUE(client.submit(good, fast.add()));
  auto quick = fast.wait(1);
  ASSERT_EQ(quick.size(), 1u);
  EXPECT_TRUE(quick[0].ok()) << quick[0].error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  auto timed_out = slow.wait(5);
  ASSERT_EQ(timed_out.size(), 5u);
  for (const auto& o : timed_out) {
    EXPECT_EQ(o.status, 0);
    EXPECT_FALSE(o.error.empty());
    EXPECT_GE(o.micros, 1400000);
  }
}

TEST_F(HttpClientTest, RefusedAndUnsupportedUrlsFail) {
  HttpClient client;
  Outcomes got;
  HttpClient::Request refused;  // nothing listens on port 1
  refused.url = "http://127.0.0.1:1/x";
  ASSERT_TRUE(client.submit(refused, got.add()));
  HttpClient::Request file;
  file.url = "file:///etc/passwd";
  ASSERT_TRUE(client.submit(file, got.add()));
  auto all = got.wait(2);
  ASSERT_EQ(all.size(), 2u);
  for (const auto& o : all) {
    EXPECT_EQ(o.status, 0);
    EXPECT_FALSE(o.error.empty());
    EXPECT_TRUE(o.body.empty());
  }
}

TEST_F(HttpClientTest, AFullQueueRefusesAndStopEndsWhatWaits) {
  SilentPort silent;
  HttpClient::Options o;
  o.max_in_flight = 1;
  o.max_queued = 3;
  auto client = std::make_unique<HttpClient>(o);
  Outcomes got;
  HttpClient::Request r;
  r.url = "http://127.0.0.1:" + std::to_string(silent.port()) + "/never";
  r.timeout_ms = 60000;
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    accepted += client->submit(r, got.add()) ? 1 : 0;
  // One may already have left the queue for its transfer slot when the rest arrive.
  EXPECT_GE(accepted, 3);
  EXPECT_LE(accepted, 4);
  client->stop();
  auto all = got.wait(static_cast<size_t>(accepted));
  ASSERT_EQ(all.size(), static_cast<size_t>(accepted));
  for (const auto& out : all)
    EXPECT_EQ(out.error, "client stopped");
  EXPECT_FALSE(client->submit(r, got.add()));
}

}  // namespace
}  // namespace tsunagu::http
