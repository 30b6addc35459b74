// CsourceSubscriptionService over a memory store and a real writer: definitions are durable
// with their request (a fresh service reads them back from the store), decided in commit order
// (AlreadyExists, ResourceNotFound), and kept per tenant in creation order; and the
// ContextSourceNotifications (§5.3.2, §5.11.7) it hands Delivery: initially, on each change of a
// registration it matches now or matched before (with the trigger reason), periodically, only
// while active, with the statistics of §5.2.14. Registrations are handed in as the app does,
// from a list the test keeps.
#include "engine/csource_subscriptions.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include "common/json.hpp"
#include "engine/loader.hpp"
#include "engine/tenant.hpp"
#include "engine/writer.hpp"
#include "ngsild/registration/registration_parser.hpp"
#include "ngsild/subscription/subscription_codec.hpp"
#include "ngsild/subscription/subscription_parser.hpp"
#include "store/memory/memory_store.hpp"

namespace tsunagu::engine {
namespace {

namespace sub = ngsild::subscription;
namespace reg = ngsild::registration;
using RegistrationPtr = CsourceSubscriptionService::RegistrationPtr;

// The messages Delivery handed the transport, answered with `ok`.
class Receiver {
 public:
  void send(const Delivery::Message& m, const std::function<void(Delivery::Result)>& done) {
    {
      std::lock_guard lock(mu_);
      bodies_.push_back(m.body);
    }
    cv_.notify_all();
    done({ok, ok ? 200 : 0, ok ? "" : "refused"});
  }
  // The `n`th message (from 0) as JSON, waiting up to 10 s for it.
  JsonDoc message(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, std::chrono::seconds(10), [&] { return bodies_.size() > n; });
    JsonDoc d;
    if (bodies_.size() <= n) {
      ADD_FAILURE() << "no message " << n;
      d.SetObject();
      return d;
    }
    EXPECT_TRUE(parse_json(bodies_[n], d).ok()) << bodies_[n];
    return d;
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return bodies_.size();
  }
  std::atomic<bool> ok{true};

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> bodies_;
};

// One server's worth: a store (shared across restarts), a writer, Delivery and the service, with
// the registrations the test sets.
class Server {
 public:
  explicit Server(std::shared_ptr<store::MemoryStore::Data> data)
      : store_(std::move(data)),
        contexts_(nullptr, {}),
        delivery_(
            Delivery::Options{10000, 1},
            [this](const std::string&, const Delivery::Message& m,
                   std::function<void(Delivery::Result)> done) { receiver.send(m, done); },
            [this](const std::string& key, const Delivery::Result& r, bool final) {
              service_.report(key, r, final);
            },
            [this](const std::string& key) { service_.attempt(key); }),
        service_(
            {[this](const std::string&) {
               std::lock_guard lock(mu_);
               return registrations_;
             },
             [](const reg::Registration& r, const ngsild::jsonld::Context&, bool, JsonWriter& w) {
               // What the test reads back: the id and the types of each RegistrationInfo.
               w.begin_object();
               w.key("id");
               w.string(r.id);
               w.key("information");
               w.begin_array();
               for (const auto& info : r.information) {
                 for (const auto& e : info.entities.value_or(std::vector<reg::EntityInfo>{}))
                   w.string(e.types.at(0).str());
               }
               w.end_array();
               w.end_object();
             }},
            contexts_, delivery_) {
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
  ~Server() {
    writer_->stop();
    delivery_.stop();
  }

  CsourceSubscriptionService& service() { return service_; }
  const ngsild::jsonld::Context& core() { return *contexts_.core(); }

  // Runs one write of the service and waits for its status.
  template <class F>
  Status wait(F&& write) {
    std::promise<Status> done;
    write([&done](const Status& st) { done.set_value(st); });
    return done.get_future().get();
  }

  Status create(std::string_view json) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(json, d).ok()) << json;
    auto s = sub::parse_subscription(d, core(), now_us(), sub::SubscriptionKind::kCsource);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    if (!s.ok()) return s.status();
    s->created_at = now_us();
    return wait([&](auto done) { service_.create("", std::move(*s), nullptr, done); });
  }

  RegistrationPtr registration(std::string_view json) {
    JsonDoc d;
    EXPECT_TRUE(parse_json(json, d).ok()) << json;
    auto r = reg::parse_registration(d, core());
    EXPECT_TRUE(r.ok()) << r.status().detail();
    return std::make_shared<const reg::Registration>(r.ok() ? std::move(*r) : reg::Registration{});
  }
  // What the registration service would tell after storing it (and keeps it listed).
  void changed(RegistrationPtr before, RegistrationPtr after) {
    {
      std::lock_guard lock(mu_);
      if (before) std::erase(registrations_, before);
      if (after) registrations_.push_back(after);
    }
    service_.registration_changed({"", before, after, now_us()});
  }

  Receiver receiver;

 private:
  store::MemoryStore store_;
  TenantRegistry tenants_;
  ngsild::jsonld::ContextCache contexts_;
  std::mutex mu_;
  std::vector<RegistrationPtr> registrations_;
  Delivery delivery_;
  CsourceSubscriptionService service_;
  std::unique_ptr<Writer> writer_;
};

