// API keys: the secret's form and hash, the stored form (which never holds the secret), and the
// keys kept through a real writer on a MemoryStore: found by their secret, refused once expired,
// rotated away or revoked, and found again after a restart on the stored records.
#include "auth/api_keys.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>
#include <mutex>

#include "engine/loader.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::auth {
namespace {

TEST(ApiKeySecret, HasThePrefixAndIsNewEachTime) {
  auto a = new_secret(), b = new_secret();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->rfind(kSecretPrefix, 0), 0u) << *a;
  EXPECT_EQ(a->size(), kSecretPrefix.size() + 43);  // 32 bytes in base64url
  EXPECT_NE(*a, *b);
}

TEST(ApiKeySecret, HashIsSha256AndComparedWhole) {
  // SHA-256("abc"), FIPS 180-2 appendix B.1.
  const std::string hash = secret_hash("abc");
  ASSERT_EQ(hash.size(), 32u);
  EXPECT_EQ(static_cast<unsigned char>(hash[0]), 0xba);
  EXPECT_EQ(static_cast<unsigned char>(hash[31]), 0xad);
  EXPECT_TRUE(same_hash(hash, secret_hash("abc")));
  std::string last_differs = hash;
  last_differs.back() ^= 1;
  EXPECT_FALSE(same_hash(hash, last_differs));
  EXPECT_FALSE(same_hash(hash, hash.substr(0, 31)));
  EXPECT_FALSE(same_hash("", ""));
}

TEST(ApiKeyCodec, RoundTripsWithoutTheSecret) {
  auto secret = new_secret();
  ASSERT_TRUE(secret.ok());
  ApiKey key{"urn:tsunagu:ApiKey:1", "gateway", "north side", "city-a",
             KeyAccess::kWrite,      2'000'000, 1'000'000,    1'500'000,
             secret_hash(*secret),   {},        kNoTime,      "bus-operator"};
  const std::string doc = encode_api_key(key);
  EXPECT_EQ(doc.find(*secret), std::string::npos);
  EXPECT_EQ(doc.find(secret->substr(kSecretPrefix.size())), std::string::npos);
  auto back = decode_api_key(doc);
  ASSERT_TRUE(back.ok()) << back.status().detail();
  EXPECT_EQ(back->id, key.id);
  EXPECT_EQ(back->name, key.name);
  EXPECT_EQ(back->description, key.description);
  EXPECT_EQ(back->tenant, key.tenant);
  EXPECT_EQ(back->access, KeyAccess::kWrite);
  EXPECT_EQ(back->expires_at, key.expires_at);
  EXPECT_EQ(back->created_at, key.created_at);
  EXPECT_EQ(back->last_rotated_at, key.last_rotated_at);
  EXPECT_EQ(back->secret_hash, key.secret_hash);
  EXPECT_EQ(back->role, "bus-operator");
}

TEST(ApiKeyCodec, AccessLevelsByName) {
  for (KeyAccess a : {KeyAccess::kRead, KeyAccess::kWrite, KeyAccess::kAdmin})
    EXPECT_EQ(key_access_of(key_access_name(a)), a);
  EXPECT_EQ(key_access_of("root"), std::nullopt);
  EXPECT_EQ(key_access_of("Admin"), std::nullopt);
  ApiKey key{"urn:tsunagu:ApiKey:2", "town admin", "",      "town",
             KeyAccess::kAdmin,      kNoTime,      1,       kNoTime,
             secret_hash("x"),       {},           kNoTime, {}};
  auto back = decode_api_key(encode_api_key(key));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  EXPECT_EQ(back->access, KeyAccess::kAdmin);
}

TEST(ApiKeyCodec, DamagedDocumentsAreErrors) {
  for (
      std::string_view doc :
      {"", "[]", R"({"id":"k"})",
       R"({"id":"k","name":"","description":"","tenant":"","access":"root","createdAt":1,"secretHash":""})",
       R"({"id":"k","name":"","description":"","tenant":"","access":"read","createdAt":1,"secretHash":"abc"})"}) {
    auto key = decode_api_key(doc);
    ASSERT_FALSE(key.ok()) << doc;
    EXPECT_EQ(key.status().kind(), ErrorKind::kInternalError);
  }
}

