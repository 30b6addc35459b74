#include "auth/api_key.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "auth/jwt.hpp"
#include "common/json.hpp"
#include "common/json_writer.hpp"

namespace tsunagu::auth {
namespace {

constexpr size_t kSecretBytes = 32;
constexpr size_t kHashBytes = 32;

// SHA-256, looked up once: OpenSSL 3 finds EVP_sha256() in its provider registry on every use,
// which took three times as long as hashing a secret (360 against 120 ns), on every request
// that carries a key. Kept for the life of the process.
const EVP_MD* sha256() {
  static EVP_MD* const fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  return fetched != nullptr ? fetched : EVP_sha256();
}

Status damaged(std::string_view what) {
  return Status::Internal("stored API key: " + std::string(what));
}

}  // namespace

std::string_view key_access_name(KeyAccess access) {
  switch (access) {
    case KeyAccess::kRead:
      return "read";
    case KeyAccess::kWrite:
      return "write";
    case KeyAccess::kAdmin:
      return "admin";
  }
  return "read";
}

std::optional<KeyAccess> key_access_of(std::string_view name) {
  for (KeyAccess a : {KeyAccess::kRead, KeyAccess::kWrite, KeyAccess::kAdmin}) {
    if (key_access_name(a) == name) return a;
  }
  return std::nullopt;
}

Result<std::string> new_secret() {
  unsigned char random[kSecretBytes];
  if (RAND_bytes(random, sizeof random) != 1)
    return Status::Internal("the random generator could not make an API key secret");
  return std::string(kSecretPrefix) +
         base64url_encode(std::string_view(reinterpret_cast<const char*>(random), sizeof random));
}

std::string secret_hash(std::string_view secret) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  // Cannot fail for SHA-256 on memory; an empty result would match no stored hash anyway.
  if (EVP_Digest(secret.data(), secret.size(), digest, &length, sha256(), nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(digest), length);
}

bool same_hash(std::string_view a, std::string_view b) {
  return a.size() == b.size() && !a.empty() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string encode_api_key(const ApiKey& key) {
  std::string out;
  JsonWriter w(out);
  w.begin_object();
  w.key("id");
  w.string(key.id);
  w.key("name");
  w.string(key.name);
  w.key("description");
  w.string(key.description);
  w.key("tenant");
  w.string(key.tenant);
  w.key("access");
  w.string(key_access_name(key.access));
  if (!key.role.empty()) {
    w.key("role");
    w.string(key.role);
  }
  w.key("createdAt");
  w.number(key.created_at);
  if (key.expires_at != kNoTime) {
    w.key("expiresAt");
    w.number(key.expires_at);
  }
  if (key.last_rotated_at != kNoTime) {
    w.key("lastRotatedAt");
    w.number(key.last_rotated_at);
  }
  w.key("secretHash");
  w.string(base64url_encode(key.secret_hash));
  if (!key.previous_hash.empty()) {
    w.key("previousHash");
    w.string(base64url_encode(key.previous_hash));
    w.key("previousUntil");
    w.number(key.previous_until);
  }
  w.end_object();
  return out;
}

Result<ApiKey> decode_api_key(std::string_view doc) {
  JsonDoc json;
  if (Status st = parse_json(doc, json); !st.ok()) return damaged(st.detail());
  if (!json.IsObject()) return damaged("not a JSON object");
  ApiKey key;
  auto text = [&json](const char* name, std::string& out) {
    auto it = json.FindMember(name);
    if (it == json.MemberEnd() || !it->value.IsString()) return false;
    out.assign(it->value.GetString(), it->value.GetStringLength());
    return true;
  };
  auto microseconds = [&json](const char* name, int64_t& out, bool required) {
    auto it = json.FindMember(name);
    if (it == json.MemberEnd()) return !required;
    if (!it->value.IsInt64()) return false;
    out = it->value.GetInt64();
    return true;
  };
  std::string access, hash_text;
  if (!text("id", key.id) || key.id.empty()) return damaged("no id");
  if (!text("name", key.name) || !text("description", key.description) ||
      !text("tenant", key.tenant)) {
    return damaged("'" + key.id + "' lacks its name, description or tenant");
  }
  auto level = text("access", access) ? key_access_of(access) : std::nullopt;
  if (!level) return damaged("'" + key.id + "' has no access level");
  key.access = *level;
  text("role", key.role);  // absent: no role
  if (!microseconds("createdAt", key.created_at, true) ||
      !microseconds("expiresAt", key.expires_at, false) ||
      !microseconds("lastRotatedAt", key.last_rotated_at, false)) {
    return damaged("'" + key.id + "' has a time that is not a number");
  }
  if (!text("secretHash", hash_text) || !base64url_decode(hash_text, key.secret_hash) ||
      key.secret_hash.size() != kHashBytes) {
    return damaged("'" + key.id + "' has no valid secretHash");
  }
  std::string previous_text;
  if (text("previousHash", previous_text)) {
    if (!base64url_decode(previous_text, key.previous_hash) ||
        key.previous_hash.size() != kHashBytes ||
        !microseconds("previousUntil", key.previous_until, true)) {
      return damaged("'" + key.id + "' has no valid previousHash");
    }
  }
  return key;
}

}  // namespace tsunagu::auth
