// The change predicate of §5.11 for each notificationTrigger value, and the filters around it
// (selectors, watchedAttributes, q, scopeQ, geoQ, datasetId, isActive, expiresAt, timeInterval).
#include "ngsild/subscription/notification_trigger.hpp"

#include <gtest/gtest.h>

#include "ngsild/subscription/subscription_parser.hpp"
#include "ngsild/subscription/test_contexts.hpp"

namespace tsunagu::ngsild::subscription {
namespace {

constexpr int64_t kNow = 1767225600000000;  // 2026-01-01T00:00:00Z

class NotificationTriggerTest : public ::testing::Test {
 protected:
  Subscription sub(std::string_view members) {
    std::string json =
        R"({"type":"Subscription","notification":{"endpoint":{"uri":"http://h/n"}})" +
        std::string(members) + "}";
    JsonDoc d;
    EXPECT_TRUE(parse_json(json, d).ok()) << json;
    auto s = parse_subscription(d, contexts_.suite(), kNow);
    EXPECT_TRUE(s.ok()) << s.status().detail();
    return s.ok() ? std::move(*s) : Subscription{};
  }
  Atom name(std::string_view term) { return contexts_.suite().expand(term); }
  Attribute property(std::string_view term, double v, Atom dataset = Atom()) {
    Attribute a;
    a.name = name(term);
    a.value = Value::number(v);
    a.dataset_id = dataset;
    return a;
  }
  Entity building(std::vector<Attribute> attrs) {
    Entity e;
    e.id = "urn:ngsi-ld:Building:1";
    e.types = {name("Building")};
    e.scopes = {"/Paris/7"};
    for (auto& a : attrs)
      e.put(std::move(a));
    return e;
  }
  // The trigger that fires, or "" when none does.
  std::string fired(const Subscription& s, const Entity* before, const Entity* after,
                    int64_t now = kNow) {
    auto f = fires(s, before, after, now);
    return f ? std::string(trigger_name(f->trigger)) : std::string();
  }