// A writer on a MemoryStore and the keys stored through it, as app/main.cpp wires them;
// "restarting" builds all of it again on the same stored data.
class ApiKeysTest : public ::testing::Test {
 protected:
  ApiKeysTest() { start(); }
  ~ApiKeysTest() override { stop(); }

  void start() {
    store_ = std::make_unique<store::MemoryStore>(data_);
    tenants_ = std::make_unique<engine::TenantRegistry>();
    keys_ = std::make_unique<ApiKeyService>();
    auto loaded =
        engine::load_state(*store_, *tenants_,
                           {{std::string(ApiKeyService::kRecordKind),
                             [this](std::string_view t, std::string_view k, std::string_view d) {
                               return keys_->load(t, k, d);
                             }}});
    ASSERT_TRUE(loaded.ok()) << loaded.status().detail();
    writer_ = std::make_unique<engine::Writer>(*store_, *tenants_, engine::Writer::Options{});
    writer_->start();
    keys_->attach(*writer_);
  }

  void stop() {
    writer_->stop();
    writer_.reset();
    keys_.reset();
    tenants_.reset();
    store_.reset();
  }

  Result<ApiKeyService::Issued> create(std::string tenant, KeyAccess access,
                                       int64_t expires_at = kNoTime) {
    ApiKey key;
    key.name = "sensor gateway";
    key.tenant = std::move(tenant);
    key.access = access;
    key.expires_at = expires_at;
    std::promise<Result<ApiKeyService::Issued>> done;
    keys_->create(key, [&done](Result<ApiKeyService::Issued> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  Result<ApiKeyService::Issued> rotate(const std::string& id, int64_t grace_us = 0) {
    std::promise<Result<ApiKeyService::Issued>> done;
    keys_->rotate(id, grace_us,
                  [&done](Result<ApiKeyService::Issued> r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }

  Status revoke(const std::string& id) {
    std::promise<Status> done;
    keys_->revoke(id, [&done](const Status& st) { done.set_value(st); });
    return done.get_future().get();
  }

  std::shared_ptr<store::MemoryStore::Data> data_ = std::make_shared<store::MemoryStore::Data>();
  std::unique_ptr<store::MemoryStore> store_;
  std::unique_ptr<engine::TenantRegistry> tenants_;
  std::unique_ptr<ApiKeyService> keys_;
  std::unique_ptr<engine::Writer> writer_;
};

TEST_F(ApiKeysTest, TheSecretFindsItsKeyAndNoOther) {
  auto a = create("city-a", KeyAccess::kRead);
  auto b = create("", KeyAccess::kWrite);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(a->key->id, b->key->id);
  auto found = keys_->authenticate(a->secret, now_us());
  ASSERT_TRUE(found.ok()) << found.status().detail();
  EXPECT_EQ((*found)->id, a->key->id);
  EXPECT_EQ((*found)->tenant, "city-a");
  found = keys_->authenticate(b->secret, now_us());
  ASSERT_TRUE(found.ok());
  EXPECT_EQ((*found)->id, b->key->id);
  std::string altered = a->secret;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_EQ(keys_->authenticate(altered, now_us()).status().kind(), ErrorKind::kUnauthorized);
  EXPECT_EQ(keys_->authenticate("", now_us()).status().kind(), ErrorKind::kUnauthorized);
  EXPECT_EQ(keys_->list().size(), 2u);
  EXPECT_EQ(keys_->list().front()->id, a->key->id);  // creation order
}

TEST_F(ApiKeysTest, AnExpiredKeyIsRefused) {
  const int64_t now = now_us();
  auto key = create("", KeyAccess::kRead, now + 60'000'000);
  ASSERT_TRUE(key.ok());
  EXPECT_TRUE(keys_->authenticate(key->secret, now).ok());
  auto later = keys_->authenticate(key->secret, now + 60'000'000);
  ASSERT_FALSE(later.ok());
  EXPECT_EQ(later.status().kind(), ErrorKind::kUnauthorized);
  EXPECT_NE(later.status().detail().find("expired"), std::string::npos);
}

TEST_F(ApiKeysTest, RotationReplacesTheSecretAtOnce) {
  auto key = create("city-a", KeyAccess::kWrite);
  ASSERT_TRUE(key.ok());
  auto rotated = rotate(key->key->id);
  ASSERT_TRUE(rotated.ok()) << rotated.status().detail();
  EXPECT_NE(rotated->secret, key->secret);
  EXPECT_EQ(rotated->key->id, key->key->id);
  EXPECT_NE(rotated->key->last_rotated_at, kNoTime);
  EXPECT_FALSE(keys_->authenticate(key->secret, now_us()).ok());
  EXPECT_TRUE(keys_->authenticate(rotated->secret, now_us()).ok());
  EXPECT_EQ(rotate("urn:tsunagu:ApiKey:none").status().kind(), ErrorKind::kResourceNotFound);
}

TEST_F(ApiKeysTest, AGracePeriodKeepsTheOldSecretForAWhile) {
  auto key = create("city-a", KeyAccess::kWrite);
  ASSERT_TRUE(key.ok());
  auto rotated = rotate(key->key->id, 60'000'000);
  ASSERT_TRUE(rotated.ok()) << rotated.status().detail();
  const int64_t until = rotated->key->previous_until;
  EXPECT_GT(until, now_us());
  EXPECT_TRUE(keys_->authenticate(key->secret, now_us()).ok());
  EXPECT_TRUE(keys_->authenticate(rotated->secret, now_us()).ok());
  EXPECT_FALSE(keys_->authenticate(key->secret, until).ok());
  EXPECT_TRUE(keys_->authenticate(rotated->secret, until).ok());
  // The grace survives a restart; a rotation without one ends it at once.
  stop();
  start();
  EXPECT_TRUE(keys_->authenticate(key->secret, now_us()).ok());
  auto third = rotate(key->key->id);
  ASSERT_TRUE(third.ok());
  EXPECT_FALSE(keys_->authenticate(key->secret, now_us()).ok());
  EXPECT_FALSE(keys_->authenticate(rotated->secret, now_us()).ok());
  EXPECT_TRUE(keys_->authenticate(third->secret, now_us()).ok());
}

TEST_F(ApiKeysTest, RevocationForgetsTheKey) {
  auto key = create("", KeyAccess::kRead);
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(revoke(key->key->id).ok());
  EXPECT_FALSE(keys_->authenticate(key->secret, now_us()).ok());
  EXPECT_EQ(keys_->retrieve(key->key->id).status().kind(), ErrorKind::kResourceNotFound);
  EXPECT_EQ(revoke(key->key->id).kind(), ErrorKind::kResourceNotFound);
  EXPECT_EQ(keys_->count(), 0u);
}

TEST_F(ApiKeysTest, KeysOutliveARestartAndOnlyHashesAreStored) {
  auto kept = create("city-b", KeyAccess::kWrite);
  auto rotated = create("", KeyAccess::kRead);
  auto revoked = create("", KeyAccess::kRead);
  ASSERT_TRUE(kept.ok() && rotated.ok() && revoked.ok());
  auto second = rotate(rotated->key->id);
  ASSERT_TRUE(second.ok());
  ASSERT_TRUE(revoke(revoked->key->id).ok());
  {
    std::lock_guard lock(data_->mu);
    EXPECT_EQ(data_->records.size(), 2u);
    for (const auto& [address, doc] : data_->records) {
      EXPECT_EQ(std::get<0>(address), ApiKeyService::kRecordKind);
      for (const auto* secret : {&kept->secret, &rotated->secret, &second->secret})
        EXPECT_EQ(doc.find(secret->substr(kSecretPrefix.size())), std::string::npos) << doc;
    }
  }
  stop();
  start();
  EXPECT_EQ(keys_->count(), 2u);
  auto found = keys_->authenticate(kept->secret, now_us());
  ASSERT_TRUE(found.ok()) << found.status().detail();
  EXPECT_EQ((*found)->tenant, "city-b");
  EXPECT_EQ((*found)->access, KeyAccess::kWrite);
  EXPECT_TRUE(keys_->authenticate(second->secret, now_us()).ok());
  EXPECT_FALSE(keys_->authenticate(rotated->secret, now_us()).ok());
  EXPECT_FALSE(keys_->authenticate(revoked->secret, now_us()).ok());
  // A change after the restart goes through the records loaded, not around them.
  EXPECT_TRUE(revoke(kept->key->id).ok());
  EXPECT_EQ(keys_->count(), 1u);
}

}  // namespace
}  // namespace tsunagu::auth
