// The MQTT client against a real Mosquitto (/usr/sbin/mosquitto, started by each test on a free
// loopback port; the tests skip when it is not installed) and against sockets that refuse or
// never answer: publishes arrive with their QoS and protocol version, a broker that never
// answers or is down costs each publish its timeout and delays nobody else, wrong credentials
// fail at once, a restarted broker is reconnected to, an idle connection closes and the next
// publish opens another, and the bounds and stop() end as they say.
#include "mqtt/client.hpp"

#include <arpa/inet.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace tsunagu::mqtt {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const char* kMosquitto = "/usr/sbin/mosquitto";

// Collects outcomes from the connections' threads.
class Outcomes {
 public:
  MqttClient::Done add() {
    return [this](MqttClient::Outcome&& o) {
      std::lock_guard lock(mu_);
      all_.push_back(std::move(o));
      cv_.notify_all();
    };
  }
  // Waits until `n` outcomes arrived (or 30 s passed) and returns them.
  std::vector<MqttClient::Outcome> wait(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, 30s, [&] { return all_.size() >= n; });
    return all_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<MqttClient::Outcome> all_;
};

// A listening socket: without `accept_and_hold` nothing accepts (the kernel completes
// connections into the backlog) and nothing is ever answered.
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

uint16_t free_port() {
  SilentPort p;
  return p.port();
}

// A Mosquitto process on a loopback port, with a configuration of its own.
class Broker {
 public:
  // `password`: when not empty, only user "user" with this password may connect.
  explicit Broker(std::string password = "") : port_(free_port()) {
    dir_ = fs::temp_directory_path() /
           ("tsunagu-mqtt-" + std::to_string(::getpid()) + "-" + std::to_string(port_));
    fs::create_directories(dir_);
    std::ofstream conf(dir_ / "mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\n";
    if (::geteuid() == 0)
      conf << "user root\n";  // else it drops to "mosquitto", who reads nothing here
    if (password.empty()) {
      conf << "allow_anonymous true\n";
    } else {
      std::string cmd = "mosquitto_passwd -b -c '" + (dir_ / "passwd").string() + "' user '" +
                        password + "' >/dev/null 2>&1";
      EXPECT_EQ(std::system(cmd.c_str()), 0);
      conf << "allow_anonymous false\npassword_file " << (dir_ / "passwd").string() << "\n";
    }
    conf.close();
    start();
  }
  ~Broker() {
    stop();
    fs::remove_all(dir_);
  }

  void start() {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::string log = (dir_ / "log").string();
      FILE* f = std::freopen(log.c_str(), "a", stderr);
      (void)f;
      std::string conf = (dir_ / "mosquitto.conf").string();
      ::execl(kMosquitto, kMosquitto, "-c", conf.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    // Ready when it accepts a connection.
    for (int i = 0; i < 200; ++i) {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      sockaddr_in a{};
      a.sin_family = AF_INET;
      a.sin_port = htons(port_);
      a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      bool up = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
      ::close(fd);
      if (up) return;
      std::this_thread::sleep_for(25ms);
    }
    ADD_FAILURE() << "mosquitto did not start on port " << port_;
  }
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGTERM);
    ::waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }
  uint16_t port() const { return port_; }
  std::string url(const std::string& topic, const std::string& userinfo = "") const {
    return "mqtt://" + userinfo + "127.0.0.1:" + std::to_string(port_) + "/" + topic;
  }

 private:
  uint16_t port_;
  fs::path dir_;
  pid_t pid_ = -1;
};

// A subscriber on its own libmosquitto loop thread, subscribed before the constructor returns.
class Subscriber {
 public:
  struct Message {
    std::string topic, payload;
    int qos;
  };
  Subscriber(const Broker& broker, const std::string& topic, const std::string& user = "",
             const std::string& password = "") {
    m_ = mosquitto_new(nullptr, true, this);
    if (!user.empty()) mosquitto_username_pw_set(m_, user.c_str(), password.c_str());
    mosquitto_subscribe_callback_set(m_, [](mosquitto*, void* self, int, int, const int*) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard lock(s->mu_);
      s->subscribed_ = true;
      s->cv_.notify_all();
    });
    mosquitto_message_callback_set(m_, [](mosquitto*, void* self, const mosquitto_message* msg) {
      auto* s = static_cast<Subscriber*>(self);
      std::lock_guard lock(s->mu_);
      s->got_.push_back({msg->topic,
                         std::string(static_cast<const char*>(msg->payload),
                                     static_cast<size_t>(msg->payloadlen)),
                         msg->qos});
      s->cv_.notify_all();
    });
    EXPECT_EQ(mosquitto_connect(m_, "127.0.0.1", broker.port(), 60), MOSQ_ERR_SUCCESS);
    EXPECT_EQ(mosquitto_subscribe(m_, nullptr, topic.c_str(), 2), MOSQ_ERR_SUCCESS);
    mosquitto_loop_start(m_);
    std::unique_lock lock(mu_);
    EXPECT_TRUE(cv_.wait_for(lock, 10s, [&] { return subscribed_; }));
  }
  ~Subscriber() {
    mosquitto_disconnect(m_);
    mosquitto_loop_stop(m_, false);
    mosquitto_destroy(m_);
  }
  std::vector<Message> wait(size_t n, std::chrono::milliseconds d = 10s) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, d, [&] { return got_.size() >= n; });
    return got_;
  }

 private:
  mosquitto* m_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool subscribed_ = false;
  std::vector<Message> got_;
};

class MqttClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access(kMosquitto, X_OK) != 0) GTEST_SKIP() << kMosquitto << " is not installed";
  }
};

MqttClient::Publish publish(std::string url, std::string payload, int qos = 0,
                            MqttClient::Version v = MqttClient::Version::kV311) {
  MqttClient::Publish p;
  p.url = std::move(url);
  p.payload = std::move(payload);
  p.qos = qos;
  p.version = v;
  p.timeout_ms = 5000;
  return p;
}

TEST_F(MqttClientTest, PublishesArriveWithTheirQosAndVersionOverOneConnectionEach) {
  Broker broker;
  Subscriber sub(broker, "city/#");
  Outcomes got;
  MqttClient client;
  int n = 0;
  for (auto v : {MqttClient::Version::kV311, MqttClient::Version::kV5}) {
    for (int qos = 0; qos <= 2; ++qos) {
      for (int i = 0; i < 5; ++i) {
        std::string payload = "{\"n\":" + std::to_string(n++) + "}";
        ASSERT_TRUE(client.submit(
            publish(broker.url("city/bins/" + std::to_string(qos)), payload, qos, v), got.add()));
      }
    }
  }
  auto all = got.wait(30);
  ASSERT_EQ(all.size(), 30u);
  for (const auto& o : all)
    EXPECT_TRUE(o.ok()) << o.error;
  auto msgs = sub.wait(30);
  ASSERT_EQ(msgs.size(), 30u);
  // One connection per protocol version, each in order: per version, payloads rise.
  std::vector<int> seen;
  for (const auto& m : msgs) {
    int qos = m.topic.back() - '0';
    EXPECT_EQ(m.topic, "city/bins/" + std::to_string(qos));
    EXPECT_EQ(m.qos, qos);
    seen.push_back(std::stoi(m.payload.substr(5)));
  }
  std::sort(seen.begin(), seen.end());
  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(seen[static_cast<size_t>(i)], i);
  EXPECT_EQ(client.connections(), 2u);
  EXPECT_EQ(client.outstanding(), 0u);
}

TEST_F(MqttClientTest, ASilentBrokerCostsItsTimeoutAndDelaysNobody) {
  Broker broker;
  Subscriber sub(broker, "t");
  SilentPort silent;
  Outcomes slow, fast;
  MqttClient::Options o;
  o.connect_timeout_ms = 60000;  // the publish's own timeout ends it
  MqttClient client(o);
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    auto p = publish("mqtt://127.0.0.1:" + std::to_string(silent.port()) + "/t", "x", 1);
    p.timeout_ms = 1500;
    ASSERT_TRUE(client.submit(p, slow.add()));
  }
  ASSERT_TRUE(client.submit(publish(broker.url("t"), "fast", 1), fast.add()));
  auto quick = fast.wait(1);
  ASSERT_EQ(quick.size(), 1u);
  EXPECT_TRUE(quick[0].ok()) << quick[0].error;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1000ms);
  auto timed_out = slow.wait(3);
  ASSERT_EQ(timed_out.size(), 3u);
  for (const auto& out : timed_out) {
    EXPECT_NE(out.error.find("no connection to the broker within 1500 ms"), std::string::npos)
        << out.error;
    EXPECT_GE(out.micros, 1400000);
  }
  EXPECT_EQ(sub.wait(1).size(), 1u);
}

TEST_F(MqttClientTest, ABrokerThatIsDownIsTriedUntilTheTimeout) {
  Outcomes got;
  MqttClient client;
  auto p = publish("mqtt://127.0.0.1:" + std::to_string(free_port()) + "/t", "x", 1);
  p.timeout_ms = 800;
  ASSERT_TRUE(client.submit(p, got.add()));
  auto all = got.wait(1);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0].error.find("Connection refused"), std::string::npos) << all[0].error;
  EXPECT_GE(all[0].micros, 700000);
}

