// Who a request comes from: the bearer token of its Authorization header (RFC 6750 §2.1),
// checked against the issuer's current key set. The set is replaced whole when it is read again
// (an issuer rotates its keys); a request being checked keeps the set it started with.
// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string_view>

#include "auth/jwt.hpp"

namespace tsunagu::auth {

class Authenticator {
 public:
  explicit Authenticator(Verifier::Options options) : options_(std::move(options)) {}

  // Takes the keys of a JWK Set document. When it holds no usable key the keys in use stay
  // and the error says why.
  Status set_keys(std::string_view jwks_json);
  bool has_keys() const;

  // The caller's claims from an Authorization header's value (empty: the request had none).
  // Unauthorized when there is none, it is not a Bearer token, or the token is refused.
  Result<Claims> authenticate(std::string_view authorization, int64_t now_s) const;

 private:
  const Verifier::Options options_;
  mutable std::mutex mu_;
  std::shared_ptr<const Verifier> verifier_;
};

}  // namespace tsunagu::auth
