// An API key: the credential of a machine (a device, a gateway, another city's broker) that
// cannot log in with OpenID Connect. The key grants one tenant, for reading or for reading and
// writing, until it expires or is revoked. Only a hash of its secret is ever kept: the secret
// is shown once, when the key is created or rotated (docs/security.md, "API keys").
// Pure functions and a plain model; auth/api_keys.hpp keeps the keys.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.hpp"
#include "common/time.hpp"

namespace tsunagu::auth {

// Every secret begins with this, so that secret scanners (and people) recognise a leaked one.
inline constexpr std::string_view kSecretPrefix = "tsk_";

enum class KeyAccess : unsigned char {
  kRead,   // GET and HEAD, and the query POSTs (routes marked read)
  kWrite,  // every route (write implies read)
  // The tenant's administrator: every NGSI-LD route, and on the admin API the tenant's own API
  // keys, settings (to read) and audit log (docs/security.md, "A tenant's administrator").
  kAdmin,
};
std::string_view key_access_name(KeyAccess access);
// "read", "write" or "admin"; nullopt for anything else.
std::optional<KeyAccess> key_access_of(std::string_view name);

struct ApiKey {
  std::string id;  // "urn:tsunagu:ApiKey:<32 hex digits>"
  std::string name;
  std::string description;
  std::string tenant;  // "" = the default tenant (NGSILD-Tenant absent)
  KeyAccess access = KeyAccess::kRead;
  int64_t expires_at = kNoTime;  // µs since the epoch; kNoTime: never
  int64_t created_at = kNoTime;
  int64_t last_rotated_at = kNoTime;  // kNoTime until the first rotation
  std::string secret_hash;            // secret_hash() of the current secret: 32 bytes
  // After a rotation with a grace period: the replaced secret's hash, which still opens the key
  // until previous_until (µs), so that machines can be switched over without a gap.
  std::string previous_hash;
  int64_t previous_until = kNoTime;
  // A role the tenant defines (docs/security.md, "Roles"): the key reads and writes only what
  // the role's rules allow, within its access. Empty: all its access allows.
  std::string role;
};

// A new secret: the prefix and 256 random bits from OpenSSL's generator, base64url-encoded
// (47 characters). InternalError when the generator cannot be seeded.
Result<std::string> new_secret();

// SHA-256 of the secret, 32 bytes. A plain hash suffices where a password would need a slow
// one: the secret is 256 random bits, which no dictionary or brute force reaches.
std::string secret_hash(std::string_view secret);

// Whether two hashes are equal, in time that does not depend on where they differ.
bool same_hash(std::string_view a, std::string_view b);

// The stored form (a store record's document): JSON with the hash in base64url, never the
// secret.
std::string encode_api_key(const ApiKey& key);
// InternalError naming what is wrong when `doc` is not a stored API key.
Result<ApiKey> decode_api_key(std::string_view doc);

}  // namespace tsunagu::auth
