// Black-box tests of the HTTP listener: a real Server on a loopback port, driven by a plain
// synchronous Beast client or raw bytes where the client must misbehave.
#include "http/server.hpp"

#include <poll.h>
#include <sched.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace tsunagu::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using ClientResponse = bhttp::response<bhttp::string_body>;

// One client connection with blocking I/O.
class Client {
 public:
  explicit Client(uint16_t port) { socket_.connect({asio::ip::make_address("127.0.0.1"), port}); }

  void send_raw(std::string_view bytes) { asio::write(socket_, asio::buffer(bytes)); }

  void shutdown() { ::shutdown(socket_.native_handle(), SHUT_RDWR); }

  // A blocking read that waits longer than this fails (read() throws) instead of hanging.
  void set_read_timeout(int seconds) {
    timeval tv{seconds, 0};
    ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }

  ClientResponse read() {
    ClientResponse res;
    bhttp::read(socket_, buffer_, res);
    return res;
  }

  ClientResponse request(bhttp::verb method, std::string target, std::string body = {},
                         std::vector<std::pair<std::string, std::string>> headers = {}) {
    bhttp::request<bhttp::string_body> req{method, target, 11};
    req.set(bhttp::field::host, "localhost");
    for (auto& [name, value] : headers)
      req.set(name, value);
    if (!body.empty()) {
      req.body() = std::move(body);
      req.prepare_payload();
    }
    bhttp::write(socket_, req);
    return read();
  }

  // Bytes up to the end of the first header block.
  std::string read_until_blank_line() {
    std::string out;
    asio::read_until(socket_, asio::dynamic_buffer(out), "\r\n\r\n");
    return out;
  }

  // Everything until the server closes (for responses the Beast parser would reject or skip).
  std::string read_to_end() {
    std::string out;
    beast::error_code ec;
    asio::read(socket_, asio::dynamic_buffer(out), ec);
    return out;
  }

  // True when the server has closed the connection; gives up after five seconds so a server that
  // wrongly keeps the connection open fails the test instead of hanging it.
  bool closed_by_server() {
    if (buffer_.size() > 0) return false;
    pollfd p{socket_.native_handle(), POLLIN, 0};
    if (::poll(&p, 1, 5000) != 1) return false;
    char c;
    return ::recv(socket_.native_handle(), &c, 1, 0) <= 0;
  }

 private:
  asio::io_context ioc_;
  tcp::socket socket_{ioc_};
  beast::flat_buffer buffer_;
};

Response echo(const Request& req) {
  Response r;
  r.content_type = "text/plain";
  r.body = req.body;
  r.add_header("X-Path", req.path);
  r.add_header("X-Method", std::string(method_name(req.method)));
  return r;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(Handler handler, ServerOptions options = {}) {
    options.bind = "127.0.0.1";
    options.port = 0;
    if (options.threads == 0) options.threads = 2;
    server_ = std::make_unique<Server>(options, std::move(handler));
    const Status st = server_->start();
    ASSERT_TRUE(st.ok()) << st.detail();
  }
  void start_echo(ServerOptions options = {}) {
    start([](Request&& req, Reply reply) { reply(echo(req)); }, options);
  }
  uint16_t port() const { return server_->port(); }
  // Runs `fn` on a helper thread (handlers call this from loop threads).
  void spawn(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(helpers_mu_);
    helpers_.emplace_back(std::move(fn));
  }

  void TearDown() override {
    // Helper threads hold Replies; they must finish before the server goes away.
    {
      std::lock_guard<std::mutex> lock(helpers_mu_);
      for (auto& t : helpers_)
        t.join();
    }
    if (server_) {
      server_->stop();
      server_->wait();
    }
  }

  std::unique_ptr<Server> server_;
  std::mutex helpers_mu_;
  std::vector<std::thread> helpers_;
};

