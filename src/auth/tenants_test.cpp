// Tenant settings: the stored form, origins, and the settings kept through a real writer on a
// MemoryStore: created, changed, removed, found again after a restart, and the request rate
// each tenant's bucket allows.
#include "auth/tenants.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "engine/loader.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::auth {
namespace {

TEST(TenantSettingsCodec, RoundTrips) {
  TenantSettings s;
  s.id = "fukuoka";
  s.display_name = "福岡市";
  s.municipality_code = "401307";
  s.licence = "https://creativecommons.org/licenses/by/4.0/";
  s.max_entities = 100000;
  s.requests_per_second = 2.5;
  s.burst = 10;
  s.cors_origins = {"https://dashboard.example.jp", "http://localhost:8080"};
  s.public_read = true;
  s.created_at = 1'000'000;
  s.modified_at = 2'000'000;
  auto back = decode_tenant_settings(encode_tenant_settings(s));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  EXPECT_EQ(back->id, s.id);
  EXPECT_EQ(back->display_name, s.display_name);
  EXPECT_EQ(back->municipality_code, s.municipality_code);
  EXPECT_EQ(back->licence, s.licence);
  EXPECT_EQ(back->max_entities, s.max_entities);
  EXPECT_EQ(back->requests_per_second, s.requests_per_second);
  EXPECT_EQ(back->burst, s.burst);
  EXPECT_EQ(back->cors_origins, s.cors_origins);
  EXPECT_TRUE(back->public_read);
  EXPECT_EQ(back->created_at, s.created_at);
  EXPECT_EQ(back->modified_at, s.modified_at);
}

TEST(TenantSettingsCodec, RolesRoundTripCompiled) {
  TenantSettings s;
  s.id = "takamatsu";
  Role bus{"bus-operator", "the bus company", {}, nullptr};
  bus.rules.push_back({true, {"https://example.org/Bus"}, "urn:ngsi-ld:Bus:.*", ""});
  bus.rules.push_back({false, {}, "", "/Takamatsu/#"});
  ASSERT_TRUE(compile_role(bus).ok());
  s.roles.push_back(bus);
  auto back = decode_tenant_settings(encode_tenant_settings(s));
  ASSERT_TRUE(back.ok()) << back.status().detail();
  const Role* role = back->role("bus-operator");
  ASSERT_NE(role, nullptr);
  EXPECT_EQ(role->description, "the bus company");
  ASSERT_EQ(role->rules.size(), 2u);
  EXPECT_TRUE(role->rules[0].write);
  EXPECT_EQ(role->rules[0].types, bus.rules[0].types);
  EXPECT_EQ(role->rules[0].id_pattern, bus.rules[0].id_pattern);
  EXPECT_EQ(role->rules[1].scope_q, "/Takamatsu/#");
  ASSERT_NE(role->restriction, nullptr);
  EXPECT_EQ(role->restriction->role, "bus-operator");
  EXPECT_TRUE(role->restriction->writes());
  EXPECT_EQ(back->role("reader"), nullptr);
}

TEST(TenantSettingsRoles, NamesAndRulesAreChecked) {
  for (std::string_view name : {"bus-operator", "parks_2", "A"})
    EXPECT_TRUE(valid_role_name(name)) << name;
  const std::string_view refused[] = {
      "",      "reader", "editor", "administrator", "read",
      "write", "admin",  "a b",    "tenant:role",   std::string_view("x\0", 2)};
  for (std::string_view name : refused)
    EXPECT_FALSE(valid_role_name(name)) << name;
  Role bad_pattern{"x", "", {{false, {}, "(", ""}}, nullptr};
  Status st = compile_role(bad_pattern);
  EXPECT_EQ(st.kind(), ErrorKind::kBadRequestData);
  EXPECT_NE(st.detail().find("rules[0].idPattern"), std::string::npos) << st.detail();
  Role bad_scope{"x", "", {{false, {}, "", ""}, {false, {}, "", "Parks"}}, nullptr};
  st = compile_role(bad_scope);
  EXPECT_NE(st.detail().find("rules[1].scopeQ"), std::string::npos) << st.detail();
}

TEST(TenantSettingsCodec, DamagedDocumentsAreErrors) {
  for (
      std::string_view doc :
      {"", "[]", R"({"id":"t"})",
       R"({"id":"t","displayName":"","municipalityCode":"","licence":"","maxEntities":-1,"requestsPerSecond":0,"burst":0,"corsOrigins":[],"createdAt":1,"modifiedAt":1})",
       R"({"id":"t","displayName":"","municipalityCode":"","licence":"","maxEntities":0,"requestsPerSecond":0,"burst":0,"corsOrigins":[1],"createdAt":1,"modifiedAt":1})"}) {
    auto s = decode_tenant_settings(doc);
    ASSERT_FALSE(s.ok()) << doc;
    EXPECT_EQ(s.status().kind(), ErrorKind::kInternalError);
  }
}

TEST(TenantSettingsOrigin, OnlyWhatBrowsersSend) {
  for (std::string_view ok : {"https://city.example.jp", "http://localhost:8080", "http://10.0.0.1",
                              "https://[::1]:8443", "http://a-b.example"}) {
    EXPECT_TRUE(valid_origin(ok)) << ok;
  }
  for (std::string_view bad :
       {"", "*", "city.example.jp", "https://", "https://city.example.jp/", "ftp://example.org",
        "https://city.example.jp/path", "https://host:", "https://host:123456", "https://ho st",
        "https://host:80a", "null"}) {
    EXPECT_FALSE(valid_origin(bad)) << bad;
  }
}

// A writer on a MemoryStore and the settings stored through it, as app/main.cpp wires them;
// "restarting" builds all of it again on the same stored data.
class TenantsTest : public ::testing::Test {
 protected:
  TenantsTest() { start(); }
  ~TenantsTest() override { stop(); }

