// The @context fetch policy's building blocks; the fetches themselves are tested end to end in
// tests/integration/test_context_fetch_policy.py.
#include "http/context_loader.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>

namespace tsunagu::http {
namespace {

bool is_private(const char* text) {
  unsigned char b[16];
  if (::inet_pton(AF_INET, text, b) == 1) return is_private_address(b, 4);
  if (::inet_pton(AF_INET6, text, b) == 1) return is_private_address(b, 16);
  ADD_FAILURE() << text << " is not an address";
  return false;
}

TEST(FetchPolicyTest, GuardedAddresses) {
  for (const char* a : {"127.0.0.1",
                        "127.255.255.254",
                        "10.0.0.1",
                        "172.16.0.1",
                        "172.31.255.255",
                        "192.168.1.1",
                        "169.254.169.254",
                        "100.64.0.1",
                        "0.0.0.0",
                        "224.0.0.1",
                        "255.255.255.255",
                        "198.18.0.1",
                        "192.0.0.8",
                        "::1",
                        "::",
                        "fe80::1",
                        "fd00::1",
                        "fc00::1",
                        "ff02::1",
                        "::ffff:127.0.0.1",
                        "::ffff:10.1.2.3",
                        "64:ff9b::a9fe:a9fe",
                        "2001:db8::1"}) {
    EXPECT_TRUE(is_private(a)) << a;
  }
  for (const char* a :
       {"8.8.8.8", "1.1.1.1", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
        "169.253.0.1", "2606:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
    EXPECT_FALSE(is_private(a)) << a;
  }
}

TEST(FetchPolicyTest, Hosts) {
  EXPECT_TRUE(host_allowed({}, "anything.example"));
  const std::vector<std::string> hosts{"uri.etsi.org", ".smartdatamodels.org"};
  EXPECT_TRUE(host_allowed(hosts, "uri.etsi.org"));
  EXPECT_TRUE(host_allowed(hosts, "URI.ETSI.ORG"));
  EXPECT_TRUE(host_allowed(hosts, "smartdatamodels.org"));
  EXPECT_TRUE(host_allowed(hosts, "raw.smartdatamodels.org"));
  EXPECT_FALSE(host_allowed(hosts, "evilsmartdatamodels.org"));
  EXPECT_FALSE(host_allowed(hosts, "etsi.org"));
  EXPECT_FALSE(host_allowed(hosts, "uri.etsi.org.attacker.example"));
  EXPECT_FALSE(host_allowed(hosts, ""));
}

}  // namespace
}  // namespace tsunagu::http