sub::Subscription definition(std::string id) {
  static int64_t created = 1'000'000;
  sub::Subscription s;
  s.kind = sub::SubscriptionKind::kCsource;
  s.created_at = s.modified_at = ++created;
  s.id = std::move(id);
  ngsild::query::EntitySelector sel;
  sel.types = ngsild::query::TypeSelection{false, {{Atom::intern("https://example.org/Vehicle")}}};
  s.entities.push_back(std::move(sel));
  s.notification.endpoint.uri = "http://127.0.0.1:9/notify";
  return s;
}

std::vector<std::string> ids(const std::vector<CsourceSubscriptionService::View>& views) {
  std::vector<std::string> out;
  for (const auto& v : views)
    out.push_back(v.def->id);
  return out;
}

std::string str(const JsonValue& v) {
  return v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : json_text(v);
}

// "reason: id [types], id [types]" of a notification, for comparing whole.
std::string summary(const JsonDoc& n) {
  if (!n.IsObject() || !n.HasMember("data")) return "(none)";
  std::string out = str(n["triggerReason"]) + ":";
  for (const auto& r : n["data"].GetArray()) {
    out += " " + str(r["id"]) + " [";
    for (const auto& t : r["information"].GetArray())
      out += (out.back() == '[' ? "" : ",") + str(t).substr(str(t).rfind('/') + 1);
    out += "]";
  }
  return out;
}

// The statistics of subscription `id` once `settled` holds for them (Delivery reports after the
// receiver answered), or after 10 s.
sub::SubscriptionState state_once(
    CsourceSubscriptionService& service, const std::string& id,
    const std::function<bool(const sub::SubscriptionState&)>& settled) {
  for (int i = 0;; ++i) {
    auto v = service.retrieve("", id);
    if (!v.ok()) return {};
    if (settled(v->state) || i == 1000) return v->state;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

constexpr const char* kBuildingSubscription = R"({"id":"urn:ngsi-ld:Subscription:s",
    "type":"Subscription","entities":[{"type":"Building"}],
    "notification":{"endpoint":{"uri":"http://127.0.0.1:9/notify"}}})";
constexpr const char* kBuildingAndBus = R"({"id":"urn:ngsi-ld:ContextSourceRegistration:1",
    "type":"ContextSourceRegistration","endpoint":"http://my.csource.org:1026",
    "information":[{"entities":[{"type":"Building"}]},{"entities":[{"type":"Bus"}]}]})";
constexpr const char* kNewType = R"({"id":"urn:ngsi-ld:ContextSourceRegistration:1",
    "type":"ContextSourceRegistration","endpoint":"http://my.csource.org:1026",
    "information":[{"entities":[{"type":"NewType"}]}]})";
constexpr const char* kBuilding2 = R"({"id":"urn:ngsi-ld:ContextSourceRegistration:2",
    "type":"ContextSourceRegistration","endpoint":"http://my.csource.org:1026",
    "information":[{"entities":[{"type":"Building"}]}]})";

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
  ngsild::jsonld::ContextCache contexts(nullptr, {});
  Delivery delivery({}, nullptr, nullptr);
  CsourceSubscriptionService service({}, contexts, delivery);
  sub::Subscription entity_sub = definition("urn:x:1");
  entity_sub.kind = sub::SubscriptionKind::kEntity;
  Status st = service.load("", "urn:x:1", sub::encode_subscription(entity_sub, {}));
  EXPECT_EQ(st.kind(), ErrorKind::kInternalError);
  EXPECT_NE(st.detail().find("not a registration subscription"), std::string::npos);
}

