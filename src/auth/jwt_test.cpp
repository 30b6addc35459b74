// Tokens made here with real keys (OpenSSL generates RSA and P-256 pairs, signs, and exports the
// public halves as a JWK Set): what verifies, and every way a token is refused (alg none, an HMAC
// keyed with the public key, another key, changed claims, expiry, nbf, issuer, audience, kid).
#include "auth/jwt.hpp"

#include "auth/authenticator.hpp"

#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>

namespace tsunagu::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;

struct TestKey {
  EVP_PKEY* pkey = nullptr;
  std::string jwk;  // the public half
  bool ec = false;
  ~TestKey() { EVP_PKEY_free(pkey); }
};

std::string bn_bytes(EVP_PKEY* k, const char* name) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(k, name, &bn), 1);
  std::string out(static_cast<size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return out;
}

std::unique_ptr<TestKey> rsa(const std::string& kid, unsigned bits = 2048) {
  auto k = std::make_unique<TestKey>();
  k->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(bits));
  k->jwk = R"({"kty":"RSA","use":"sig","alg":"RS256","kid":")" + kid + R"(","n":")" +
           base64url_encode(bn_bytes(k->pkey, OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
           base64url_encode(bn_bytes(k->pkey, OSSL_PKEY_PARAM_RSA_E)) + R"("})";
  return k;
}

std::unique_ptr<TestKey> p256(const std::string& kid) {
  auto k = std::make_unique<TestKey>();
  k->ec = true;
  k->pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  unsigned char point[65];
  size_t len = 0;
  EXPECT_EQ(
      EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &len),
      1);
  EXPECT_EQ(len, 65u);
  std::string x(reinterpret_cast<char*>(point) + 1, 32), y(reinterpret_cast<char*>(point) + 33, 32);
  k->jwk = R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" + base64url_encode(x) +
           R"(","y":")" + base64url_encode(y) + R"("})";
  return k;
}

