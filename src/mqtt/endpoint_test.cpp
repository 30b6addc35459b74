// The MQTT endpoint URL: every part it may hold, the defaults, and each refusal naming its part.
#include "mqtt/endpoint.hpp"

#include <gtest/gtest.h>

namespace tsunagu::mqtt {
namespace {

Endpoint must(std::string_view url) {
  auto e = parse_endpoint(url);
  EXPECT_TRUE(e.ok()) << url << ": " << e.status().detail();
  return e.ok() ? *e : Endpoint{};
}

TEST(MqttEndpoint, DefaultsAndParts) {
  Endpoint e = must("mqtt://broker.example.org/city/bins");
  EXPECT_FALSE(e.tls);
  EXPECT_EQ(e.host, "broker.example.org");
  EXPECT_EQ(e.port, 1883);
  EXPECT_FALSE(e.user);
  EXPECT_FALSE(e.password);
  EXPECT_EQ(e.topic, "city/bins");

  e = must("mqtts://broker/t");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.port, 8883);

  e = must("MQTTS://alice:s3cret@10.0.0.7:9000/a/b/c/");
  EXPECT_TRUE(e.tls);
  EXPECT_EQ(e.host, "10.0.0.7");
  EXPECT_EQ(e.port, 9000);
  EXPECT_EQ(e.user, "alice");
  EXPECT_EQ(e.password, "s3cret");
  EXPECT_EQ(e.topic, "a/b/c/");
}

TEST(MqttEndpoint, UserWithoutPasswordAndEmptyPassword) {
  Endpoint e = must("mqtt://user@127.0.0.1/ngsild-test-suite/topic");
  EXPECT_EQ(e.user, "user");
  EXPECT_FALSE(e.password);
  e = must("mqtt://user:@h/t");
  EXPECT_EQ(e.user, "user");
  EXPECT_EQ(e.password, "");
}

TEST(MqttEndpoint, PercentEscapesAreDecoded) {
  // '@' and ':' in a password must be escaped in the URL; the last '@' ends the userinfo.
  Endpoint e = must("mqtt://us%40er:p%3Aw%2Fd@h:1884/caf%C3%A9/%20x");
  EXPECT_EQ(e.user, "us@er");
  EXPECT_EQ(e.password, "p:w/d");
  EXPECT_EQ(e.topic, "caf\xC3\xA9/ x");
  e = must("mqtt://u:p@ss@h/t");
  EXPECT_EQ(e.password, "p@ss");
  EXPECT_EQ(e.host, "h");
}

TEST(MqttEndpoint, Ipv6Hosts) {
  Endpoint e = must("mqtt://[::1]:1999/t");
  EXPECT_EQ(e.host, "::1");
  EXPECT_EQ(e.port, 1999);
  e = must("mqtts://u:p@[2001:db8::5]/t");
  EXPECT_EQ(e.host, "2001:db8::5");
  EXPECT_EQ(e.port, 8883);
}

TEST(MqttEndpoint, RefusalsNameThePart) {
  struct Case {
    const char* url;
    const char* word;
  };
  for (const Case& c : {
           Case{"http://h/t", "scheme"},       Case{"mqtt:/h/t", "scheme"},
           Case{"mqtt://h", "topic"},          Case{"mqtt://h/", "topic"},
           Case{"mqtt:///t", "host"},          Case{"mqtt://u:p@/t", "host"},
           Case{"mqtt://h:/t", "port"},        Case{"mqtt://h:0/t", "port"},
           Case{"mqtt://h:65536/t", "port"},   Case{"mqtt://h:12a/t", "port"},
           Case{"mqtt://h:-1/t", "port"},      Case{"mqtt://[::1/t", "IPv6"},
           Case{"mqtt://[::1]x/t", "IPv6"},    Case{"mqtt://h/a/+/c", "wildcard"},
           Case{"mqtt://h/a/%2B", "wildcard"}, Case{"mqtt://h/a/#", "fragment"},
           Case{"mqtt://h/a?x=1", "query"},    Case{"mqtt://h/a%2", "escape"},
           Case{"mqtt://u%zz@h/t", "user"},    Case{"mqtt://u:%@h/t", "password"},
           Case{"mqtt://h/a%00b", "NUL"},
       }) {
    auto e = parse_endpoint(c.url);
    ASSERT_FALSE(e.ok()) << c.url;
    EXPECT_EQ(e.status().kind(), ErrorKind::kBadRequestData) << c.url;
    EXPECT_NE(e.status().detail().find(c.word), std::string::npos)
        << c.url << ": " << e.status().detail();
  }
}

}  // namespace
}  // namespace tsunagu::mqtt