  testing::Contexts contexts_;
};

TEST_F(NotificationTriggerTest, EachTriggerKind) {
  Entity v1 = building({property("airQualityLevel", 1)});
  Entity v2 = building({property("airQualityLevel", 2)});
  Entity added = building({property("airQualityLevel", 1), property("name", 0)});
  Entity fewer = building({});
  const char* all = R"(,"entities":[{"type":"Building"}],"notificationTrigger":[)";
  auto only = [&](const char* t) { return sub(all + std::string("\"") + t + "\"]"); };

  EXPECT_EQ(fired(only("entityCreated"), nullptr, &v1), "entityCreated");
  EXPECT_EQ(fired(only("entityCreated"), &v1, &v2), "");
  EXPECT_EQ(fired(only("entityDeleted"), &v1, nullptr), "entityDeleted");
  EXPECT_EQ(fired(only("entityDeleted"), &v1, &fewer), "");
  EXPECT_EQ(fired(only("attributeCreated"), &v1, &added), "attributeCreated");
  EXPECT_EQ(fired(only("attributeCreated"), nullptr, &v1), "attributeCreated");
  EXPECT_EQ(fired(only("attributeCreated"), &v1, &v2), "");
  EXPECT_EQ(fired(only("attributeUpdated"), &v1, &v2), "attributeUpdated");
  EXPECT_EQ(fired(only("attributeUpdated"), &v1, &v1), "");  // nothing changed
  EXPECT_EQ(fired(only("attributeUpdated"), &v1, nullptr), "");
  EXPECT_EQ(fired(only("attributeDeleted"), &v1, &fewer), "attributeDeleted");
  EXPECT_EQ(fired(only("attributeDeleted"), &v1, &v2), "");
  // A deleted entity's attributes are deleted, as a new one's are created (suite 046_22_12).
  EXPECT_EQ(fired(only("attributeDeleted"), &v1, nullptr), "attributeDeleted");
  EXPECT_EQ(fired(only("attributeDeleted"), &fewer, nullptr), "");  // it had none
  // entityUpdated: attributeCreated, attributeUpdated and attributeDeleted together.
  EXPECT_EQ(fired(only("entityUpdated"), &v1, &v2), "entityUpdated");
  EXPECT_EQ(fired(only("entityUpdated"), &v1, &fewer), "entityUpdated");
  EXPECT_EQ(fired(only("entityUpdated"), &v1, &added), "entityUpdated");
  EXPECT_EQ(fired(only("entityUpdated"), nullptr, &v1), "");
  // The default: attributeCreated and attributeUpdated.
  Subscription dflt = sub(R"(,"entities":[{"type":"Building"}])");
  EXPECT_EQ(fired(dflt, &v1, &v2), "attributeUpdated");
  EXPECT_EQ(fired(dflt, &v1, &fewer), "");
  // The attributes a firing names.
  auto f = fires(dflt, &v1, &added, kNow);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->attributes, std::vector<Atom>{name("name")});
}

TEST_F(NotificationTriggerTest, WatchedAttributesAndDatasetIds) {
  Entity v1 = building({property("airQualityLevel", 1), property("name", 1)});
  Entity name_changed = building({property("airQualityLevel", 1), property("name", 2)});
  Entity aq_changed = building({property("airQualityLevel", 2), property("name", 1)});
  Subscription watched = sub(R"(,"watchedAttributes":["airQualityLevel"])");
  EXPECT_EQ(fired(watched, &v1, &name_changed), "");
  EXPECT_EQ(fired(watched, &v1, &aq_changed), "attributeUpdated");

  Atom fr = Atom::intern("urn:ngsi-ld:Dataset:french-name");
  Entity d1 = building({property("name", 1), property("name", 1, fr)});
  Entity default_changed = building({property("name", 2), property("name", 1, fr)});
  Entity french_changed = building({property("name", 1), property("name", 2, fr)});
  Subscription french =
      sub(R"(,"entities":[{"type":"Building"}],"datasetId":["urn:ngsi-ld:Dataset:french-name"])");
  EXPECT_EQ(fired(french, &d1, &default_changed), "");
  EXPECT_EQ(fired(french, &d1, &french_changed), "attributeUpdated");
  Subscription none = sub(R"(,"entities":[{"type":"Building"}],"datasetId":["@none"])");
  EXPECT_EQ(fired(none, &d1, &default_changed), "attributeUpdated");
  EXPECT_EQ(fired(none, &d1, &french_changed), "");
}

TEST_F(NotificationTriggerTest, SelectorsAndFiltersOnTheRightState) {
  Entity v1 = building({property("airQualityLevel", 1)});
  Entity v5 = building({property("airQualityLevel", 5)});
  EXPECT_EQ(fired(sub(R"(,"entities":[{"type":"Vehicle"}])"), &v1, &v5), "");
  EXPECT_EQ(
      fired(sub(R"(,"entities":[{"id":"urn:ngsi-ld:Building:2","type":"Building"}])"), &v1, &v5),
      "");
  EXPECT_EQ(
      fired(sub(R"(,"entities":[{"idPattern":"Building:[0-9]$","type":"Building"}])"), &v1, &v5),
      "attributeUpdated");
  // q on the new state; for a deletion, on the old one.
  Subscription q = sub(R"(,"entities":[{"type":"Building"}],"q":"airQualityLevel>3",
      "notificationTrigger":["attributeUpdated","entityDeleted"])");
  EXPECT_EQ(fired(q, &v1, &v5), "attributeUpdated");
  EXPECT_EQ(fired(q, &v5, &v1), "");
  EXPECT_EQ(fired(q, &v5, nullptr), "entityDeleted");
  EXPECT_EQ(fired(q, &v1, nullptr), "");
  EXPECT_EQ(fired(sub(R"(,"entities":[{"type":"Building"}],"scopeQ":"/Paris/#")"), &v1, &v5),
            "attributeUpdated");
  EXPECT_EQ(fired(sub(R"(,"entities":[{"type":"Building"}],"scopeQ":"/Madrid/#")"), &v1, &v5), "");
  // geoQ on the entity's location.
  Subscription near = sub(R"(,"entities":[{"type":"Building"}],
      "geoQ":{"geometry":"Point","coordinates":[2.2945,48.8584],"georel":"near;maxDistance==1000"})");
  Attribute here;
  here.kind = AttrKind::kGeoProperty;
  here.name = contexts_.suite().expand("location");
  here.value = Value::json(R"({"type":"Point","coordinates":[2.295,48.858]})");
  Attribute far = here;
  far.value = Value::json(R"({"type":"Point","coordinates":[-3.7,40.4]})");
  Entity at_tower = building({property("airQualityLevel", 5), here});
  Entity in_madrid = building({property("airQualityLevel", 5), far});
  EXPECT_EQ(fired(near, &v1, &at_tower), "attributeCreated");
  EXPECT_EQ(fired(near, &v1, &in_madrid), "");
}

TEST_F(NotificationTriggerTest, InactiveExpiredAndPeriodicNeverFire) {
  Entity v1 = building({property("airQualityLevel", 1)});
  Entity v2 = building({property("airQualityLevel", 2)});
  EXPECT_EQ(fired(sub(R"(,"entities":[{"type":"Building"}],"isActive":false)"), &v1, &v2), "");
  Subscription expiring =
      sub(R"(,"entities":[{"type":"Building"}],"expiresAt":"2026-02-01T00:00:00Z")");
  EXPECT_EQ(fired(expiring, &v1, &v2), "attributeUpdated");
  EXPECT_EQ(fired(expiring, &v1, &v2, *parse_datetime("2026-03-01T00:00:00Z")), "");
  EXPECT_EQ(fired(sub(R"(,"entities":[{"type":"Building"}],"timeInterval":5)"), &v1, &v2), "");
}

}  // namespace
}  // namespace tsunagu::ngsild::subscription