TEST_F(ServerTest, RequestFieldsArriveAsSpecified) {
  std::promise<Request> seen;
  start([&](Request&& req, Reply reply) {
    seen.set_value(req);
    Response r;
    r.status = 201;
    r.add_header("Location", "/ngsi-ld/v1/entities/urn:x:1");
    reply(std::move(r));
  });
  Client c(port());
  auto res = c.request(bhttp::verb::post, "/ngsi-ld/v1/entities?type=Room&q=a%3D1", "{\"id\":1}",
                       {{"X-Custom", "Value"}, {"Content-Type", "application/json"}});
  Request req = seen.get_future().get();
  EXPECT_EQ(req.method, Method::kPost);
  EXPECT_EQ(req.target, "/ngsi-ld/v1/entities?type=Room&q=a%3D1");
  EXPECT_EQ(req.path, "/ngsi-ld/v1/entities");
  EXPECT_EQ(req.query, "type=Room&q=a%3D1");
  EXPECT_EQ(req.body, "{\"id\":1}");
  EXPECT_TRUE(req.body_framed);
  EXPECT_EQ(req.header("x-custom"), "Value");
  EXPECT_EQ(req.header("content-length"), "8");
  ASSERT_GE(req.headers.size(), 3u);
  EXPECT_EQ(req.headers[0].name, "host");
  EXPECT_EQ(req.headers[1].name, "x-custom");
  EXPECT_EQ(req.remote.rfind("127.0.0.1:", 0), 0u) << req.remote;
  EXPECT_GT(req.received_ns, 0);

  EXPECT_EQ(res.result_int(), 201);
  EXPECT_EQ(res[bhttp::field::location], "/ngsi-ld/v1/entities/urn:x:1");
  EXPECT_EQ(res[bhttp::field::server], "tsunagu");
  EXPECT_EQ(res[bhttp::field::content_length], "0");
  EXPECT_EQ(res.count(bhttp::field::content_type), 0u);
  EXPECT_TRUE(res.body().empty());
}

TEST_F(ServerTest, GetWithoutBodyIsUnframedAndQueryEmpty) {
  std::promise<Request> seen;
  start([&](Request&& req, Reply reply) {
    seen.set_value(req);
    reply(echo(req));
  });
  Client c(port());
  auto res = c.request(bhttp::verb::get, "/plain");
  Request req = seen.get_future().get();
  EXPECT_EQ(req.method, Method::kGet);
  EXPECT_EQ(req.path, "/plain");
  EXPECT_EQ(req.query, "");
  EXPECT_FALSE(req.body_framed);
  EXPECT_EQ(res[bhttp::field::content_type], "text/plain");
  EXPECT_EQ(res[bhttp::field::content_length], "0");
}

TEST_F(ServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  std::mutex mu;
  std::vector<std::string> remotes;
  start([&](Request&& req, Reply reply) {
    std::lock_guard<std::mutex> lock(mu);
    remotes.push_back(req.remote);
    reply(echo(req));
  });
  Client c(port());
  const std::pair<bhttp::verb, std::string> calls[] = {
      {bhttp::verb::get, "GET"},         {bhttp::verb::put, "PUT"},
      {bhttp::verb::patch, "PATCH"},     {bhttp::verb::delete_, "DELETE"},
      {bhttp::verb::options, "OPTIONS"}, {bhttp::verb::propfind, "OTHER"}};
  int i = 0;
  for (const auto& [verb, name] : calls) {
    auto res = c.request(verb, "/r" + std::to_string(i), "body" + std::to_string(i));
    EXPECT_EQ(res.result_int(), 200);
    EXPECT_EQ(res["X-Method"], name);
    EXPECT_EQ(res.body(), "body" + std::to_string(i));
    ++i;
  }
  std::lock_guard<std::mutex> lock(mu);
  ASSERT_EQ(remotes.size(), 6u);
  for (const auto& r : remotes)
    EXPECT_EQ(r, remotes[0]);  // same client port: one connection
}

// Bodies around the read buffer's sizes (4 KiB kept, up to 256 KiB more for a large body), sent
// back to back in one stream, so that the bytes of the next requests are already buffered when a
// large body's buffer is given back: every body must arrive whole and in order.
TEST_F(ServerTest, PipelinedBodiesOfEverySizeArriveWhole) {
  start_echo();
  const size_t sizes[] = {0, 10, 4095, 4096, 5000, 300000, 3, 262144, 262145, 70000, 1};
  std::string stream;
  std::vector<std::string> bodies;
  for (size_t i = 0; i < std::size(sizes); ++i) {
    std::string body(sizes[i], '\0');
    for (size_t j = 0; j < body.size(); ++j)
      body[j] = static_cast<char>('a' + (i * 7 + j * 13) % 26);
    stream += "POST /p" + std::to_string(i) +
              " HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
              "\r\n\r\n" + body;
    bodies.push_back(std::move(body));
  }
  Client c(port());
  c.set_read_timeout(10);
  // Another thread writes while this one reads: neither side's socket buffer can hold it all.
  std::thread writer([&] {
    try {
      c.send_raw(stream);
    } catch (const std::exception&) {  // the reader failed and shut the socket down
    }
  });
  try {
    for (size_t i = 0; i < bodies.size(); ++i) {
      auto res = c.read();
      EXPECT_EQ(res.result_int(), 200);
      EXPECT_EQ(res["X-Path"], "/p" + std::to_string(i));
      EXPECT_EQ(res.body().size(), bodies[i].size()) << "request " << i;
      EXPECT_TRUE(res.body() == bodies[i]) << "request " << i;
    }
  } catch (const std::exception& e) {
    ADD_FAILURE() << "reading the responses: " << e.what();
    c.shutdown();
  }
  writer.join();
}

