#include "engine/registrations.hpp"

#include <gtest/gtest.h>

#include <future>
#include <memory>

#include "common/json.hpp"
#include "engine/loader.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "ngsild/jsonld/context.hpp"
#include "ngsild/registration/registration_parser.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::engine {
namespace {

namespace reg = ngsild::registration;

// A writer on a MemoryStore and the registrations stored through it, as app/main.cpp wires them;
// "restarting" builds all of it again on the same stored data.
class RegistrationsTest : public ::testing::Test {
 protected:
  RegistrationsTest() : cache_(nullptr, {}) { start(); }
  ~RegistrationsTest() override { stop(); }

  void start() {
    store_ = std::make_unique<store::MemoryStore>(data_);
    tenants_ = std::make_unique<TenantRegistry>();
    registrations_ = std::make_unique<RegistrationService>(cache_.core());
    registrations_->add_listener([this](const RegistrationService::Change& c) {
      heard_.push_back((c.before ? c.before->id : "-") + " > " + (c.after ? c.after->id : "-"));
    });
    auto loaded = load_state(*store_, *tenants_,
                             {{std::string(RegistrationService::kRecordKind),
                               [this](std::string_view t, std::string_view k, std::string_view d) {
                                 return registrations_->load(t, k, d);
                               }}});
    ASSERT_TRUE(loaded.ok()) << loaded.status().detail();
    writer_ = std::make_unique<Writer>(*store_, *tenants_, Writer::Options{});
    writer_->start();
    registrations_->attach(*writer_);
  }

  void stop() {
    writer_->stop();
    writer_.reset();
    registrations_.reset();
    tenants_.reset();
    store_.reset();
  }

  reg::Registration parse(std::string_view json) {
    JsonDoc doc;
    EXPECT_TRUE(parse_json(json, doc).ok()) << json;
    auto r = reg::parse_registration(doc, *cache_.core());
    EXPECT_TRUE(r.ok()) << r.status().detail();
    return r.ok() ? std::move(*r) : reg::Registration{};
  }

  template <typename F>
  Status wait(F&& call) {
    std::promise<Status> done;
    call([&done](const Status& st) { done.set_value(st); });
    return done.get_future().get();
  }

  Status create(const std::string& tenant, std::string_view json) {
    return wait([&](auto done) { registrations_->create(tenant, parse(json), done); });
  }

  ngsild::jsonld::ContextCache cache_;
  std::shared_ptr<store::MemoryStore::Data> data_ = std::make_shared<store::MemoryStore::Data>();
  std::unique_ptr<store::MemoryStore> store_;
  std::unique_ptr<TenantRegistry> tenants_;
  std::unique_ptr<RegistrationService> registrations_;
  std::unique_ptr<Writer> writer_;
  std::vector<std::string> heard_;
};

constexpr const char* kVehicles = R"({"id": "urn:ngsi-ld:ContextSourceRegistration:v",
    "type": "ContextSourceRegistration", "information": [{"entities": [{"type": "Vehicle"}]}],
    "endpoint": "http://v.example"})";

