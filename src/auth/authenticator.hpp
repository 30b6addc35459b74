// Who a request comes from: the bearer token of its Authorization header (RFC 6750 §2.1),
// checked against the issuer's current key set. The set is replaced whole when it is read again
// (an issuer rotates its keys); a request being checked keeps the set it started with.
// A client sends the same token with every request until it expires, and checking a signature
// costs far more than answering a read, so a token that passed is remembered until its exp
// (with the skew allowed) and passes again without a check; reading the keys again forgets
// them all. Thread-safe.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "auth/jwt.hpp"

namespace tsunagu::auth {

class Authenticator {
 public:
  // `max_remembered`: tokens remembered at once; beyond it the memory is cleared and tokens are
  // checked again (a bound against a flood of distinct valid tokens).
  explicit Authenticator(Verifier::Options options, size_t max_remembered = 10000)
      : options_(std::move(options)), max_remembered_(max_remembered) {}

  // Takes the keys of a JWK Set document. When it holds no usable key the keys in use stay
  // and the error says why.
  Status set_keys(std::string_view jwks_json);
  bool has_keys() const;

  // The caller's claims from an Authorization header's value (empty: the request had none).
  // Unauthorized when there is none, it is not a Bearer token, or the token is refused.
  Result<Claims> authenticate(std::string_view authorization, int64_t now_s) const;

 private:
  struct Remembered {
    Claims claims;
    int64_t valid_until_s;  // exp plus the skew; without exp, a few minutes after the check
  };
  const Verifier::Options options_;
  const size_t max_remembered_;
  mutable std::mutex mu_;
  std::shared_ptr<const Verifier> verifier_;
  // Looked up by the header's view of the token, without copying it.
  struct TokenHash {
    using is_transparent = void;
    size_t operator()(std::string_view t) const { return std::hash<std::string_view>{}(t); }
  };
  mutable std::unordered_map<std::string, Remembered, TokenHash, std::equal_to<>>
      passed_;  // by token, for verifier_
};

}  // namespace tsunagu::auth
