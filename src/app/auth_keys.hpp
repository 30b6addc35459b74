// Keeps the bearer-token checker's keys current: fetched from the issuer's OpenID Connect
// discovery document (its jwks_uri) or read from a JWK Set file (for networks with no route to
// the issuer, or no issuer at all), again every refresh period, so that keys the issuer rotates
// in are known without a restart. docs/security.md.
#pragma once

#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "auth/authenticator.hpp"
#include "common/status.hpp"

namespace tsunagu::app {

class IssuerKeys {
 public:
  // `issuer`: the OpenID Connect issuer URL (empty: none); `jwks_file`: a JWK Set file (empty:
  // none), used when the issuer cannot be reached.
  IssuerKeys(auth::Authenticator& auth, std::string issuer, std::string jwks_file, int refresh_s);
  ~IssuerKeys();  // stop()s

  // Reads the keys once (blocking; at start). OK when a source gave a usable key set.
  Status load();
  // Reads them again every refresh period on a thread of its own, until stop().
  void start();
  void stop();

 private:
  Result<std::string> fetch_from_issuer() const;

  auth::Authenticator& auth_;
  const std::string issuer_;
  const std::string jwks_file_;
  const int refresh_s_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace tsunagu::app