TEST_F(ServerTest, ReplyFromAnotherThreadAndSecondCallIgnored) {
  start([&](Request&& req, Reply reply) {
    if (req.path == "/now") return reply(echo(req));
    spawn([reply, body = req.body] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      Response first;
      first.body = "first:" + body;
      reply(std::move(first));
      Response second;
      second.body = "second";
      reply(std::move(second));
    });
  });
  Client c(port());
  auto res = c.request(bhttp::verb::post, "/later", "x");
  EXPECT_EQ(res.body(), "first:x");
  // Had the second call been written, this would read "second" instead of its own answer.
  auto next = c.request(bhttp::verb::post, "/now", "y");
  EXPECT_EQ(next.body(), "y");
}

// The writer's case: a handler leaves its request to the idle hook and asks for the hook within
// 20 ms; the hook answers only requests that waited that long. Nothing else wakes the loop after
// its first, too early, idle call: only the timer call_idle_within sets can get the answer out.
TEST_F(ServerTest, IdleHookRunsWithinTheDelayAskedFor) {
  using Clock = std::chrono::steady_clock;
  constexpr auto kDelay = std::chrono::milliseconds(20);
  std::mutex mu;
  std::vector<std::pair<Reply, Clock::time_point>> waiting;
  int idle_calls = 0;
  ServerOptions o;
  o.threads = 1;
  o.shutdown_grace_s = 1;  // on failure, stopping cuts the request that waits
  o.idle = [&] {
    std::lock_guard<std::mutex> lock(mu);
    ++idle_calls;
    bool answered = false;
    for (auto it = waiting.begin(); it != waiting.end();) {
      if (Clock::now() - it->second < kDelay) {
        ++it;
        continue;
      }
      Response r;
      r.body = "after the delay";
      it->first(std::move(r));
      it = waiting.erase(it);
      answered = true;
    }
    return answered;
  };
  start(
      [&](Request&&, Reply reply) {
        {
          std::lock_guard<std::mutex> lock(mu);
          waiting.emplace_back(std::move(reply), Clock::now());
        }
        Server::call_idle_within(kDelay);
      },
      o);
  auto answer = std::async(std::launch::async, [&] {
    Client c(port());
    return c.request(bhttp::verb::get, "/wait").body();
  });
  // The hook refers to this function's locals: the server ends here, before they do (which
  // also frees the client thread before `answer` is destroyed if no answer came).
  const bool answered = answer.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  server_->stop();
  server_->wait();
  {
    std::lock_guard<std::mutex> lock(mu);
    waiting.clear();  // an unanswered Reply must go while its server is still there
  }
  server_.reset();
  ASSERT_TRUE(answered) << "the idle hook never ran after the delay";
  EXPECT_EQ(answer.get(), "after the delay");
  EXPECT_GE(idle_calls, 2);
}

TEST_F(ServerTest, HandlerExceptionBecomesInternalError) {
  start([](Request&&, Reply) { throw std::runtime_error("boom"); });
  Client c(port());
  auto res = c.request(bhttp::verb::get, "/");
  EXPECT_EQ(res.result_int(), 500);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_NE(res.body().find("unexpected error: boom"), std::string::npos) << res.body();
}

TEST_F(ServerTest, BodyOverLimitIs413ProblemDetails) {
  ServerOptions o;
  o.max_body_bytes = 1000;
  std::atomic<bool> called{false};
  start(
      [&](Request&&, Reply reply) {
        called = true;
        reply(Response{});
      },
      o);
  Client c(port());
  auto res = c.request(bhttp::verb::post, "/", std::string(5000, 'a'));
  EXPECT_EQ(res.result_int(), 413);
  EXPECT_EQ(res[bhttp::field::content_type], "application/json");
  EXPECT_NE(res.body().find("\"status\":413"), std::string::npos) << res.body();
  EXPECT_NE(res.body().find("1000 bytes"), std::string::npos) << res.body();
  EXPECT_TRUE(c.closed_by_server());

  // Chunked: the limit is only found while reading the body.
  Client chunked(port());
  chunked.send_raw("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nBB8\r\n" +
                   std::string(3000, 'b') + "\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read().result_int(), 413);
  EXPECT_FALSE(called);
}

TEST_F(ServerTest, HeaderOverLimitIs431) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  start_echo(o);
  Client c(port());
  c.send_raw("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(4000, 'a') + "\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 431);
  EXPECT_NE(res.body().find("1024 bytes"), std::string::npos) << res.body();
  EXPECT_TRUE(c.closed_by_server());
}

