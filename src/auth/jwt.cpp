#include "auth/jwt.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <cmath>

#include "common/json.hpp"

namespace tsunagu::auth {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

enum class Alg { kRS256, kES256 };

Status refuse(std::string why) {
  return {ErrorKind::kUnauthorized, "the bearer token is not valid: " + std::move(why)};
}

const JsonValue* member(const JsonValue& o, const char* name) {
  auto it = o.FindMember(name);
  return it == o.MemberEnd() ? nullptr : &it->value;
}

std::string string_member(const JsonValue& o, const char* name) {
  const JsonValue* v = member(o, name);
  return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

// A big-endian unsigned integer from a base64url member; empty when absent or malformed.
std::string unsigned_member(const JsonValue& o, const char* name) {
  std::string raw;
  const JsonValue* v = member(o, name);
  if (!v || !v->IsString()) return {};
  if (!base64url_decode({v->GetString(), v->GetStringLength()}, raw)) return {};
  return raw;
}

Pkey key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  OSSL_PARAM_BLD_free(bld);
  if (!params) return nullptr;
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx && EVP_PKEY_fromdata_init(ctx) > 0)
    EVP_PKEY_fromdata(ctx, &key, EVP_PKEY_PUBLIC_KEY, params);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return Pkey(key);
}

Pkey rsa_key(const std::string& n, const std::string& e) {
  if (n.size() < 256 || e.empty() || e.size() > 8) return nullptr;  // RSA of 2048 bits or more
  BIGNUM* bn_n = BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()),
                           static_cast<int>(n.size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()),
                           static_cast<int>(e.size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  Pkey key;
  if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e)) {
    key = key_from_params("RSA", bld);
  } else {
    OSSL_PARAM_BLD_free(bld);
  }
  BN_free(bn_n);
  BN_free(bn_e);
  return key;
}

Pkey p256_key(const std::string& x, const std::string& y) {
  if (x.size() != 32 || y.size() != 32) return nullptr;
  std::string point = "\x04" + x + y;  // SEC 1 uncompressed point
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  if (!bld) return nullptr;
  if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
      !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size())) {
    OSSL_PARAM_BLD_free(bld);
    return nullptr;
  }
  return key_from_params("EC", bld);
}

// JOSE's ES256 signature is r || s, 32 bytes each; OpenSSL verifies DER.
bool es256_to_der(std::string_view sig, std::string& der) {
  if (sig.size() != 64) return false;
  ECDSA_SIG* s = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()), 32, nullptr);
  BIGNUM* ss = BN_bin2bn(reinterpret_cast<const unsigned char*>(sig.data()) + 32, 32, nullptr);
  if (!s || !r || !ss || ECDSA_SIG_set0(s, r, ss) != 1) {
    ECDSA_SIG_free(s);
    BN_free(r);
    BN_free(ss);
    return false;
  }
  int len = i2d_ECDSA_SIG(s, nullptr);
  bool ok = len > 0;
  if (ok) {
    der.resize(static_cast<size_t>(len));
    auto* p = reinterpret_cast<unsigned char*>(der.data());
    ok = i2d_ECDSA_SIG(s, &p) == len;
  }
  ECDSA_SIG_free(s);
  return ok;
}

bool verify_signature(EVP_PKEY* key, std::string_view signed_part, std::string_view sig, Alg alg) {
  std::string der;
  if (alg == Alg::kES256) {
    if (!es256_to_der(sig, der)) return false;
    sig = der;
  }
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                             reinterpret_cast<const unsigned char*>(signed_part.data()),
                             signed_part.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

// A NumericDate claim (seconds, possibly fractional); false when present but not a number.
bool numeric_date(const JsonValue& claims, const char* name, int64_t& out, bool& present) {
  const JsonValue* v = member(claims, name);
  present = v != nullptr;
  if (!v) return true;
  if (!v->IsNumber()) return false;
  double d = v->GetDouble();
  if (!std::isfinite(d) || std::abs(d) > 1e15) return false;
  out = static_cast<int64_t>(std::floor(d));
  return true;
}

}  // namespace

bool base64url_decode(std::string_view in, std::string& out) {
  out.clear();
  if (in.size() % 4 == 1) return false;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = sextet(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // The leftover bits are padding and must be zero (one encoding per value).
  return (acc & ((1u << bits) - 1)) == 0;
}

std::string base64url_encode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 63]);
  return out;
}

struct KeySet::Key {
  std::string kid;
  Alg alg;
  Pkey pkey;
};

KeySet::KeySet() = default;
KeySet::~KeySet() = default;
KeySet::KeySet(KeySet&&) noexcept = default;
KeySet& KeySet::operator=(KeySet&&) noexcept = default;

size_t KeySet::size() const {
  return keys_.size();
}