  void start() {
    store_ = std::make_unique<store::MemoryStore>(data_);
    registry_ = std::make_unique<engine::TenantRegistry>();
    tenants_ = std::make_unique<TenantService>();
    auto loaded =
        engine::load_state(*store_, *registry_,
                           {{std::string(TenantService::kRecordKind),
                             [this](std::string_view t, std::string_view k, std::string_view d) {
                               return tenants_->load(t, k, d);
                             }}});
    ASSERT_TRUE(loaded.ok()) << loaded.status().detail();
    writer_ = std::make_unique<engine::Writer>(*store_, *registry_, engine::Writer::Options{});
    writer_->start();
    tenants_->attach(*writer_);
  }

  void stop() {
    writer_->stop();
    writer_.reset();
    tenants_.reset();
    registry_.reset();
    store_.reset();
  }

  Status create(std::string name, double rate = 0, uint32_t burst = 0) {
    TenantSettings s;
    s.id = std::move(name);
    s.display_name = "a town";
    s.requests_per_second = rate;
    s.burst = burst;
    s.cors_origins = {"https://" + s.id + ".example.jp"};
    std::promise<Status> done;
    tenants_->create(
        s, [&done](const Status& st, const TenantService::SettingsPtr&) { done.set_value(st); });
    return done.get_future().get();
  }

  Status update(std::string name, TenantService::Change change) {
    std::promise<Status> done;
    tenants_->update(
        std::move(name), std::move(change),
        [&done](const Status& st, const TenantService::SettingsPtr&) { done.set_value(st); });
    return done.get_future().get();
  }

  Status remove(std::string name) {
    std::promise<Status> done;
    tenants_->remove(std::move(name), [&done](const Status& st) { done.set_value(st); });
    return done.get_future().get();
  }