// The whole request arrives in one read, the request line's end beyond the limit with it: the
// target is what did not fit (414), not the header fields (431).
TEST_F(ServerTest, TargetOverLimitIs414AlsoWhenTheWholeHeaderArrivesAtOnce) {
  ServerOptions o;
  o.max_header_bytes = 1024;
  start_echo(o);
  Client c(port());
  c.send_raw("GET /" + std::string(2000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 414);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, MalformedRequestsAre400) {
  start_echo();
  for (const std::string& bad : std::vector<std::string>{
           "this is not http\r\n\r\n", "GET / HTTP/1.1\r\nNo colon here\r\n\r\n",
           std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 15)}) {
    Client c(port());
    c.send_raw(bad);
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_NE(res.body().find("InvalidRequest"), std::string::npos) << res.body();
    EXPECT_TRUE(c.closed_by_server());
  }
}

// Issue 14: both were accepted. Two Host lines let a proxy and the server disagree on the
// target (RFC 9112 §3.2: 400); a transfer coding other than chunked would be read as if the
// body were not encoded (§6.1: 501).
TEST_F(ServerTest, TwoHostHeadersAre400AndUnknownTransferCodings501) {
  start_echo();
  {
    Client c(port());
    c.send_raw("GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 400);
    EXPECT_NE(res.body().find("one Host header"), std::string::npos) << res.body();
    EXPECT_TRUE(c.closed_by_server());
  }
  for (const char* te : {"gzip, chunked", "gzip", "x-custom , chunked"}) {
    Client c(port());
    c.send_raw(std::string("POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ") + te +
               "\r\n\r\n0\r\n\r\n");
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 501) << te;
    EXPECT_NE(res.body().find("Transfer-Encoding"), std::string::npos) << res.body();
    EXPECT_TRUE(c.closed_by_server());
  }
  Client ok(port());
  ok.send_raw(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n");
  EXPECT_EQ(ok.read().result_int(), 200);
}

TEST_F(ServerTest, ExpectContinueGets100BeforeTheBody) {
  start_echo();
  Client c(port());
  c.send_raw("PUT /e HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n");
  EXPECT_EQ(c.read_until_blank_line(), "HTTP/1.1 100 Continue\r\n\r\n");
  c.send_raw("hello");
  auto res = c.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "hello");
}

