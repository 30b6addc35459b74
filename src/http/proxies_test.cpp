// Trusted proxies: which addresses and networks are trusted, and which client X-Forwarded-For
// names, read from its right end and never past an address that is not a trusted proxy.
#include "http/proxies.hpp"

#include <gtest/gtest.h>

namespace tsunagu::http {
namespace {

TEST(TrustedProxiesTest, AddressesAndNetworks) {
  auto p = TrustedProxies::parse(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,172.16.0.0/12");
  ASSERT_TRUE(p.ok()) << p.status().detail();
  EXPECT_TRUE(p->trusts("10.1.2.3"));
  EXPECT_TRUE(p->trusts("192.0.2.7"));
  EXPECT_FALSE(p->trusts("192.0.2.8"));
  EXPECT_TRUE(p->trusts("172.31.255.1"));
  EXPECT_FALSE(p->trusts("172.32.0.1"));
  EXPECT_TRUE(p->trusts("2001:db8:1::5"));
  EXPECT_FALSE(p->trusts("2001:db9::5"));
  EXPECT_TRUE(p->trusts("::ffff:10.9.9.9"));  // IPv4 mapped into IPv6
  EXPECT_FALSE(p->trusts("not an address"));
  EXPECT_TRUE(TrustedProxies::parse("").value().empty());
  for (const char* bad :
       {"10.0.0.0/33", "proxy.example", "10.0.0.1:80", "10.0.0.0/", "::1/129", "10.0.0.0/8x"}) {
    auto r = TrustedProxies::parse(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().detail().find(bad), std::string::npos) << r.status().detail();
  }
}

TEST(TrustedProxiesTest, TheClientIsTheRightmostUntrustedHop) {
  auto p = TrustedProxies::parse("10.0.0.0/8").value();
  // One proxy: it appended the client's address.
  EXPECT_EQ(p.client_of("10.0.0.1", "203.0.113.7"), "203.0.113.7");
  // A client that sends its own X-Forwarded-For cannot choose what is read: the proxy appended
  // the real address after it.
  EXPECT_EQ(p.client_of("10.0.0.1", "198.51.100.1, 203.0.113.7"), "203.0.113.7");
  // Two trusted proxies in a row.
  EXPECT_EQ(p.client_of("10.0.0.1", "203.0.113.7, 10.0.0.2"), "203.0.113.7");
  // Every hop trusted: the leftmost.
  EXPECT_EQ(p.client_of("10.0.0.1", "10.0.0.3, 10.0.0.2"), "10.0.0.3");
  // Garbage: the nearest hop known.
  EXPECT_EQ(p.client_of("10.0.0.1", "evil, 10.0.0.2"), "10.0.0.2");
  EXPECT_EQ(p.client_of("10.0.0.1", "<script>"), "10.0.0.1");
  EXPECT_EQ(p.client_of("10.0.0.1", ""), "10.0.0.1");
  // Ports and brackets as some proxies write them.
  EXPECT_EQ(p.client_of("10.0.0.1", "203.0.113.7:51000"), "203.0.113.7");
  EXPECT_EQ(p.client_of("10.0.0.1", "[2001:db8::1]:443"), "2001:db8::1");
}

}  // namespace
}  // namespace tsunagu::http