std::string sign(const TestKey& k, std::string_view input) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, k.pkey);
  size_t len = 0;
  EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                 input.size());
  std::string sig(len, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                 reinterpret_cast<const unsigned char*>(input.data()), input.size());
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  if (!k.ec) return sig;
  // DER to JOSE's r || s.
  const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* s = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  std::string raw(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(s), reinterpret_cast<unsigned char*>(raw.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(s), reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
  ECDSA_SIG_free(s);
  return raw;
}

std::string token(const TestKey& k, const std::string& header, const std::string& claims) {
  std::string input = base64url_encode(header) + "." + base64url_encode(claims);
  return input + "." + base64url_encode(sign(k, input));
}

std::string claims(int64_t exp_offset = 300, const std::string& more = "") {
  return R"({"iss":"https://idp.city.example","sub":"alice","aud":["broker","other"],"exp":)" +
         std::to_string(kNow + exp_offset) + more + "}";
}

class JwtTest : public ::testing::Test {
 protected:
  JwtTest() : rsa_(rsa("r1")), ec_(p256("e1")), stranger_(rsa("r1")) {}

  Verifier verifier(Verifier::Options o = {"https://idp.city.example", "broker", 60, true, ""}) {
    auto keys = KeySet::parse(R"({"keys":[)" + rsa_->jwk + "," + ec_->jwk + "]}");
    EXPECT_TRUE(keys.ok()) << keys.status().detail();
    return Verifier(std::move(*keys), o);
  }

  std::unique_ptr<TestKey> rsa_, ec_, stranger_;
};

TEST_F(JwtTest, AcceptsTokensSignedByTheIssuersKeys) {
  Verifier v = verifier();
  auto c = v.verify(token(*rsa_, R"({"alg":"RS256","kid":"r1","typ":"JWT"})", claims()), kNow);
  ASSERT_TRUE(c.ok()) << c.status().detail();
  EXPECT_EQ(c->subject, "alice");
  EXPECT_EQ(c->issuer, "https://idp.city.example");
  EXPECT_EQ(c->expires, kNow + 300);
  EXPECT_EQ(c->audience.size(), 2u);
  EXPECT_NE(c->payload.find("\"sub\":\"alice\""), std::string::npos);
  auto e = v.verify(token(*ec_, R"({"alg":"ES256","kid":"e1"})", claims()), kNow);
  ASSERT_TRUE(e.ok()) << e.status().detail();
  // Without a kid every key of the algorithm is tried.
  EXPECT_TRUE(v.verify(token(*ec_, R"({"alg":"ES256"})", claims()), kNow).ok());
  // A single audience string counts too.
  std::string one = R"({"iss":"https://idp.city.example","aud":"broker","exp":)" +
                    std::to_string(kNow + 10) + "}";
  EXPECT_TRUE(v.verify(token(*rsa_, R"({"alg":"RS256"})", one), kNow).ok());
}

void expect_refused(const Result<Claims>& r, const char* says) {
  ASSERT_FALSE(r.ok()) << says;
  EXPECT_EQ(r.status().kind(), ErrorKind::kUnauthorized);
  EXPECT_NE(r.status().detail().find(says), std::string::npos) << r.status().detail();
}

TEST_F(JwtTest, RefusesForgedAndTamperedTokens) {
  Verifier v = verifier();
  // alg=none with no signature, as attackers send it.
  std::string none = base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims()) + ".";
  expect_refused(v.verify(none, kNow), "algorithm 'none'");
  // HS256 keyed with the public key's JWK text: the classic key confusion.
  std::string input = base64url_encode(R"({"alg":"HS256"})") + "." + base64url_encode(claims());
  unsigned char mac[32];
  unsigned mac_len = 0;
  HMAC(EVP_sha256(), rsa_->jwk.data(), static_cast<int>(rsa_->jwk.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_len);
  expect_refused(
      v.verify(input + "." + base64url_encode({reinterpret_cast<char*>(mac), mac_len}), kNow),
      "algorithm 'HS256'");
  // Another key that claims the issuer's kid.
  expect_refused(v.verify(token(*stranger_, R"({"alg":"RS256","kid":"r1"})", claims()), kNow),
                 "signature does not verify");
  // An RSA signature presented as ES256, and the reverse.
  expect_refused(v.verify(token(*rsa_, R"({"alg":"ES256"})", claims()), kNow),
                 "signature does not verify");
  expect_refused(v.verify(token(*ec_, R"({"alg":"RS256"})", claims()), kNow),
                 "signature does not verify");
  // Claims changed after signing (a later expiry, another subject).
  std::string good = token(*rsa_, R"({"alg":"RS256","kid":"r1"})", claims());
  size_t d1 = good.find('.'), d2 = good.rfind('.');
  std::string changed = good.substr(0, d1 + 1) +
                        base64url_encode(claims(999999, R"(,"sub":"mallory")")) + good.substr(d2);
  expect_refused(v.verify(changed, kNow), "signature does not verify");
  // One bit of the signature flipped.
  std::string flipped = good;
  flipped[flipped.size() - 3] = flipped[flipped.size() - 3] == 'A' ? 'B' : 'A';
  expect_refused(v.verify(flipped, kNow), "signature does not verify");
  // A kid the key set does not hold.
  expect_refused(v.verify(token(*rsa_, R"({"alg":"RS256","kid":"r9"})", claims()), kNow),
                 "signature does not verify");
  expect_refused(v.verify(token(*rsa_, R"({"alg":"RS256","crit":["exp"]})", claims()), kNow),
                 "critical");
}

TEST_F(JwtTest, ChecksTheClaims) {
  Verifier v = verifier();
  auto rs = [&](const std::string& c) {
    return v.verify(token(*rsa_, R"({"alg":"RS256"})", c), kNow);
  };
  expect_refused(rs(claims(-61)), "expired");
  EXPECT_TRUE(rs(claims(-59)).ok());  // within the skew allowed
  expect_refused(rs(claims(300, R"(,"nbf":)" + std::to_string(kNow + 61))), "not valid yet");
  EXPECT_TRUE(rs(claims(300, R"(,"nbf":)" + std::to_string(kNow + 59))).ok());
  expect_refused(rs(claims(300, R"(,"iat":)" + std::to_string(kNow + 3600))), "future");
  expect_refused(rs(claims(300, R"(,"nbf":"soon")")), "not a number");
  expect_refused(rs(R"({"iss":"https://idp.city.example","aud":"broker"})"), "no expiry");
  expect_refused(rs(R"({"iss":"https://evil.example","aud":"broker","exp":)" +
                    std::to_string(kNow + 10) + "}"),
                 "another issuer");
  expect_refused(rs(R"({"iss":"https://idp.city.example","aud":["wiki"],"exp":)" +
                    std::to_string(kNow + 10) + "}"),
                 "another audience");
  // With no issuer or audience configured, any passes.
  Verifier open = verifier({"", "", 0, false, ""});
  EXPECT_TRUE(open.verify(token(*rsa_, R"({"alg":"RS256"})", R"({"sub":"x"})"), kNow).ok());
}

TEST_F(JwtTest, KeepsTheStringsOfTheGrantsClaim) {
  Verifier v = verifier({"", "", 60, true, "tenants"});
  auto grants = [&](const std::string& more) {
    auto c = v.verify(token(*rsa_, R"({"alg":"RS256"})", claims(300, more)), kNow);
    EXPECT_TRUE(c.ok()) << c.status().detail();
    return c.ok() ? c->grants : std::nullopt;
  };
  EXPECT_EQ(grants(R"(,"tenants":["town-a","town-b:read",7])"),
            (std::vector<std::string>{"town-a", "town-b:read"}));
  EXPECT_EQ(grants(R"(,"tenants":"town-c")"), std::vector<std::string>{"town-c"});
  EXPECT_EQ(grants(R"(,"tenants":{})"), std::vector<std::string>{});
  EXPECT_EQ(grants(""), std::nullopt);
  // No claim named: nothing kept.
  auto c = verifier().verify(
      token(*rsa_, R"({"alg":"RS256"})", claims(300, R"(,"tenants":["town-a"])")), kNow);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->grants, std::nullopt);
}

TEST_F(JwtTest, RefusesMalformedTokens) {
  Verifier v = verifier();
  for (const char* bad :
       {"", "abc", "a.b", "a.b.c.d", "!!.e30.", "e30.e30.###", "bm90IGpzb24.e30.AAAA"}) {
    auto r = v.verify(bad, kNow);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().kind(), ErrorKind::kUnauthorized);
  }
  expect_refused(v.verify(std::string(20000, 'a'), kNow), "too long");
}

TEST_F(JwtTest, AuthenticatorReadsTheHeaderAndFollowsKeyRotation) {
  Authenticator auth({"https://idp.city.example", "broker", 60, true, ""});
  std::string t = token(*rsa_, R"({"alg":"RS256","kid":"r1"})", claims());
  // Before any key set is read, nothing passes.
  EXPECT_EQ(auth.authenticate("Bearer " + t, kNow).status().kind(), ErrorKind::kUnauthorized);
  ASSERT_TRUE(auth.set_keys(R"({"keys":[)" + rsa_->jwk + "]}").ok());
  EXPECT_TRUE(auth.has_keys());
  EXPECT_TRUE(auth.authenticate("Bearer " + t, kNow).ok());
  EXPECT_TRUE(auth.authenticate("bearer   " + t + " ", kNow).ok());
  expect_refused(auth.authenticate("", kNow), "no bearer token");
  expect_refused(auth.authenticate("Basic YWxpY2U6c2VjcmV0", kNow), "not a Bearer token");
  expect_refused(auth.authenticate("Bearer", kNow), "not a Bearer token");
  expect_refused(auth.authenticate("Bearertoken", kNow), "not a Bearer token");
  // A set with no usable key leaves the keys in use.
  EXPECT_EQ(auth.set_keys(R"({"keys":[]})").kind(), ErrorKind::kBadRequestData);
  EXPECT_TRUE(auth.authenticate("Bearer " + t, kNow).ok());
  // The issuer rotates: tokens of the old key stop passing, the new key's pass.
  ASSERT_TRUE(auth.set_keys(R"({"keys":[)" + ec_->jwk + "]}").ok());
  expect_refused(auth.authenticate("Bearer " + t, kNow), "signature does not verify");
  EXPECT_TRUE(
      auth.authenticate("Bearer " + token(*ec_, R"({"alg":"ES256","kid":"e1"})", claims()), kNow)
          .ok());
}

TEST_F(JwtTest, RememberedTokensStillExpire) {
  Authenticator auth({"https://idp.city.example", "broker", 60, true, ""}, 2);
  ASSERT_TRUE(auth.set_keys(R"({"keys":[)" + rsa_->jwk + "]}").ok());
  std::string t = token(*rsa_, R"({"alg":"RS256"})", claims(300));
  ASSERT_TRUE(auth.authenticate("Bearer " + t, kNow).ok());
  auto again = auth.authenticate("Bearer " + t, kNow + 100);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->subject, "alice");
  EXPECT_TRUE(auth.authenticate("Bearer " + t, kNow + 300 + 59).ok());
  expect_refused(auth.authenticate("Bearer " + t, kNow + 300 + 60), "expired");
  // More distinct tokens than remembered: each still passes or fails on its own.
  for (int i = 0; i < 5; ++i) {
    std::string other = token(*rsa_, R"({"alg":"RS256"})", claims(200 + i));
    EXPECT_TRUE(auth.authenticate("Bearer " + other, kNow).ok());
    EXPECT_TRUE(auth.authenticate("Bearer " + other, kNow + 1).ok());
    expect_refused(auth.authenticate("Bearer " + other, kNow + 200 + i + 60), "expired");
  }
  // A token refused once is refused again (only tokens that passed are remembered).
  std::string foreign = token(*stranger_, R"({"alg":"RS256"})", claims());
  expect_refused(auth.authenticate("Bearer " + foreign, kNow), "signature does not verify");
  expect_refused(auth.authenticate("Bearer " + foreign, kNow), "signature does not verify");
}