Result<KeySet> KeySet::parse(std::string_view jwks_json, size_t* skipped) {
  JsonDoc doc;
  if (Status st = parse_json(jwks_json, doc); !st.ok())
    return Status::BadRequestData("the JWK Set is not JSON: " + st.detail());
  const JsonValue* keys = doc.IsObject() ? member(doc, "keys") : nullptr;
  if (!keys || !keys->IsArray())
    return Status::BadRequestData("a JWK Set is an object with a \"keys\" array");
  KeySet set;
  size_t left_out = 0;
  for (const JsonValue& k : keys->GetArray()) {
    if (!k.IsObject()) {
      ++left_out;
      continue;
    }
    std::string kty = string_member(k, "kty"), use = string_member(k, "use");
    std::string alg = string_member(k, "alg");
    auto entry = std::make_unique<Key>();
    entry->kid = string_member(k, "kid");
    if (!use.empty() && use != "sig") {
      ++left_out;
      continue;
    }
    if (kty == "RSA" && (alg.empty() || alg == "RS256")) {
      entry->alg = Alg::kRS256;
      entry->pkey = rsa_key(unsigned_member(k, "n"), unsigned_member(k, "e"));
    } else if (kty == "EC" && string_member(k, "crv") == "P-256" &&
               (alg.empty() || alg == "ES256")) {
      entry->alg = Alg::kES256;
      entry->pkey = p256_key(unsigned_member(k, "x"), unsigned_member(k, "y"));
    }
    if (!entry->pkey) {
      ++left_out;
      continue;
    }
    set.keys_.push_back(std::move(entry));
  }
  if (skipped) *skipped = left_out;
  if (set.keys_.empty())
    return Status::BadRequestData("the JWK Set holds no RS256 or ES256 signing key");
  return set;
}

Verifier::Verifier(KeySet keys, Options options)
    : keys_(std::move(keys)), options_(std::move(options)) {}

Result<Claims> Verifier::verify(std::string_view token, int64_t now_s) const {
  if (token.size() > 16384) return refuse("it is too long");
  size_t dot1 = token.find('.');
  size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return refuse("it is not a signed JWT (three dot-separated parts)");
  std::string header_text, payload_text, sig;
  if (!base64url_decode(token.substr(0, dot1), header_text) ||
      !base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload_text) ||
      !base64url_decode(token.substr(dot2 + 1), sig))
    return refuse("a part is not base64url");
  JsonDoc header;
  if (!parse_json(header_text, header).ok() || !header.IsObject())
    return refuse("its header is not a JSON object");
  std::string alg_name = string_member(header, "alg");
  Alg alg;
  if (alg_name == "RS256") {
    alg = Alg::kRS256;
  } else if (alg_name == "ES256") {
    alg = Alg::kES256;
  } else {
    return refuse("algorithm '" + alg_name + "' is not accepted (RS256 or ES256)");
  }
  if (member(header, "crit")) return refuse("it has critical header parameters");
  std::string kid = string_member(header, "kid");
  std::string_view signed_part = token.substr(0, dot2);
  bool verified = false;
  for (const auto& key : keys_.keys_) {
    if (key->alg != alg || (!kid.empty() && !key->kid.empty() && key->kid != kid)) continue;
    if (verify_signature(key->pkey.get(), signed_part, sig, alg)) {
      verified = true;
      break;
    }
  }
  if (!verified) return refuse("its signature does not verify with the issuer's keys");

  JsonDoc payload;
  if (!parse_json(payload_text, payload).ok() || !payload.IsObject())
    return refuse("its claims are not a JSON object");
  int64_t exp = 0, nbf = 0, iat = 0;
  bool has_exp, has_nbf, has_iat;
  if (!numeric_date(payload, "exp", exp, has_exp) || !numeric_date(payload, "nbf", nbf, has_nbf) ||
      !numeric_date(payload, "iat", iat, has_iat))
    return refuse("exp, nbf or iat is not a number of seconds");
  if (!has_exp && options_.require_exp) return refuse("it has no expiry (exp)");
  if (has_exp && now_s >= exp + options_.leeway_s) return refuse("it has expired");
  if (has_nbf && now_s + options_.leeway_s < nbf) return refuse("it is not valid yet (nbf)");
  if (has_iat && now_s + options_.leeway_s < iat) return refuse("it was issued in the future");

  Claims c;
  c.issuer = string_member(payload, "iss");
  if (!options_.issuer.empty() && c.issuer != options_.issuer)
    return refuse("it was issued by another issuer");
  if (const JsonValue* aud = member(payload, "aud")) {
    if (aud->IsString()) {
      c.audience.emplace_back(aud->GetString(), aud->GetStringLength());
    } else if (aud->IsArray()) {
      for (const JsonValue& a : aud->GetArray()) {
        if (a.IsString()) c.audience.emplace_back(a.GetString(), a.GetStringLength());
      }
    }
  }
  if (!options_.audience.empty()) {
    bool found = false;
    for (const std::string& a : c.audience)
      found = found || a == options_.audience;
    if (!found) return refuse("it is meant for another audience");
  }
  c.subject = string_member(payload, "sub");
  if (!options_.grants_claim.empty()) {
    if (const JsonValue* g = member(payload, options_.grants_claim.c_str())) {
      c.grants.emplace();
      if (g->IsString()) {
        c.grants->emplace_back(g->GetString(), g->GetStringLength());
      } else if (g->IsArray()) {
        for (const JsonValue& v : g->GetArray()) {
          if (v.IsString()) c.grants->emplace_back(v.GetString(), v.GetStringLength());
        }
      }
    }
  }
  c.expires = has_exp ? exp : 0;
  c.payload = std::move(payload_text);
  return c;
}

}  // namespace tsunagu::auth
