// CsourceSubscriptionService over a memory store and a real writer: definitions are durable
// with their request (a fresh service reads them back from the store), decided in commit order
// (AlreadyExists, ResourceNotFound), and kept per tenant in creation order.
#include "engine/csource_subscriptions.hpp"

#include <gtest/gtest.h>

#include <future>

#include "engine/loader.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "ngsild/subscription/subscription_codec.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::engine {
namespace {

namespace sub = ngsild::subscription;

constexpr const char* kVehicle = "https://example.org/Vehicle";

sub::Subscription definition(std::string id) {
  static int64_t created = 1'000'000;
  sub::Subscription s;
  s.created_at = s.modified_at = ++created;
  s.kind = sub::SubscriptionKind::kCsource;
  s.id = std::move(id);
  ngsild::query::EntitySelector sel;
  sel.types = ngsild::query::TypeSelection{false, {{Atom::intern(kVehicle)}}};
  s.entities.push_back(std::move(sel));
  s.notification.endpoint.uri = "http://127.0.0.1:9/notify";
  return s;
}

// One server's worth: a store (shared across restarts), a writer, the service.
class Server {
 public:
  explicit Server(std::shared_ptr<store::MemoryStore::Data> data)
      : store_(std::move(data)),
        contexts_(nullptr, {}),
        delivery_(
            {},
            [](const std::string&, const Delivery::Message&,
               std::function<void(Delivery::Result)> done) {
              done({true, 200, {}});
            },
            [](const std::string&, const Delivery::Result&, bool) {}),
        service_(contexts_, delivery_) {
    auto loaded =
        load_state(store_, tenants_,
                   {{std::string(CsourceSubscriptionService::kRecordKind),
                     [this](std::string_view tenant, std::string_view key, std::string_view doc) {
                       return service_.load(tenant, key, doc);
                     }}});
    EXPECT_TRUE(loaded.ok()) << loaded.status().detail();
    writer_ = std::make_unique<Writer>(store_, tenants_, Writer::Options{});
    writer_->start();
    service_.attach(*writer_);
  }
  ~Server() { writer_->stop(); }

  CsourceSubscriptionService& service() { return service_; }

  // Runs one write of the service and waits for its status.
  template <class F>
  Status wait(F&& write) {
    std::promise<Status> done;
    write([&done](const Status& st) { done.set_value(st); });
    return done.get_future().get();
  }

 private:
  store::MemoryStore store_;
  TenantRegistry tenants_;
  ngsild::jsonld::ContextCache contexts_;
  Delivery delivery_;
  CsourceSubscriptionService service_;
  std::unique_ptr<Writer> writer_;
};

std::vector<std::string> ids(const std::vector<CsourceSubscriptionService::View>& views) {
  std::vector<std::string> out;
  for (const auto& v : views)
    out.push_back(v.def->id);
  return out;
}

TEST(CsourceSubscriptionServiceTest, DefinitionsAreDurableAndDecidedInOrder) {
  auto data = std::make_shared<store::MemoryStore::Data>();
  {
    Server server(data);
    auto& s = server.service();
    for (const char* id : {"urn:ngsi-ld:Subscription:b", "urn:ngsi-ld:Subscription:a"}) {
      EXPECT_TRUE(
          server.wait([&](auto done) { s.create("", definition(id), nullptr, done); }).ok());
    }
    Status again = server.wait(
        [&](auto done) { s.create("", definition("urn:ngsi-ld:Subscription:a"), nullptr, done); });
    EXPECT_EQ(again.kind(), ErrorKind::kAlreadyExists);
    Status changed = server.wait([&](auto done) {
      s.update(
          "", "urn:ngsi-ld:Subscription:b",
          [](sub::Subscription& def) {
            def.is_active = false;
            return Status::Ok();
          },
          nullptr, done);
    });
    EXPECT_TRUE(changed.ok()) << changed.detail();
    Status refused = server.wait([&](auto done) {
      s.update(
          "", "urn:ngsi-ld:Subscription:a",
          [](sub::Subscription&) { return Status::BadRequestData("no"); }, nullptr, done);
    });
    EXPECT_EQ(refused.kind(), ErrorKind::kBadRequestData);
    Status missing =
        server.wait([&](auto done) { s.remove("", "urn:ngsi-ld:Subscription:none", done); });
    EXPECT_EQ(missing.kind(), ErrorKind::kResourceNotFound);
    EXPECT_EQ(missing.detail(),
              "registration subscription 'urn:ngsi-ld:Subscription:none' does not exist");
    EXPECT_TRUE(
        server.wait([&](auto done) { s.create("t2", definition("urn:x:c"), nullptr, done); }).ok());
  }
  // A restart reads them back as they were last written, in creation order, per tenant.
  Server server(data);
  auto& s = server.service();
  EXPECT_EQ(s.count(), 3u);
  EXPECT_EQ(ids(s.list("")),
            (std::vector<std::string>{"urn:ngsi-ld:Subscription:b", "urn:ngsi-ld:Subscription:a"}));
  EXPECT_EQ(ids(s.list("t2")), std::vector<std::string>{"urn:x:c"});
  auto b = s.retrieve("", "urn:ngsi-ld:Subscription:b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->def->is_active, std::optional<bool>(false));
  EXPECT_EQ(b->def->kind, sub::SubscriptionKind::kCsource);
  EXPECT_TRUE(
      server.wait([&](auto done) { s.remove("", "urn:ngsi-ld:Subscription:b", done); }).ok());
  EXPECT_EQ(s.retrieve("", "urn:ngsi-ld:Subscription:b").status().kind(),
            ErrorKind::kResourceNotFound);
  EXPECT_EQ(ids(s.list("")), std::vector<std::string>{"urn:ngsi-ld:Subscription:a"});
}

TEST(CsourceSubscriptionServiceTest, AnEntitySubscriptionRecordIsNotLoaded) {
  auto data = std::make_shared<store::MemoryStore::Data>();
  store::MemoryStore store(data);
  ngsild::jsonld::ContextCache contexts(nullptr, {});
  Delivery delivery({}, nullptr, nullptr);
  CsourceSubscriptionService service(contexts, delivery);
  sub::Subscription entity_sub = definition("urn:x:1");
  entity_sub.kind = sub::SubscriptionKind::kEntity;
  Status st = service.load("", "urn:x:1", sub::encode_subscription(entity_sub, {}));
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("not a registration subscription"), std::string::npos);
}

}  // namespace
}  // namespace tsunagu::engine