  std::shared_ptr<store::MemoryStore::Data> data_ = std::make_shared<store::MemoryStore::Data>();
  std::unique_ptr<store::MemoryStore> store_;
  std::unique_ptr<engine::TenantRegistry> registry_;
  std::unique_ptr<TenantService> tenants_;
  std::unique_ptr<engine::Writer> writer_;
};

TEST_F(TenantsTest, SettingsAreKeptChangedAndRemoved) {
  ASSERT_TRUE(create("town-a").ok());
  ASSERT_TRUE(create("town-b").ok());
  EXPECT_EQ(create("town-a").kind(), ErrorKind::kAlreadyExists);
  EXPECT_TRUE(tenants_->has("town-a"));
  EXPECT_FALSE(tenants_->has("town-c"));
  ASSERT_EQ(tenants_->list().size(), 2u);
  EXPECT_EQ(tenants_->list().front()->id, "town-a");  // creation order
  EXPECT_TRUE(tenants_->allows_origin("town-a", "https://town-a.example.jp"));
  EXPECT_FALSE(tenants_->allows_origin("town-b", "https://town-a.example.jp"));
  EXPECT_TRUE(tenants_->any_allows_origin("https://town-b.example.jp"));
  EXPECT_FALSE(tenants_->any_allows_origin("https://town-c.example.jp"));

  const int64_t created = (*tenants_->retrieve("town-a"))->created_at;
  ASSERT_TRUE(update("town-a", [](TenantSettings& s) {
                s.max_entities = 10;
                return Status::Ok();
              }).ok());
  auto changed = tenants_->retrieve("town-a");
  ASSERT_TRUE(changed.ok());
  EXPECT_EQ((*changed)->max_entities, 10u);
  EXPECT_EQ((*changed)->created_at, created);
  EXPECT_GE((*changed)->modified_at, created);
  EXPECT_EQ(tenants_->max_entities("town-a"), 10u);
  EXPECT_EQ(tenants_->max_entities("town-b"), 0u);
  // A change that fails stores nothing.
  EXPECT_EQ(update("town-a",
                   [](TenantSettings& s) {
                     s.max_entities = 99;
                     return Status::BadRequestData("no");
                   })
                .kind(),
            ErrorKind::kBadRequestData);
  EXPECT_EQ(tenants_->max_entities("town-a"), 10u);
  EXPECT_EQ(update("town-c", [](TenantSettings&) { return Status::Ok(); }).kind(),
            ErrorKind::kResourceNotFound);

  ASSERT_TRUE(remove("town-b").ok());
  EXPECT_EQ(remove("town-b").kind(), ErrorKind::kResourceNotFound);
  EXPECT_EQ(tenants_->retrieve("town-b").status().kind(), ErrorKind::kResourceNotFound);

  stop();
  start();
  ASSERT_EQ(tenants_->count(), 1u);
  EXPECT_EQ(tenants_->max_entities("town-a"), 10u);
  EXPECT_FALSE(tenants_->has("town-b"));
  // A change after the restart goes through the records loaded, not around them.
  EXPECT_EQ(create("town-a").kind(), ErrorKind::kAlreadyExists);
  ASSERT_TRUE(remove("town-a").ok());
  EXPECT_EQ(tenants_->count(), 0u);
}

TEST_F(TenantsTest, TheBucketTakesABurstThenTheRate) {
  ASSERT_TRUE(create("limited", 2, 3).ok());  // 2 a second, 3 at once
  ASSERT_TRUE(create("slow", 0.25).ok());     // one every 4 s, 1 at once
  const int64_t t0 = 1'000'000'000'000;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(tenants_->admit("limited", t0), 0) << i;
  EXPECT_EQ(tenants_->admit("limited", t0), 1);  // half a second to the next: 1 s
  EXPECT_EQ(tenants_->admit("limited", t0 + 499'000), 1);
  EXPECT_EQ(tenants_->admit("limited", t0 + 501'000), 0);
  EXPECT_EQ(tenants_->admit("limited", t0 + 501'000), 1);
  // A long pause fills the bucket to its size, not beyond.
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(tenants_->admit("limited", t0 + 60'000'000), 0) << i;
  EXPECT_EQ(tenants_->admit("limited", t0 + 60'000'000), 1);
  // A slow rate tells the whole seconds to wait.
  EXPECT_EQ(tenants_->admit("slow", t0), 0);
  EXPECT_EQ(tenants_->admit("slow", t0), 4);
  EXPECT_EQ(tenants_->admit("slow", t0 + 3'000'000), 1);
  // No settings or no rate: no limit. Tenants do not share a bucket.
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(tenants_->admit("other", t0), 0);
  // A change of the settings starts a full bucket.
  ASSERT_TRUE(update("limited", [](TenantSettings& s) {
                s.requests_per_second = 0;
                return Status::Ok();
              }).ok());
  for (int i = 0; i < 100; ++i)
    EXPECT_EQ(tenants_->admit("limited", t0 + 60'000'000), 0);
}

}  // namespace
}  // namespace tsunagu::auth