// §5.11.7: initially, the registrations that match (only their matching RegistrationInfo), then
// each change with its trigger reason; a change that neither matches nor matched is not told.
TEST(CsourceSubscriptionServiceTest, NotifiesInitiallyAndOnEachChangeWithItsReason) {
  Server server(std::make_shared<store::MemoryStore::Data>());
  auto first = server.registration(kBuildingAndBus);
  server.changed(nullptr, first);
  ASSERT_TRUE(server.create(kBuildingSubscription).ok());
  JsonDoc initial = server.receiver.message(0);
  EXPECT_EQ(str(initial["type"]), "ContextSourceNotification");
  EXPECT_EQ(str(initial["subscriptionId"]), "urn:ngsi-ld:Subscription:s");
  EXPECT_EQ(str(initial["id"]).rfind("urn:ngsi-ld:Notification:", 0), 0u);
  EXPECT_TRUE(parse_datetime(str(initial["notifiedAt"])).has_value());
  EXPECT_EQ(summary(initial), "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:1 [Building]");

  auto moved = server.registration(kBuildingAndBus);  // updated, still matching
  server.changed(first, moved);
  EXPECT_EQ(summary(server.receiver.message(1)),
            "updated: urn:ngsi-ld:ContextSourceRegistration:1 [Building]");
  auto away = server.registration(kNewType);
  server.changed(moved, away);
  EXPECT_EQ(summary(server.receiver.message(2)),
            "noLongerMatching: urn:ngsi-ld:ContextSourceRegistration:1 [NewType]");
  server.changed(away, server.registration(kNewType));  // neither before nor after: not told
  auto second = server.registration(kBuilding2);
  server.changed(nullptr, second);
  EXPECT_EQ(summary(server.receiver.message(3)),
            "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:2 [Building]");
  server.changed(second, nullptr);  // deleted: shown as it was
  EXPECT_EQ(summary(server.receiver.message(4)),
            "noLongerMatching: urn:ngsi-ld:ContextSourceRegistration:2 [Building]");

  // Updating the subscription notifies what matches the new definition (suite 047_16).
  server.changed(nullptr, server.registration(kBuilding2));
  EXPECT_EQ(summary(server.receiver.message(5)),
            "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:2 [Building]");
  Status st = server.wait([&](auto done) {
    server.service().update(
        "", "urn:ngsi-ld:Subscription:s",
        [](sub::Subscription& s) {
          s.entities[0].types->groups = {
              {Atom::intern("https://uri.etsi.org/ngsi-ld/default-context/NewType")}};
          return Status::Ok();
        },
        nullptr, done);
  });
  ASSERT_TRUE(st.ok()) << st.detail();
  EXPECT_EQ(summary(server.receiver.message(6)),
            "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:1 [NewType]");
  EXPECT_EQ(server.receiver.count(), 7u);

  // timesSent and lastSuccess follow Delivery's reports.
  auto st7 = state_once(server.service(), "urn:ngsi-ld:Subscription:s",
                        [](const auto& st) { return st.last_success >= st.last_notification; });
  EXPECT_EQ(st7.times_sent, 7u);
  EXPECT_EQ(st7.times_failed, 0u);
  EXPECT_EQ(sub::notification_status(st7), std::optional<std::string_view>("ok"));
}

// Only an active subscription notifies; temporalQ selects registrations by their intervals, and
// without it only those providing latest information match; a failed notification counts.
TEST(CsourceSubscriptionServiceTest, PausedTemporalAndFailed) {
  Server server(std::make_shared<store::MemoryStore::Data>());
  ASSERT_TRUE(server
                  .create(R"({"id":"urn:ngsi-ld:Subscription:p","type":"Subscription",
      "entities":[{"type":"Building"}],"isActive":false,
      "notification":{"endpoint":{"uri":"http://127.0.0.1:9/notify"}}})")
                  .ok());
  ASSERT_TRUE(server
                  .create(R"({"id":"urn:ngsi-ld:Subscription:t","type":"Subscription",
      "entities":[{"type":"Building"}],
      "temporalQ":{"timerel":"after","timeAt":"2020-06-01T22:07:00Z","timeproperty":"createdAt"},
      "notification":{"endpoint":{"uri":"http://127.0.0.1:9/notify"}}})")
                  .ok());
  // Latest information only: the temporal subscription does not take it, the paused one is quiet.
  server.changed(nullptr, server.registration(kBuilding2));
  server.receiver.ok = false;
  server.changed(nullptr, server.registration(R"({"id":"urn:ngsi-ld:ContextSourceRegistration:m",
      "type":"ContextSourceRegistration","endpoint":"http://my.csource.org:1026",
      "managementInterval":{"startAt":"2020-08-01T22:07:00Z","endAt":"2021-08-01T21:07:00Z"},
      "information":[{"entities":[{"type":"Building"}]}]})"));
  JsonDoc n = server.receiver.message(0);
  EXPECT_EQ(str(n["subscriptionId"]), "urn:ngsi-ld:Subscription:t");
  EXPECT_EQ(summary(n), "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:m [Building]");
  // One attempt (the test's Delivery tries once), failed.
  auto st = state_once(server.service(), "urn:ngsi-ld:Subscription:t",
                       [](const auto& st) { return st.times_failed > 0; });
  EXPECT_EQ(st.times_sent, 1u);
  EXPECT_EQ(st.times_failed, 1u);
  EXPECT_EQ(sub::notification_status(st), std::optional<std::string_view>("failed"));
  EXPECT_EQ(server.receiver.count(), 1u);
}

// timeInterval: at once, then every interval, all that match (newlyMatching), and no change
// notifies it.
TEST(CsourceSubscriptionServiceTest, PeriodicNotifiesWhatMatchesNow) {
  Server server(std::make_shared<store::MemoryStore::Data>());
  server.changed(nullptr, server.registration(kBuilding2));
  ASSERT_TRUE(server
                  .create(R"({"id":"urn:ngsi-ld:Subscription:i","type":"Subscription",
      "entities":[{"type":"Building"}],"timeInterval":1,
      "notification":{"endpoint":{"uri":"http://127.0.0.1:9/notify"}}})")
                  .ok());
  EXPECT_EQ(summary(server.receiver.message(0)),
            "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:2 [Building]");
  server.changed(nullptr, server.registration(kBuildingAndBus));
  EXPECT_EQ(summary(server.receiver.message(1)),
            "newlyMatching: urn:ngsi-ld:ContextSourceRegistration:2 [Building] "
            "urn:ngsi-ld:ContextSourceRegistration:1 [Building]");
}

}  // namespace
}  // namespace tsunagu::engine
