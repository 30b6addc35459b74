// Reverse proxies whose word about the client is taken (--trusted-proxies): behind one, every
// connection comes from the proxy, and the client's address is in X-Forwarded-For, which anyone
// else could forge. So the header is read only on connections from a trusted proxy, and from its
// right end (the hops the trusted proxies appended), stopping at the first address that is not a
// trusted proxy: that one is the client (docs/security.md, "Behind a reverse proxy").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace tsunagu::http {

class TrustedProxies {
 public:
  // "10.0.0.0/8, 192.0.2.7, 2001:db8::/32": addresses and networks, comma-separated; empty:
  // none. InvalidRequest naming the item that is neither.
  static Result<TrustedProxies> parse(std::string_view list);

  bool empty() const { return networks_.empty(); }
  // Whether `address` (an IP address, without port or brackets) is a trusted proxy.
  bool trusts(std::string_view address) const;
  // The client of a request whose connection came from the trusted proxy `peer`, from its
  // X-Forwarded-For value: the rightmost address that is not a trusted proxy; the leftmost when
  // all are; the nearest trusted hop when the next one is not an address (forged or garbled).
  std::string client_of(std::string_view peer, std::string_view forwarded_for) const;

 private:
  struct Network {
    bool v6 = false;
    uint8_t bytes[16] = {};
    unsigned prefix = 0;  // bits that must match
  };
  std::vector<Network> networks_;
};

}  // namespace tsunagu::http