TEST_F(RegistrationsTest, RegistrationsAreStoredPerTenantAndSurviveARestart) {
  ASSERT_TRUE(create("", kVehicles).ok());
  ASSERT_TRUE(create("cityB", kVehicles).ok());
  EXPECT_EQ(create("", kVehicles).kind(), ErrorKind::kAlreadyExists);
  EXPECT_TRUE(wait([&](auto done) {
                registrations_->update(
                    "cityB", "urn:ngsi-ld:ContextSourceRegistration:v",
                    [this](reg::Registration& r) {
                      JsonDoc d;
                      EXPECT_TRUE(parse_json(R"({"endpoint": "http://w.example"})", d).ok());
                      return reg::apply_registration_patch(r, d, *cache_.core());
                    },
                    done);
              }).ok());
  EXPECT_EQ(registrations_->count(), 2u);
  stop();
  start();
  EXPECT_EQ(registrations_->count(), 2u);
  auto a = registrations_->retrieve("", "urn:ngsi-ld:ContextSourceRegistration:v");
  auto b = registrations_->retrieve("cityB", "urn:ngsi-ld:ContextSourceRegistration:v");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->def->endpoint, "http://v.example");
  EXPECT_EQ(b->def->endpoint, "http://w.example");
  EXPECT_EQ(wait([&](auto done) {
              registrations_->remove("", "urn:ngsi-ld:ContextSourceRegistration:none", done);
            }).kind(),
            ErrorKind::kResourceNotFound);
  ASSERT_TRUE(wait([&](auto done) {
                registrations_->remove("", "urn:ngsi-ld:ContextSourceRegistration:v", done);
              }).ok());
  stop();
  start();
  EXPECT_FALSE(registrations_->retrieve("", "urn:ngsi-ld:ContextSourceRegistration:v").ok());
  EXPECT_TRUE(registrations_->retrieve("cityB", "urn:ngsi-ld:ContextSourceRegistration:v").ok());
}

TEST_F(RegistrationsTest, ListenersHearEveryChangeOnceDurable) {
  ASSERT_TRUE(create("", kVehicles).ok());
  ASSERT_TRUE(wait([&](auto done) {
                registrations_->update(
                    "", "urn:ngsi-ld:ContextSourceRegistration:v",
                    [](reg::Registration&) { return Status::Ok(); }, done);
              }).ok());
  ASSERT_TRUE(wait([&](auto done) {
                registrations_->remove("", "urn:ngsi-ld:ContextSourceRegistration:v", done);
              }).ok());
  ASSERT_TRUE(create("", kVehicles).ok());
  // A refused change is not heard.
  EXPECT_FALSE(create("", kVehicles).ok());
  EXPECT_EQ(heard_,
            (std::vector<std::string>{
                "- > urn:ngsi-ld:ContextSourceRegistration:v",
                "urn:ngsi-ld:ContextSourceRegistration:v > urn:ngsi-ld:ContextSourceRegistration:v",
                "urn:ngsi-ld:ContextSourceRegistration:v > -",
                "- > urn:ngsi-ld:ContextSourceRegistration:v"}));
}

TEST_F(RegistrationsTest, AnExpiredRegistrationLeavesQueriesButCanBeRead) {
  // Stored while it was valid; read back after it expired.
  JsonDoc doc;
  ASSERT_TRUE(parse_json(R"({"id": "urn:ngsi-ld:ContextSourceRegistration:v",
      "type": "ContextSourceRegistration", "information": [{"entities": [{"type": "Vehicle"}]}],
      "endpoint": "http://v.example", "expiresAt": "2020-01-01T00:00:00Z"})",
                         doc)
                  .ok());
  auto parsed = reg::parse_registration(doc, *cache_.core(), /*now=*/0);
  ASSERT_TRUE(parsed.ok()) << parsed.status().detail();
  const reg::Registration& r = *parsed;
  store::WriteBatch batch;
  batch.create_tenant("");
  batch.put_record(std::string(RegistrationService::kRecordKind), "", r.id,
                   reg::encode_registration(r, {}));
  ASSERT_TRUE(store_->apply(std::move(batch)).ok());
  ASSERT_TRUE(create("", R"({"id": "urn:ngsi-ld:ContextSourceRegistration:w",
      "type": "ContextSourceRegistration", "information": [{"entities": [{"type": "Vehicle"}]}],
      "endpoint": "http://w.example"})")
                  .ok());
  stop();
  start();
  EXPECT_TRUE(registrations_->retrieve("", r.id).ok());
  auto listed = registrations_->list("");
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].def->id, "urn:ngsi-ld:ContextSourceRegistration:w");
}

TEST_F(RegistrationsTest, OneSourceOwnsAnAttributeOfAnEntity) {
  auto owner = [](const char* id, const char* mode, const char* attr) {
    return std::string(R"({"id": "urn:ngsi-ld:ContextSourceRegistration:)") + id +
           R"(", "type": "ContextSourceRegistration", "mode": ")" + mode +
           R"(", "information": [{"entities": [{"id": "urn:ngsi-ld:Vehicle:1", "type": "Vehicle"}],
               "propertyNames": [")" +
           attr + R"("]}], "endpoint": "http://s.example"})";
  };
  ASSERT_TRUE(create("", owner("a", "exclusive", "speed")).ok());
  // Another owner of the same attribute of the same entity is refused, in any tenant but its own.
  EXPECT_EQ(create("", owner("b", "exclusive", "speed")).kind(), ErrorKind::kAlreadyExists);
  EXPECT_EQ(create("", owner("c", "redirect", "speed")).kind(), ErrorKind::kAlreadyExists);
  EXPECT_TRUE(create("cityB", owner("b", "exclusive", "speed")).ok());
  // Another attribute, or a source that only adds (inclusive), is not.
  EXPECT_TRUE(create("", owner("d", "exclusive", "fuel")).ok());
  EXPECT_TRUE(create("", owner("e", "inclusive", "speed")).ok());
  // Nor may an update make one.
  Status st = wait([&](auto done) {
    registrations_->update(
        "", "urn:ngsi-ld:ContextSourceRegistration:e",
        [](reg::Registration& r) {
          r.mode = reg::Mode::kExclusive;
          return Status::Ok();
        },
        done);
  });
  EXPECT_EQ(st.kind(), ErrorKind::kAlreadyExists);
  EXPECT_NE(st.detail().find("urn:ngsi-ld:ContextSourceRegistration:a"), std::string::npos);
  EXPECT_EQ(registrations_->retrieve("", "urn:ngsi-ld:ContextSourceRegistration:e")->def->mode,
            reg::Mode::kInclusive);
}

}  // namespace
}  // namespace tsunagu::engine
