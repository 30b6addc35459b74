#include "http/context_loader.hpp"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cctype>
#include <chrono>
#include <mutex>

#include "common/log.hpp"

namespace tsunagu::http {
namespace {

struct Transfer {
  std::string body;
  size_t max;
  bool too_large = false;
  bool private_networks = false;
  bool refused_address = false;  // opensocket refused a guarded address
};

size_t on_data(char* ptr, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t bytes = size * n;
  if (t->body.size() + bytes > t->max) {
    t->too_large = true;
    return 0;  // aborts the transfer
  }
  t->body.append(ptr, bytes);
  return bytes;
}

// Called for every connection curl opens, after name resolution: the address itself is checked,
// so no name, redirect or DNS answer can lead a fetch to a guarded network.
curl_socket_t on_open_socket(void* user, curlsocktype, curl_sockaddr* a) {
  auto* t = static_cast<Transfer*>(user);
  if (!t->private_networks) {
    bool guarded = true;  // unknown families are refused too
    if (a->family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(&a->addr);
      guarded = is_private_address(reinterpret_cast<const unsigned char*>(&in->sin_addr), 4);
    } else if (a->family == AF_INET6) {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&a->addr);
      guarded = is_private_address(in6->sin6_addr.s6_addr, 16);
    }
    if (guarded) {
      t->refused_address = true;
      return CURL_SOCKET_BAD;
    }
  }
  return ::socket(a->family, a->socktype, a->protocol);
}

std::string host_of(const std::string& url) {
  std::string host;
  CURLU* u = curl_url();
  char* h = nullptr;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
      curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK) {
    host = h;
  }
  curl_free(h);
  curl_url_cleanup(u);
  return host;
}

bool in(uint32_t a, uint32_t net, int bits) {
  return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
}

bool private_v4(uint32_t a) {
  // RFC 6890 special-purpose ranges that are not the public internet.
  return in(a, 0x00000000, 8) ||   // "this" network
         in(a, 0x0A000000, 8) ||   // private
         in(a, 0x64400000, 10) ||  // shared address space (carrier NAT)
         in(a, 0x7F000000, 8) ||   // loopback
         in(a, 0xA9FE0000, 16) ||  // link-local (cloud metadata services live here)
         in(a, 0xAC100000, 12) ||  // private
         in(a, 0xC0000000, 24) ||  // IETF protocol assignments
         in(a, 0xC0A80000, 16) ||  // private
         in(a, 0xC6120000, 15) ||  // benchmarking
         in(a, 0xE0000000, 4) ||   // multicast
         in(a, 0xF0000000, 4);     // reserved, broadcast
}

Status unavailable(const std::string& url, const std::string& why) {
  return Status(ErrorKind::kLdContextNotAvailable, "cannot load @context '" + url + "': " + why);
}

}  // namespace

bool is_private_address(const unsigned char* b, size_t size) {
  if (size == 4) return private_v4(uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | b[2] << 8 | b[3]);
  if (size != 16) return true;
  bool v4_mapped = true, v4_compat = true;
  for (int i = 0; i < 10; ++i)
    v4_mapped = v4_mapped && b[i] == 0;
  v4_compat = v4_mapped && b[10] == 0 && b[11] == 0;
  v4_mapped = v4_mapped && b[10] == 0xFF && b[11] == 0xFF;
  if (v4_mapped || v4_compat) return is_private_address(b + 12, 4);  // ::ffff:a.b.c.d, ::1, ::
  if ((b[0] & 0xFE) == 0xFC) return true;                            // unique local fc00::/7
  if (b[0] == 0xFE && (b[1] & 0xC0) == 0x80) return true;            // link-local fe80::/10
  if (b[0] == 0xFF) return true;                                     // multicast
  if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xFF && b[3] == 0x9B) {
    return is_private_address(b + 12, 4);  // NAT64 64:ff9b::/96 reaches the IPv4 address
  }
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0D && b[3] == 0xB8) return true;  // documentation
  return false;
}

bool host_allowed(const std::vector<std::string>& hosts, std::string_view host) {
  if (hosts.empty()) return true;
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (auto& c : out)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  const std::string h = lower(host);
  for (const auto& entry : hosts) {
    const std::string e = lower(entry);
    if (!e.empty() && e[0] == '.') {
      if (h == e.substr(1) ||
          (h.size() > e.size() && h.compare(h.size() - e.size(), e.size(), e) == 0)) {
        return true;
      }
    } else if (h == e) {
      return true;
    }
  }
  return false;
}

CurlContextLoader::CurlContextLoader(FetchPolicy policy, size_t max_bytes)
    : policy_(std::move(policy)), max_bytes_(max_bytes) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

CurlContextLoader::~CurlContextLoader() = default;

Result<std::string> CurlContextLoader::load(const std::string& url, int timeout_ms) {
  constexpr int kMaxRedirects = 5;
  Transfer t{{}, max_bytes_};
  t.private_networks = policy_.private_networks;
  std::string current = url;
  std::string failure;  // for the log only
  // One timeout for the whole fetch, redirects included.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                          deadline - std::chrono::steady_clock::now())
                          .count();
    if (left <= 0) {
      failure = "no answer within " + std::to_string(timeout_ms) + " ms";
      break;
    }
    if (!host_allowed(policy_.hosts, host_of(current))) {
      return unavailable(url, "the server's @context fetch policy does not allow this host");
    }
    CURL* curl = curl_easy_init();
    if (curl == nullptr) return unavailable(url, "cannot start an HTTP client");
    t.body.clear();
    curl_slist* headers =
        curl_slist_append(nullptr, "Accept: application/ld+json, application/json;q=0.9");
    curl_easy_setopt(curl, CURLOPT_URL, current.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    // Redirects are followed here, one at a time, so that each target passes the policy.
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(left));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(left));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "tsunagu");
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &t);
    CURLcode rc = curl_easy_perform(curl);
    long status = 0;
    char* location = nullptr;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location);
    std::string next = location != nullptr ? location : "";
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (t.refused_address) {
      return unavailable(url, "the server's @context fetch policy does not allow this address");
    }
    if (t.too_large)
      return unavailable(url, "larger than " + std::to_string(max_bytes_) + " bytes");
    if (rc != CURLE_OK) {
      failure = curl_easy_strerror(rc);
      break;
    }
    if (status >= 300 && status <= 399 && !next.empty()) {
      current = next;
      continue;
    }
    if (status < 200 || status > 299) {
      failure = "HTTP " + std::to_string(status);
      break;
    }
    return std::move(t.body);
  }
  if (failure.empty()) failure = "more than " + std::to_string(kMaxRedirects) + " redirects";
  log::warn("context_fetch_failed", {{"url", url}, {"last_url", current}, {"reason", failure}});
  return unavailable(url, "the document could not be fetched");
}

}  // namespace tsunagu::http
