// Bearer tokens checked locally (RFC 7519 JWTs signed per RFC 7515): the issuer's public keys
// come as a JWK Set (RFC 7517; what an OpenID Connect provider publishes at its jwks_uri), and
// a token is accepted only when its signature verifies with one of them under the algorithm the
// key is for (RS256 or ES256; never `none`, never an HMAC, so no key can be confused for a
// shared secret), and its claims hold: exp, nbf and iat against the clock with a bounded skew,
// iss and aud as configured. No network here: fetching and caching the key set is the caller's.
// Thread-safe once built: verify() only reads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.hpp"

namespace tsunagu::auth {

// Base64url without padding (RFC 4648 §5), as JOSE writes it; false on any other character.
bool base64url_decode(std::string_view in, std::string& out);
std::string base64url_encode(std::string_view in);

// The public keys of one issuer.
class KeySet {
 public:
  KeySet();
  ~KeySet();
  KeySet(KeySet&&) noexcept;
  KeySet& operator=(KeySet&&) noexcept;

  // Reads a JWK Set document ({"keys": [...]}). Keys for other uses (`use` other than "sig"),
  // of other types or curves are skipped, not refused: providers publish encryption keys and
  // algorithms beside the ones Tsunagu checks. BadRequestData when the document is not a key
  // set or holds no usable key; `skipped` (if given) counts what was left out.
  static Result<KeySet> parse(std::string_view jwks_json, size_t* skipped = nullptr);

  size_t size() const;

 private:
  friend class Verifier;
  struct Key;
  std::vector<std::unique_ptr<Key>> keys_;
};

struct Claims {
  std::string subject;  // sub
  std::string issuer;   // iss
  std::vector<std::string> audience;
  int64_t expires = 0;  // exp, seconds since the epoch; 0 when absent
  std::string payload;  // the whole claims object, as JSON text (roles, scope, ...)
  // The strings of the claim Options::grants_claim names (one string or an array of them);
  // nullopt when the token has no such claim or none is named.
  std::optional<std::vector<std::string>> grants;
};

class Verifier {
 public:
  struct Options {
    std::string issuer;     // required value of iss; empty: any
    std::string audience;   // required among aud; empty: any
    int64_t leeway_s = 60;  // clock skew allowed on exp, nbf and iat
    bool require_exp = true;
    // A claim whose strings are kept in Claims::grants (--auth-tenant-claim); empty: none.
    std::string grants_claim;
  };
  Verifier(KeySet keys, Options options);

  // The token's claims when it is a compact JWS signed with one of the keys and its claims
  // hold at `now_s` (seconds since the epoch). Otherwise Unauthorized, whose detail says what
  // was wrong in terms safe to show the caller (never which keys exist).
  Result<Claims> verify(std::string_view token, int64_t now_s) const;

 private:
  KeySet keys_;
  Options options_;
};

}  // namespace tsunagu::auth