TEST_F(MqttClientTest, WrongCredentialsFailAtOnceAndRightOnesPass) {
  Broker broker("s3cret");
  Subscriber sub(broker, "t", "user", "s3cret");
  Outcomes got, right;
  MqttClient client;
  for (auto v : {MqttClient::Version::kV311, MqttClient::Version::kV5}) {
    ASSERT_TRUE(client.submit(publish(broker.url("t", "user:wrong@"), "no", 1, v), got.add()));
    ASSERT_TRUE(client.submit(publish(broker.url("t"), "no", 1, v), got.add()));
  }
  auto refused = got.wait(4);
  ASSERT_EQ(refused.size(), 4u);
  for (const auto& o : refused) {
    EXPECT_NE(o.error.find("the broker refused the connection"), std::string::npos) << o.error;
    EXPECT_LT(o.micros, 4000000) << "a refusal waited for the publish's timeout";
  }
  ASSERT_TRUE(client.submit(publish(broker.url("t", "user:s3cret@"), "yes", 2), right.add()));
  auto ok = right.wait(1);
  ASSERT_EQ(ok.size(), 1u);
  EXPECT_TRUE(ok[0].ok()) << ok[0].error;
  auto msgs = sub.wait(1);
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].payload, "yes");
}

TEST_F(MqttClientTest, ARestartedBrokerIsConnectedToAgain) {
  Broker broker;
  Outcomes first, during, after;
  MqttClient client;
  ASSERT_TRUE(client.submit(publish(broker.url("t"), "before", 1), first.add()));
  ASSERT_EQ(first.wait(1).size(), 1u);
  EXPECT_TRUE(first.wait(1)[0].ok());
  broker.stop();
  ASSERT_TRUE(client.submit(publish(broker.url("t"), "during", 1), during.add()));
  std::this_thread::sleep_for(500ms);
  broker.start();
  Subscriber sub(broker, "t");
  auto d = during.wait(1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_TRUE(d[0].ok()) << d[0].error;
  ASSERT_TRUE(client.submit(publish(broker.url("t"), "after", 1), after.add()));
  auto a = after.wait(1);
  ASSERT_EQ(a.size(), 1u);
  EXPECT_TRUE(a[0].ok()) << a[0].error;
  // "during" reaches the subscriber too when it subscribed before that publish went out.
  auto msgs = sub.wait(1);
  if (!msgs.empty() && msgs.back().payload == "during") msgs = sub.wait(2);
  ASSERT_GE(msgs.size(), 1u);
  EXPECT_EQ(msgs.back().payload, "after");
}

TEST_F(MqttClientTest, AnIdleConnectionClosesAndTheNextPublishOpensAnother) {
  Broker broker;
  Subscriber sub(broker, "t");
  Outcomes got;
  MqttClient::Options o;
  o.idle_close_ms = 200;
  MqttClient client(o);
  ASSERT_TRUE(client.submit(publish(broker.url("t"), "one", 1), got.add()));
  ASSERT_EQ(got.wait(1).size(), 1u);
  EXPECT_EQ(client.connections(), 1u);
  for (int i = 0; i < 100 && client.connections() != 0; ++i)
    std::this_thread::sleep_for(20ms);
  EXPECT_EQ(client.connections(), 0u);
  ASSERT_TRUE(client.submit(publish(broker.url("t"), "two", 1), got.add()));
  auto all = got.wait(2);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_TRUE(all[1].ok()) << all[1].error;
  EXPECT_EQ(client.connections(), 1u);
  auto msgs = sub.wait(2);
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].payload, "two");
}

TEST_F(MqttClientTest, ABadUrlFailsBeforeSubmitReturns) {
  MqttClient client;
  bool called = false;
  std::string error;
  EXPECT_TRUE(client.submit(publish("mqtt://h/a/+", "x"), [&](MqttClient::Outcome&& o) {
    called = true;
    error = o.error;
  }));
  EXPECT_TRUE(called);
  EXPECT_NE(error.find("wildcard"), std::string::npos) << error;
  EXPECT_EQ(client.connections(), 0u);
}

TEST_F(MqttClientTest, BoundsRefuseAndStopEndsWhatWaits) {
  SilentPort silent, other;
  MqttClient::Options o;
  o.max_queued = 3;
  o.max_connections = 1;
  Outcomes got;
  auto client = std::make_unique<MqttClient>(o);
  auto p = publish("mqtt://127.0.0.1:" + std::to_string(silent.port()) + "/t", "x", 1);
  p.timeout_ms = 60000;
  int accepted = 0;
  for (int i = 0; i < 10; ++i)
    accepted += client->submit(p, got.add()) ? 1 : 0;
  EXPECT_EQ(accepted, 3);
  EXPECT_EQ(client->outstanding(), 3u);
  auto elsewhere = publish("mqtt://127.0.0.1:" + std::to_string(other.port()) + "/t", "x");
  client->stop();
  auto all = got.wait(3);
  ASSERT_EQ(all.size(), 3u);
  for (const auto& out : all)
    EXPECT_EQ(out.error, "client stopped");
  EXPECT_FALSE(client->submit(p, got.add()));
  EXPECT_EQ(client->outstanding(), 0u);

  // One broker in use: another is refused while it is.
  Outcomes busy;
  MqttClient one(o);
  ASSERT_TRUE(one.submit(p, busy.add()));
  EXPECT_FALSE(one.submit(elsewhere, busy.add()));
}

}  // namespace
}  // namespace tsunagu::mqtt