TEST_F(ServerTest, HeadAnnouncesLengthWithoutBody) {
  start([](Request&&, Reply reply) {
    Response r;
    r.content_type = "text/plain";
    r.body = "hello";
    reply(std::move(r));
  });
  Client c(port());
  c.send_raw("HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string all = c.read_to_end();
  EXPECT_NE(all.find("Content-Length: 5\r\n"), std::string::npos) << all;
  EXPECT_EQ(all.substr(all.size() - 4), "\r\n\r\n") << all;
}

TEST_F(ServerTest, Http10AndConnectionCloseCloseAfterResponse) {
  start_echo();
  Client old(port());
  old.send_raw("GET /a HTTP/1.0\r\n\r\n");
  EXPECT_EQ(old.read().result_int(), 200);
  EXPECT_TRUE(old.closed_by_server());

  Client c(port());
  auto res = c.request(bhttp::verb::get, "/b", {}, {{"Connection", "close"}});
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, IdleConnectionTimesOut) {
  ServerOptions o;
  o.idle_timeout_s = 1;
  start_echo(o);
  Client c(port());
  EXPECT_EQ(c.request(bhttp::verb::get, "/a").result_int(), 200);
  EXPECT_TRUE(c.closed_by_server());  // idle after its first request
}

// Issue 14: sockets that never send a request held descriptors for the whole idle timeout;
// 1,100 of them locked every client out.
TEST_F(ServerTest, ANewConnectionThatSendsNothingIsClosedAfterTheHeaderTimeout) {
  ServerOptions o;
  o.header_timeout_s = 1;
  o.idle_timeout_s = 3600;
  start_echo(o);
  Client c(port());
  EXPECT_TRUE(c.closed_by_server());
}

TEST_F(ServerTest, ConnectionsBeyondTheLimitsAre503AndClosed) {
  ServerOptions o;
  o.max_connections_per_client = 2;
  start_echo(o);
  auto a = std::make_unique<Client>(port());
  auto b = std::make_unique<Client>(port());
  EXPECT_EQ(a->request(bhttp::verb::get, "/a").result_int(), 200);
  EXPECT_EQ(b->request(bhttp::verb::get, "/b").result_int(), 200);
  {
    Client c(port());
    auto res = c.read();
    EXPECT_EQ(res.result_int(), 503);
    EXPECT_NE(res.body().find("limit for one address"), std::string::npos) << res.body();
    EXPECT_TRUE(c.closed_by_server());
  }
  a.reset();  // its slot comes back once the server has seen the close
  bool admitted = false;
  for (int i = 0; i < 100 && !admitted; ++i) {
    Client d(port());
    admitted = d.request(bhttp::verb::get, "/d").result_int() == 200;
    if (!admitted) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(admitted);
  EXPECT_EQ(b->request(bhttp::verb::get, "/b2").result_int(), 200);  // the others stay open
}

TEST_F(ServerTest, TheTotalConnectionLimitHolds) {
  ServerOptions o;
  o.max_connections = 3;
  start_echo(o);
  std::vector<std::unique_ptr<Client>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<Client>(port()));
    EXPECT_EQ(open.back()->request(bhttp::verb::get, "/x").result_int(), 200);
  }
  Client extra(port());
  auto res = extra.read();
  EXPECT_EQ(res.result_int(), 503);
  EXPECT_NE(res.body().find("its limit"), std::string::npos) << res.body();
}

TEST_F(ServerTest, PortZeroPicksAPortAndABusyPortFailsToStart) {
  start_echo();
  ASSERT_NE(port(), 0);
  EXPECT_EQ(server_->threads(), 2);
  ServerOptions o;
  o.bind = "127.0.0.1";
  o.port = port();
  Server second(o, [](Request&&, Reply) {});
  const Status st = second.start();
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("cannot listen on 127.0.0.1:" + std::to_string(port())),
            std::string::npos)
      << st.detail();
}

TEST(ServerThreads, ZeroMeansTheCpusInTheAffinityMask) {
  cpu_set_t set;
  CPU_ZERO(&set);
  ASSERT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  Server s(ServerOptions{}, [](Request&&, Reply) {});
  EXPECT_EQ(s.threads(), CPU_COUNT(&set));
}

TEST_F(ServerTest, StopWaitsForTheResponseOfASlowRequest) {
  std::promise<void> entered;
  std::atomic<bool> replied{false};
  ServerOptions o;
  o.shutdown_grace_s = 30;
  start(
      [&](Request&& req, Reply reply) {
        if (req.path != "/slow") return reply(echo(req));
        spawn([&, reply] {
          std::this_thread::sleep_for(std::chrono::milliseconds(300));
          replied = true;
          Response r;
          r.body = "slow";
          reply(std::move(r));
        });
        entered.set_value();
      },
      o);
  Client busy(port());
  Client idle(port());
  EXPECT_EQ(idle.request(bhttp::verb::get, "/idle").result_int(), 200);
  busy.send_raw("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
  entered.get_future().get();
  server_->stop();
  EXPECT_TRUE(replied);
  auto res = busy.read();
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res.body(), "slow");
  EXPECT_TRUE(idle.closed_by_server());
  EXPECT_THROW(Client late(port()), boost::system::system_error);
}

TEST_F(ServerTest, ManyConcurrentConnectionsAreAllAnswered) {
  ServerOptions o;
  o.threads = 4;
  start_echo(o);
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 50; ++t) {
    clients.emplace_back([&, t] {
      try {
        Client c(port());
        for (int i = 0; i < 20; ++i) {
          const std::string body = std::to_string(t) + "-" + std::to_string(i);
          auto res = c.request(bhttp::verb::post, "/load", body);
          if (res.result_int() == 200 && res.body() == body) ++answered;
        }
      } catch (const std::exception&) {
        // Counted as missing answers below.
      }
    });
  }
  for (auto& t : clients)
    t.join();
  EXPECT_EQ(answered.load(), 50 * 20);
}

}  // namespace
}  // namespace tsunagu::http
