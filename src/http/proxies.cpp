#include "http/proxies.hpp"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <optional>

#include <boost/asio/ip/address.hpp>

#include "http/message.hpp"

namespace tsunagu::http {
namespace {

namespace ip = boost::asio::ip;

// An address as it may stand in X-Forwarded-For: plain, or IPv6 in brackets, either with a port.
std::optional<ip::address> address_of(std::string_view text) {
  text = trim_ows(text);
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    text = text.substr(0, text.find(':'));  // IPv4 with a port
  }
  boost::system::error_code ec;
  auto a = ip::make_address(std::string(text), ec);
  if (ec) return std::nullopt;
  // An IPv4 address mapped into IPv6 is that IPv4 address.
  if (a.is_v6() && a.to_v6().is_v4_mapped())
    return ip::address(ip::make_address_v4(ip::v4_mapped, a.to_v6()));
  return a;
}

}  // namespace

Result<TrustedProxies> TrustedProxies::parse(std::string_view list) {
  TrustedProxies out;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const std::string_view item = trim_ows(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;
    const size_t slash = item.find('/');
    auto bad = [&item] {
      return Status::InvalidRequest("--trusted-proxies: '" + std::string(item) +
                                    "' is not an IP address or network (address/prefix)");
    };
    boost::system::error_code ec;
    const auto a = ip::make_address(std::string(item.substr(0, slash)), ec);
    if (ec) return bad();
    Network n;
    n.v6 = a.is_v6();
    const unsigned bits = n.v6 ? 128 : 32;
    n.prefix = bits;
    if (slash != std::string_view::npos) {
      const std::string_view p = item.substr(slash + 1);
      auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), n.prefix);
      if (ec != std::errc() || end != p.data() + p.size() || p.empty() || n.prefix > bits)
        return bad();
    }
    if (n.v6) {
      const auto b = a.to_v6().to_bytes();
      std::memcpy(n.bytes, b.data(), 16);
    } else {
      const auto b = a.to_v4().to_bytes();
      std::memcpy(n.bytes, b.data(), 4);
    }
    out.networks_.push_back(n);
  }
  return out;
}

bool TrustedProxies::trusts(std::string_view address) const {
  auto a = address_of(address);
  if (!a) return false;
  uint8_t bytes[16] = {};
  if (a->is_v6()) {
    const auto b = a->to_v6().to_bytes();
    std::memcpy(bytes, b.data(), 16);
  } else {
    const auto b = a->to_v4().to_bytes();
    std::memcpy(bytes, b.data(), 4);
  }
  for (const Network& n : networks_) {
    if (n.v6 != a->is_v6()) continue;
    const unsigned whole = n.prefix / 8, rest = n.prefix % 8;
    if (std::memcmp(bytes, n.bytes, whole) != 0) continue;
    if (rest != 0) {
      const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
      if ((bytes[whole] & mask) != (n.bytes[whole] & mask)) continue;
    }
    return true;
  }
  return false;
}

std::string TrustedProxies::client_of(std::string_view peer, std::string_view forwarded_for) const {
  std::vector<std::string_view> hops;
  size_t pos = 0;
  while (pos <= forwarded_for.size()) {
    const size_t comma = std::min(forwarded_for.find(',', pos), forwarded_for.size());
    const std::string_view item = trim_ows(forwarded_for.substr(pos, comma - pos));
    if (!item.empty()) hops.push_back(item);
    pos = comma + 1;
  }
  std::string client(peer);
  for (auto it = hops.rbegin(); it != hops.rend(); ++it) {
    auto a = address_of(*it);
    if (!a) break;  // not an address: the nearest hop known
    client = a->to_string();
    if (!trusts(client)) break;
  }
  return client;
}

}  // namespace tsunagu::http