TEST(KeySetTest, KeepsSigningKeysAndSkipsTheRest) {
  auto r = rsa("a");
  auto weak = rsa("weak", 1024);
  auto e = p256("b");
  size_t skipped = 0;
  auto set = KeySet::parse(R"({"keys":[)" + r->jwk + "," + e->jwk + "," + weak->jwk +
                               R"(,{"kty":"RSA","use":"enc","n":"AQAB","e":"AQAB"},)"
                               R"({"kty":"OKP","crv":"Ed25519","x":"AAAA"},)"
                               R"({"kty":"EC","crv":"P-384","x":"AA","y":"AA"},)"
                               R"({"kty":"EC","crv":"P-256","x":"AA","y":"AA"}, 7]})",
                           &skipped);
  ASSERT_TRUE(set.ok()) << set.status().detail();
  EXPECT_EQ(set->size(), 2u);
  EXPECT_EQ(skipped, 6u);
  for (const char* bad : {"", "[]", R"({"keys":{}})", R"({"keys":[]})",
                          R"({"keys":[{"kty":"oct","k":"c2VjcmV0"}]})"}) {
    auto s = KeySet::parse(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_EQ(s.status().kind(), ErrorKind::kBadRequestData);
  }
}

TEST(Base64UrlTest, RoundTripsAndRefusesOtherForms) {
  std::mt19937 rng(7);
  for (int n = 0; n < 200; ++n) {
    std::string bytes(static_cast<size_t>(n), '\0');
    for (char& c : bytes)
      c = static_cast<char>(rng());
    std::string back;
    ASSERT_TRUE(base64url_decode(base64url_encode(bytes), back));
    EXPECT_EQ(back, bytes);
  }
  std::string out;
  EXPECT_TRUE(base64url_decode("aGk", out));
  EXPECT_EQ(out, "hi");
  EXPECT_FALSE(base64url_decode("aGk=", out));  // padding is not JOSE's
  EXPECT_FALSE(base64url_decode("aGl", out));   // non-zero leftover bits
  EXPECT_FALSE(base64url_decode("a+/b", out));  // the other alphabet
  EXPECT_FALSE(base64url_decode("a", out));
}

}  // namespace
}  // namespace tsunagu::auth
