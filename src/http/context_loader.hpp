// Outbound HTTP for remote JSON-LD @context documents (libcurl): http(s) only, a total timeout,
// a size cap, a few redirects, and the operator's fetch policy, since a client chooses the URL
// and the server fetches it from inside the city's network. Blocking: callers run it off the
// event loops.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace tsunagu::http {

// Where the server may fetch @contexts from.
struct FetchPolicy {
  // Host names (exact, or ".example.org" for the domain and every name under it); empty: any.
  std::vector<std::string> hosts;
  // Loopback, private, link-local, shared, multicast and reserved addresses (RFC 6890): refused
  // unless allowed, whatever name resolved to them and after every redirect.
  bool private_networks = false;
};

// What the @context cache's DocumentLoader does (app/ connects the two, so that this layer
// knows nothing of NGSI-LD).
class CurlContextLoader {
 public:
  explicit CurlContextLoader(FetchPolicy policy = {}, size_t max_bytes = 4 << 20);
  ~CurlContextLoader();
  // LdContextNotAvailable on any failure. The detail says whether the policy refused the URL;
  // every other failure reads the same ("could not be fetched"), so that answers do not map
  // the network for a client (what failed is logged for the operator).
  Result<std::string> load(const std::string& url, int timeout_ms);

 private:
  FetchPolicy policy_;
  size_t max_bytes_;
};

// Whether `host` is allowed by `hosts` (see FetchPolicy::hosts). Case-insensitive.
bool host_allowed(const std::vector<std::string>& hosts, std::string_view host);

// Whether the IPv4 or IPv6 address in `bytes` (4 or 16 bytes, network order) is one that
// FetchPolicy::private_networks guards.
bool is_private_address(const unsigned char* bytes, size_t size);

}  // namespace tsunagu::http
